import type { ForwardResult, SSEEvent, ToolCall, Usage } from '../../src/index.ts'
import type { Endpoint } from './key.ts'

/** Token usage in OpenAI's wire shape (`prompt_tokens`, `completion_tokens`, `total_tokens`, details…). */
export type WireUsage = Record<string, unknown>

/** One choice of an answer, whole. */
export interface StoredChoice {
  index: number
  content: string
  reasoning: string
  toolCalls: ToolCall[]
  finishReason: string | null
}

/** What it takes to write a chat or legacy completion in either form (JSON or stream). */
export interface StoredAnswer {
  endpoint: 'chat' | 'text'
  id: string
  created: number
  model: string
  systemFingerprint: string | undefined
  /** How the upstream spelled the reasoning field (`reasoning_content` or `reasoning`). */
  reasoningField: string
  choices: StoredChoice[]
  /** The upstream's usage, or counted with tiktoken when it reported none (when stored, never on a hit). */
  usage: WireUsage | undefined
}

/**
 * A stored answer. The hit path reads one of these and writes it out without parsing, serialising or
 * tokenising: streams are kept as their raw SSE text, JSON bodies as their text.
 */
export interface CacheEntry {
  /** Layout version: an entry of another layout is a miss, never misread. */
  v: 2
  /** When it was stored (ms since the epoch), for `Age`. */
  storedAt: number
  status: number
  contentType: string
  /** The raw SSE text, for an answer that was streamed. */
  sse?: string
  /** Whether that stream ended with a usage chunk (`stream_options.include_usage`). */
  usageChunk?: boolean
  /** The body's text (decoded), for an answer that came as JSON. */
  jsonText?: string
  /** A streamed chat or legacy completion, assembled, to answer a JSON request from it. */
  answer?: StoredAnswer
}

function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An error reported inside a 2xx stream (OpenAI error chunk, Responses API `error`/`response.failed`). */
function isErrorEvent(event: SSEEvent): boolean {
  if (event.event === 'error') return true
  const data = event.json()
  return isRecord(data) && ((data.error !== undefined && data.error !== null) || data.type === 'error' || data.type === 'response.failed')
}

function wireUsage(usage: Usage | undefined): WireUsage | undefined {
  return usage && { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens }
}

/** A streamed chat/legacy completion, assembled once when stored. */
function answerFromStream(endpoint: 'chat' | 'text', result: ForwardResult, events: SSEEvent[], text: string): { answer: StoredAnswer | undefined; usageChunk: boolean } {
  let created: number | undefined
  let fingerprint: string | undefined
  let usage: WireUsage | undefined
  for (const event of events) {
    const data = event.json()
    if (!isRecord(data)) continue
    created ??= typeof data.created === 'number' ? data.created : undefined
    fingerprint ??= typeof data.system_fingerprint === 'string' ? data.system_fingerprint : undefined
    if (isRecord(data.usage)) usage = data.usage
  }
  const usageChunk = usage !== undefined
  const assembled = result.answer()
  if (!assembled || assembled.choices.length === 0) return { answer: undefined, usageChunk }
  return {
    usageChunk,
    answer: {
      endpoint,
      id: assembled.id ?? '',
      created: created ?? Math.floor(Date.now() / 1000),
      model: assembled.model ?? '',
      systemFingerprint: fingerprint,
      reasoningField: text.includes('"reasoning_content"') || !text.includes('"reasoning"') ? 'reasoning_content' : 'reasoning',
      choices: assembled.choices.map((c) => ({ index: c.index, content: c.content, reasoning: c.reasoning, toolCalls: c.toolCalls.filter(Boolean), finishReason: c.finishReason })),
      // Counting tokens here, once, keeps tiktoken off the hit path.
      usage: usage ?? wireUsage(result.usage()),
    },
  }
}

/**
 * The entry to store for a response, or `undefined` when it must not be stored: not complete, not
 * 2xx, answered by a plugin, over `maxBytes`, not JSON or SSE, or an error reported inside a stream.
 */
export function entryFromResult(result: ForwardResult, endpoint: Endpoint, maxBytes: number): CacheEntry | undefined {
  if (result.outcome !== 'complete' || result.status < 200 || result.status >= 300) return undefined
  if (result.answeredBy !== undefined || result.bodyTruncated) return undefined
  const text = result.text()
  if (text === undefined || text.length === 0 || Buffer.byteLength(text) > maxBytes) return undefined
  const type = result.headers['content-type']
  const base = { v: 2 as const, storedAt: Date.now(), status: result.status, contentType: typeof type === 'string' ? type : 'application/json' }
  if (result.stream) {
    const events = result.events() ?? []
    if (events.length === 0 || events.some(isErrorEvent)) return undefined
    if (endpoint === 'other') return { ...base, sse: text }
    const { answer, usageChunk } = answerFromStream(endpoint, result, events, text)
    return answer ? { ...base, sse: text, usageChunk, answer } : { ...base, sse: text, usageChunk }
  }
  const json = result.json()
  if (json === undefined || (isRecord(json) && json.error !== undefined && json.error !== null)) return undefined
  return { ...base, jsonText: result.text() }
}
