import { jsonResponse, textResponse } from '../../src/index.ts'
import type { CacheEntry, StoredAnswer, StoredChoice } from './entry.ts'
import type { Endpoint } from './key.ts'

/** The form a request asks its answer in. */
export interface Want {
  endpoint: Endpoint
  /** `stream: true` in the body. */
  stream: boolean
  /** `stream_options.include_usage: true` in the body (a final usage chunk). */
  usage: boolean
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }
const DONE = 'data: [DONE]\n\n'

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The answer inside a stored JSON chat/legacy completion, to write it as a stream. */
export function answerFromJson(endpoint: 'chat' | 'text', body: unknown): StoredAnswer | undefined {
  if (!isRecord(body) || !Array.isArray(body.choices)) return undefined
  let reasoningField = 'reasoning_content'
  const choices: StoredChoice[] = body.choices.map((c: any, i: number) => {
    const message = isRecord(c?.message) ? c.message : {}
    if (message.reasoning_content === undefined && typeof message.reasoning === 'string') reasoningField = 'reasoning'
    return {
      index: typeof c?.index === 'number' ? c.index : i,
      content: endpoint === 'text' ? String(c?.text ?? '') : typeof message.content === 'string' ? message.content : '',
      reasoning: String(message.reasoning_content ?? message.reasoning ?? ''),
      toolCalls: Array.isArray(message.tool_calls) ? message.tool_calls : [],
      finishReason: c?.finish_reason ?? null,
    }
  })
  return {
    endpoint,
    id: String(body.id ?? ''),
    created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
    model: String(body.model ?? ''),
    systemFingerprint: typeof body.system_fingerprint === 'string' ? body.system_fingerprint : undefined,
    reasoningField,
    choices,
    usage: isRecord(body.usage) ? body.usage : undefined,
  }
}

/** A `chat.completion` / `text_completion` body, as the upstream would have answered without `stream`. */
export function renderJson(answer: StoredAnswer): Record<string, unknown> {
  const head = { id: answer.id, object: answer.endpoint === 'chat' ? 'chat.completion' : 'text_completion', created: answer.created, model: answer.model }
  const choices = answer.choices.map((c) => {
    if (answer.endpoint === 'text') return { text: c.content, index: c.index, logprobs: null, finish_reason: c.finishReason }
    const message: Record<string, unknown> = { role: 'assistant', content: c.content === '' && c.toolCalls.length > 0 ? null : c.content }
    if (c.reasoning) message[answer.reasoningField] = c.reasoning
    if (c.toolCalls.length > 0) message.tool_calls = c.toolCalls.map((t) => ({ id: t.id, type: t.type, function: { name: t.function.name, arguments: t.function.arguments } }))
    message.refusal = null
    return { index: c.index, message, logprobs: null, finish_reason: c.finishReason }
  })
  const body: Record<string, unknown> = { ...head, choices }
  if (answer.usage) body.usage = answer.usage
  if (answer.systemFingerprint) body.system_fingerprint = answer.systemFingerprint
  return body
}

/** The deltas of one choice, in the order the upstream streams them. */
function choiceDeltas(answer: StoredAnswer, c: StoredChoice): Array<Record<string, unknown>> {
  if (answer.endpoint === 'text') {
    const parts = c.content ? [{ text: c.content, finish_reason: null }] : []
    return [...parts, { text: '', finish_reason: c.finishReason }]
  }
  const onlyTools = c.content === '' && c.toolCalls.length > 0
  const deltas: Array<Record<string, unknown>> = [{ delta: { role: 'assistant', content: onlyTools ? null : '' }, finish_reason: null }]
  if (c.reasoning) deltas.push({ delta: { [answer.reasoningField]: c.reasoning }, finish_reason: null })
  if (c.content) deltas.push({ delta: { content: c.content }, finish_reason: null })
  c.toolCalls.forEach((t, index) => {
    deltas.push({ delta: { tool_calls: [{ index, id: t.id, type: t.type, function: { name: t.function.name, arguments: t.function.arguments } }] }, finish_reason: null })
  })
  deltas.push({ delta: {}, finish_reason: c.finishReason })
  return deltas
}

/**
 * The answer as an SSE stream: per choice a role delta, reasoning, content, one delta per tool call
 * and the finish reason; a usage chunk when asked for; then `[DONE]`.
 */
export function renderSSE(answer: StoredAnswer, withUsage: boolean): string {
  const object = answer.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  const head: Record<string, unknown> = { id: answer.id, object, created: answer.created, model: answer.model }
  if (answer.systemFingerprint) head.system_fingerprint = answer.systemFingerprint
  const tail = withUsage ? { usage: null } : {}
  let out = ''
  for (const c of answer.choices) {
    for (const d of choiceDeltas(answer, c)) {
      out += `data: ${JSON.stringify({ ...head, choices: [{ index: c.index, ...d, logprobs: null }], ...tail })}\n\n`
    }
  }
  if (withUsage && answer.usage) out += `data: ${JSON.stringify({ ...head, choices: [], usage: answer.usage })}\n\n`
  return out + DONE
}

/**
 * The response to a request from a stored entry, in the form it asked for; `undefined` when the entry
 * cannot give that form (then it is a miss).
 */
export function replay(entry: CacheEntry, want: Want): Response | undefined {
  if (entry.sse !== undefined) {
    if (want.endpoint === 'other' || (want.stream && (want.usage === entry.usageChunk || !entry.answer))) {
      return textResponse(entry.status, entry.sse, { ...SSE_HEADERS, 'content-type': entry.contentType })
    }
    if (!entry.answer) return undefined
    if (!want.stream) return jsonResponse(entry.status, renderJson(entry.answer))
    return textResponse(entry.status, renderSSE(entry.answer, want.usage), SSE_HEADERS)
  }
  if (entry.jsonText === undefined) return undefined
  if (want.endpoint === 'other' || !want.stream) return textResponse(entry.status, entry.jsonText, { 'content-type': entry.contentType })
  const answer = answerFromJson(want.endpoint, JSON.parse(entry.jsonText))
  return answer && textResponse(entry.status, renderSSE(answer, want.usage), SSE_HEADERS)
}
