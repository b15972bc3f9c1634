import type { AssembledAnswer, ForwardContext, ForwardResult, Outcome } from '../index.ts'

/** One exchange as the live log lists it. Never holds headers, keys or secrets: the caller's name only. */
export interface ExchangeSummary {
  id: string
  /** When the request arrived, epoch ms. */
  time: number
  route: string
  method: string
  /** The path without its query (a query may carry a key, e.g. Gemini's `?key=`). */
  path: string
  model: string | undefined
  /** The caller's name (`ctx.caller.name`), when an auth plugin set one. */
  key: string | undefined
  status: number
  outcome: Outcome
  /** The plugin that answered instead of the upstream (`cache`, `rateLimit`, …). */
  answeredBy: string | undefined
  /** The API that answered (`ctx.provider`: `openai`, `anthropic`, `gemini`, …), when known. */
  provider: string | undefined
  /** `hit` / `miss` when the cache plugin looked the request up. */
  cache: 'hit' | 'miss' | undefined
  stream: boolean
  promptTokens: number | undefined
  completionTokens: number | undefined
  /** Tokens were counted by the gateway (the upstream reported none). */
  estimated: boolean
  /** US dollars it cost (`result.cost()`); `null` for a model without a price; `undefined` when nothing was spent upstream. */
  costUsd: number | null | undefined
  totalMs: number
  /** Time to the first body byte: the first token, for streams. */
  firstByteMs: number | undefined
  attempts: number
  /** The last attempt's upstream, as origin and path only. */
  target: string | undefined
  /** The gateway's error code and message, when the exchange failed. */
  error: { code: string; message: string } | undefined
}

/** One exchange with what the conversation view shows. */
export interface ExchangeDetail extends ExchangeSummary {
  /** The request's JSON body (long strings shortened when the body was large). */
  request: unknown
  /** The assistant's answer, assembled from JSON or from the stream. */
  answer: AssembledAnswer | undefined
  /** The response body as text, up to `MAX_RESPONSE_CHARS`. */
  response: string | undefined
  responseTruncated: boolean
}

/** Response text kept per exchange for the raw view. */
const MAX_RESPONSE_CHARS = 64 * 1024
/** Request bodies up to this size are kept whole; larger ones have their long strings shortened. */
const WHOLE_REQUEST_BYTES = 64 * 1024
const MAX_STRING_CHARS = 2048
const MAX_ARRAY_ITEMS = 200

/** `scheme://host/path` of a URL: no credentials, no query. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const parsed = new URL(url)
    return parsed.origin + parsed.pathname.replace(/\/$/, '')
  } catch {
    return undefined
  }
}

/** A copy of a large JSON value with long strings and arrays shortened (base64 images, huge prompts). */
function shorten(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING_CHARS ? `${value.slice(0, MAX_STRING_CHARS)}… [${value.length - MAX_STRING_CHARS} more characters]` : value
  if (!value || typeof value !== 'object' || depth > 32) return value
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ARRAY_ITEMS).map((v) => shorten(v, depth + 1))
    if (value.length > MAX_ARRAY_ITEMS) items.push(`… [${value.length - MAX_ARRAY_ITEMS} more items]`)
    return items
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = shorten(v, depth + 1)
  return out
}

/** The request body as kept: whole when small, shortened when large (or of unknown size). */
function keptRequest(ctx: ForwardContext, request: unknown): unknown {
  if (request === undefined) return undefined
  const length = Number(ctx.headers['content-length'])
  return Number.isFinite(length) && length <= WHOLE_REQUEST_BYTES ? request : shorten(request)
}

function requestModel(request: unknown): string | undefined {
  const model = (request as { model?: unknown } | undefined)?.model
  return typeof model === 'string' ? model : undefined
}

/** Whether the cache plugin answered or looked up this request (its `x-aifd-cache` header). */
function cacheVerdict(ctx: ForwardContext, result: ForwardResult): 'hit' | 'miss' | undefined {
  const header = String(ctx.responseHeaders['x-aifd-cache'] ?? result.headers['x-aifd-cache'] ?? '').toUpperCase()
  if (header === 'HIT' || result.answeredBy === 'cache') return 'hit'
  if (header === 'MISS') return 'miss'
  return undefined
}

/** The exchange's summary and detail, from the context and result `onResponse` got. */
export function describeExchange(ctx: ForwardContext, result: ForwardResult): ExchangeDetail {
  const request = result.request
  let answer: AssembledAnswer | undefined
  let usage
  let cost
  try {
    answer = result.answer()
    // A refusal or an error used no tokens (usage() would estimate the prompt of any request).
    if (result.status < 400) usage = result.usage()
    cost = result.cost()
  } catch {
    // A body the assembler cannot read (a broken upstream) still gets a log line.
  }
  const text = result.text()
  const error = result.error as (Error & { code?: string | null }) | undefined
  const q = ctx.url.indexOf('?')
  return {
    id: ctx.id,
    time: Math.round(performance.timeOrigin + ctx.startedAt),
    route: ctx.route.name,
    method: ctx.method,
    path: q === -1 ? ctx.url : ctx.url.slice(0, q),
    model: requestModel(request) ?? answer?.model,
    key: ctx.caller?.name,
    status: result.status,
    outcome: result.outcome,
    answeredBy: result.answeredBy,
    provider: ctx.provider,
    cache: cacheVerdict(ctx, result),
    stream: result.stream,
    promptTokens: usage?.promptTokens,
    completionTokens: usage?.completionTokens,
    estimated: usage?.estimated ?? false,
    costUsd: cost ? cost.usd : undefined,
    totalMs: Math.round(result.timings.totalMs * 10) / 10,
    firstByteMs: result.timings.firstByteMs === undefined ? undefined : Math.round(result.timings.firstByteMs * 10) / 10,
    attempts: result.attempts,
    target: safeUrl(result.target),
    error: error ? { code: error.code ?? 'error', message: error.message } : undefined,
    request: keptRequest(ctx, request),
    answer,
    response: text === undefined ? undefined : text.slice(0, MAX_RESPONSE_CHARS),
    responseTruncated: result.bodyTruncated || (text !== undefined && text.length > MAX_RESPONSE_CHARS),
  }
}

/** The summary part of a detail (what the live log and SSE carry). */
export function summaryOf(detail: ExchangeDetail): ExchangeSummary {
  const { request: _request, answer: _answer, response: _response, responseTruncated: _truncated, ...summary } = detail
  return summary
}

/** The last `capacity` exchanges, oldest evicted first. */
export class ExchangeLog {
  readonly #items: (ExchangeDetail | undefined)[]
  readonly #byId = new Map<string, ExchangeDetail>()
  #next = 0

  constructor(readonly capacity: number) {
    this.#items = new Array(capacity)
  }

  add(exchange: ExchangeDetail): void {
    const slot = this.#next % this.capacity
    const evicted = this.#items[slot]
    if (evicted) this.#byId.delete(evicted.id)
    this.#items[slot] = exchange
    this.#byId.set(exchange.id, exchange)
    this.#next++
  }

  get(id: string): ExchangeDetail | undefined {
    return this.#byId.get(id)
  }

  /** Newest first, at most `limit`. */
  recent(limit = this.capacity): ExchangeSummary[] {
    const out: ExchangeSummary[] = []
    const count = Math.min(this.#next, this.capacity, limit)
    for (let i = 1; i <= count; i++) out.push(summaryOf(this.#items[(this.#next - i) % this.capacity]!))
    return out
  }
}
