/** OpenAI `finish_reason` → Anthropic `stop_reason`. */
export const OPENAI_STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
}

export function stopReason(finish: unknown): string | null {
  return typeof finish === 'string' ? (OPENAI_STOP_REASONS[finish] ?? 'end_turn') : null
}

/** OpenAI usage → Anthropic's: cached prompt tokens are `cache_read_input_tokens`, the rest `input_tokens`. */
export function anthropicUsage(usage: any): { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number } {
  const cached = Number(usage?.prompt_tokens_details?.cached_tokens ?? 0)
  return { input_tokens: Number(usage?.prompt_tokens ?? 0) - cached, output_tokens: Number(usage?.completion_tokens ?? 0), cache_creation_input_tokens: 0, cache_read_input_tokens: cached }
}

/** Anthropic's message id for an OpenAI completion id. */
export function messageId(id: unknown): string {
  return `msg_${typeof id === 'string' && id ? id.replace(/^chatcmpl-/, '') : Math.random().toString(36).slice(2)}`
}

function toolInput(text: unknown): unknown {
  try {
    return typeof text === 'string' && text !== '' ? JSON.parse(text) : {}
  } catch {
    return {}
  }
}

/**
 * An OpenAI `chat.completion` as an Anthropic message: `reasoning_content` (or `reasoning`) → a
 * thinking block, `content` → a text block, `tool_calls` → tool_use blocks (ids kept). The first
 * choice only: an Anthropic client cannot ask for more.
 */
export function anthropicMessage(completion: any): Record<string, unknown> {
  const choice = completion?.choices?.[0] ?? {}
  const message = choice.message ?? {}
  const content: Record<string, unknown>[] = []
  const reasoning = message.reasoning_content ?? message.reasoning
  if (typeof reasoning === 'string' && reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature: '' })
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content })
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function?.name, input: toolInput(call.function?.arguments) })
  }
  return {
    id: messageId(completion?.id),
    type: 'message',
    role: 'assistant',
    model: completion?.model,
    content,
    stop_reason: stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(completion?.usage),
  }
}
