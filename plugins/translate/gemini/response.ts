import { completionId, type OpenAIUsage } from '../chunks.ts'

/** Gemini `finishReason` → OpenAI `finish_reason` (a candidate that called functions finishes with `tool_calls`). */
export const GEMINI_FINISH_REASONS: Readonly<Record<string, string>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  LANGUAGE: 'stop',
  MALFORMED_FUNCTION_CALL: 'stop',
  OTHER: 'stop',
  FINISH_REASON_UNSPECIFIED: 'stop',
}

export function finishReason(reason: unknown, calledTools: boolean): string | null {
  if (typeof reason !== 'string') return null
  const mapped = GEMINI_FINISH_REASONS[reason] ?? 'stop'
  return mapped === 'stop' && calledTools ? 'tool_calls' : mapped
}

/** Gemini `usageMetadata` → OpenAI usage; thoughts count as completion tokens, as OpenAI counts reasoning. */
export function openaiUsage(meta: any): OpenAIUsage {
  const prompt = Number(meta?.promptTokenCount ?? 0)
  const thoughts = Number(meta?.thoughtsTokenCount ?? 0)
  const completion = Number(meta?.candidatesTokenCount ?? 0) + thoughts
  const usage: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: Number(meta?.totalTokenCount ?? prompt + completion), prompt_tokens_details: { cached_tokens: Number(meta?.cachedContentTokenCount ?? 0) } }
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts }
  return usage
}

/** A tool call id for a Gemini function call: its own when it has one, else made from the response id and position (the same answer, the same ids). */
export function callId(call: any, responseId: unknown, candidate: number, position: number): string {
  if (typeof call?.id === 'string' && call.id) return call.id
  return `call_${typeof responseId === 'string' && responseId ? responseId : 'gemini'}_${candidate}_${position}`
}

/** A Gemini `generateContent` answer as an OpenAI `chat.completion`, one choice per candidate. */
export function openaiCompletion(answer: any, model: string): Record<string, unknown> {
  const candidates: any[] = Array.isArray(answer?.candidates) ? answer.candidates : []
  const choices = candidates.map((candidate, i) => {
    const index = typeof candidate?.index === 'number' ? candidate.index : i
    let content = ''
    let reasoning = ''
    const toolCalls: unknown[] = []
    for (const part of candidate?.content?.parts ?? []) {
      if (typeof part?.text === 'string') part.thought ? (reasoning += part.text) : (content += part.text)
      if (part?.functionCall) toolCalls.push({ id: callId(part.functionCall, answer.responseId, index, toolCalls.length), type: 'function', function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) } })
    }
    const message: Record<string, unknown> = { role: 'assistant', content: content === '' && toolCalls.length > 0 ? null : content, refusal: null }
    if (reasoning) message.reasoning_content = reasoning
    if (toolCalls.length > 0) message.tool_calls = toolCalls
    return { index, message, logprobs: null, finish_reason: finishReason(candidate?.finishReason, toolCalls.length > 0) }
  })
  // A prompt Gemini blocked has no candidates, only `promptFeedback.blockReason`.
  if (choices.length === 0 && answer?.promptFeedback?.blockReason) {
    choices.push({ index: 0, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: 'content_filter' })
  }
  return {
    id: completionId(answer?.responseId),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof answer?.modelVersion === 'string' ? answer.modelVersion : model,
    choices,
    usage: openaiUsage(answer?.usageMetadata),
  }
}
