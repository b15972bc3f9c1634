import { completionId, type OpenAIUsage } from '../chunks.ts'

/** Anthropic `stop_reason` → OpenAI `finish_reason`. */
export const ANTHROPIC_FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}

export function finishReason(stopReason: unknown, jsonTool: string | undefined): string | null {
  if (typeof stopReason !== 'string') return null
  // A JSON answer given as the forced tool call is, to the client, a finished answer.
  if (stopReason === 'tool_use' && jsonTool) return 'stop'
  return ANTHROPIC_FINISH_REASONS[stopReason] ?? 'stop'
}

/**
 * Anthropic usage → OpenAI's. Anthropic's `input_tokens` leaves out the tokens read from and written
 * to its prompt cache; OpenAI's `prompt_tokens` counts them, with the cached ones also in
 * `prompt_tokens_details.cached_tokens`.
 */
export function openaiUsage(usage: any): OpenAIUsage {
  const cached = Number(usage?.cache_read_input_tokens ?? 0)
  const prompt = Number(usage?.input_tokens ?? 0) + cached + Number(usage?.cache_creation_input_tokens ?? 0)
  const completion = Number(usage?.output_tokens ?? 0)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } }
}

/**
 * An Anthropic message as an OpenAI `chat.completion`: text blocks joined into `content`, thinking
 * into `reasoning_content`, tool_use blocks into `tool_calls` (Anthropic's ids kept). With `jsonTool`,
 * that tool's input is the answer's content.
 */
export function openaiCompletion(message: any, jsonTool: string | undefined): Record<string, unknown> {
  let content = ''
  let reasoning = ''
  const toolCalls: unknown[] = []
  for (const block of Array.isArray(message?.content) ? message.content : []) {
    if (block?.type === 'text') content += block.text ?? ''
    else if (block?.type === 'thinking') reasoning += block.thinking ?? ''
    else if (block?.type === 'tool_use') {
      if (jsonTool && block.name === jsonTool) content += JSON.stringify(block.input ?? {})
      else toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } })
    }
  }
  const reply: Record<string, unknown> = { role: 'assistant', content: content === '' && toolCalls.length > 0 ? null : content, refusal: null }
  if (reasoning) reply.reasoning_content = reasoning
  if (toolCalls.length > 0) reply.tool_calls = toolCalls
  return {
    id: completionId(message?.id),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message?.model,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReason(message?.stop_reason, jsonTool) }],
    usage: openaiUsage(message?.usage),
  }
}
