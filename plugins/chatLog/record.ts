import type { ForwardContext, ForwardResult } from '../../src/index.ts'
import { modelOfPath, safePath, safeTarget } from './kind.ts'
import type { ChatLogKind, ChatLogRecord } from './types.ts'

/** Kinds whose answer is text the model wrote (the others answer vectors, audio or images). */
const ANSWERED_KINDS: ReadonlySet<ChatLogKind> = new Set(['chat', 'completion', 'response'])
/** Kinds with token usage worth recording. */
const METERED_KINDS: ReadonlySet<ChatLogKind> = new Set(['chat', 'completion', 'response', 'embedding'])

const round = (ms: number) => Math.round(ms * 10) / 10

/** The record's `cost`, for the kinds that have usage. */
function costOf(result: ForwardResult, kind: ChatLogKind): ChatLogRecord['cost'] {
  const cost = METERED_KINDS.has(kind) ? result.cost() : undefined
  return cost ? { usd: cost.usd, model: cost.model ?? null, estimated: cost.estimated, unpriced: cost.unpriced } : null
}

/** The error of a failed exchange: the gateway's own, else the error body the upstream answered with. */
function errorOf(result: ForwardResult): ChatLogRecord['error'] {
  const failure = result.error as (Error & { code?: unknown }) | undefined
  if (failure) return { message: failure.message, code: typeof failure.code === 'string' ? failure.code : null }
  if (result.status < 400) return null
  // OpenAI `{error:{message,code,type}}`, Anthropic `{error:{type,message}}`, Gemini `{error:{code,message,status}}`.
  const body = result.json<{ error?: { message?: unknown; code?: unknown; type?: unknown; status?: unknown } | string }>()
  const error = body?.error
  if (typeof error === 'string') return { message: error, code: null }
  const code = error?.code ?? error?.type ?? error?.status
  return {
    message: typeof error?.message === 'string' ? error.message : `HTTP ${result.status}`,
    code: code === undefined || code === null ? null : String(code),
  }
}

/**
 * The record as one JSON line, its `request` being the client's own JSON text: a long chat is most
 * of a record, and serialising the parsed body again cost as much as parsing it. The text is valid
 * JSON (it was parsed); a line break in it can only sit between tokens, so it becomes a space.
 */
export function lineWithRequestText(record: ChatLogRecord, requestText: string): string {
  const text = requestText.includes('\n') || requestText.includes('\r') ? requestText.replace(/[\r\n]/g, ' ') : requestText
  const line = JSON.stringify({ ...record, request: null })
  // The first `"request":null` is the record's own field: in a string value its quotes would be escaped.
  const at = line.indexOf('"request":null')
  return `${line.slice(0, at)}"request":${text}${line.slice(at + 14)}\n`
}

/**
 * Builds the record of one ended exchange; `request` is the JSON body as parsed in `onRequest`. Runs in `onResponse`, after the client has its answer;
 * `answer()` and `usage()` parse the kept body here, once.
 */
export function buildRecord(ctx: ForwardContext, result: ForwardResult, kind: ChatLogKind, request: unknown): ChatLogRecord {
  const body = request !== null && typeof request === 'object' && !Array.isArray(request) ? (request as Record<string, unknown>) : undefined
  const answered = ANSWERED_KINDS.has(kind) && result.status < 400 ? result.answer() : undefined
  const usage = METERED_KINDS.has(kind) && result.status < 400 ? result.usage() : undefined
  const model = (typeof body?.model === 'string' ? body.model : undefined) ?? modelOfPath(ctx.upstreamPath) ?? answered?.model
  return {
    time: new Date(Date.now() - (performance.now() - ctx.startedAt)).toISOString(),
    id: ctx.id,
    route: ctx.route.name,
    kind,
    method: ctx.method,
    path: safePath(ctx.url),
    ip: ctx.clientIp,
    caller: ctx.caller?.name ?? null,
    model: model ?? null,
    stream: result.stream,
    request: body ?? null,
    answer: answered ? { id: answered.id ?? null, choices: answered.choices } : null,
    usage: usage ?? null,
    cost: costOf(result, kind),
    status: result.status,
    outcome: result.outcome,
    error: errorOf(result),
    cacheHit: result.answeredBy === 'cache',
    answeredBy: result.answeredBy ?? null,
    provider: ctx.provider ?? null,
    attempts: result.attempts,
    target: safeTarget(result.target),
    firstTokenMs: result.timings.firstByteMs === undefined ? null : round(result.timings.firstByteMs),
    totalMs: round(result.timings.totalMs),
  }
}
