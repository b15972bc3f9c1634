import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { ConsolaInstance } from 'consola'
import type { H3Event } from 'h3'
import { jsonResponse } from '../plugin/respond.ts'
import type { SSEEvent, UpstreamAttempt, UpstreamCall, UpstreamResponse } from '../plugin/types.ts'
import { RequestAbort } from './abort.ts'
import { RequestContext, tooLarge } from './context.ts'
import { ForwardError, isAbort, upstreamFailure } from './errors.ts'
import { addEventHeaders, responseHeaderList } from './headers.ts'
import { closeAfterResponse, isClosing } from './lingering-close.ts'
import { settle, type RoutePipeline } from './pipeline.ts'
import { canResend, outgoingRequest } from './request-body.ts'
import { ForwardResult, type Outcome } from './result.ts'
import { withoutQuery } from './paths.ts'
import { corkPerTurn, Relay } from './relay.ts'
import { EventTap, SSETap, sseErrorEvent } from './sse.ts'
import { pickTarget } from './targets.ts'
import { sendUpstream } from './upstream.ts'
import { FetchedResponse, ReadableSource } from './upstream-body.ts'
import { fromWebResponse, type NodeAnswer } from './web-response.ts'

/** Bodies larger than this are not kept for `onResponse` hooks (the client still gets all of it). */
const MAX_COLLECTED_BYTES = 16 * 1024 * 1024

const TOTAL_TIMEOUT = Symbol('total timeout')

function noop(): void {}

function isJsonType(type: string | string[] | undefined): boolean {
  return typeof type === 'string' && type.includes('json')
}

function isSSEType(type: string | string[] | undefined): boolean {
  return typeof type === 'string' && type.startsWith('text/event-stream')
}

/** A compressed body cannot be read event by event on its way through. */
function isEncoded(encoding: string | string[] | undefined): boolean {
  return encoding !== undefined && encoding !== 'identity'
}

export interface ForwardRequest {
  /** The request's h3 event (plugins reach it as `ctx.event`). */
  event: H3Event
  req: IncomingMessage
  res: ServerResponse
  pipeline: RoutePipeline
  /** Normalised path with query, as the client asked. */
  url: string
  /** Path and query to append to the target. */
  upstreamPath: string
  log: ConsolaInstance
  /** Headers every response gets (CORS). */
  baseHeaders: Record<string, string>
}

/** What the body of a response to write is, and what `onResponse` will be told about it. */
interface Written {
  outcome: Outcome
  stream: boolean
  chunks: Buffer[] | undefined
  /** The stream's events as the SSE tap parsed them, when it ran and the body was kept. */
  events: SSEEvent[] | undefined
  truncated: boolean
  firstByteMs: number | undefined
  error: Error | undefined
}

/**
 * One request's way through its route's pipeline: the hooks before the upstream, the upstream call
 * (wrapped by retry-like hooks), then writing the answer and telling `onResponse` hooks how it ended.
 */
class Exchange {
  readonly ctx: RequestContext
  readonly #abort = new RequestAbort()
  readonly #closed: Promise<void>
  #totalTimer: NodeJS.Timeout | undefined
  #attempts = 0
  #lastTarget: string | undefined
  #headersMs: number | undefined
  #answeredBy: string | undefined
  #failure: ForwardError | undefined

  constructor(private readonly request: ForwardRequest) {
    const { req, res, pipeline } = request
    this.ctx = new RequestContext(request.event, req, pipeline.route, request.url, request.upstreamPath, this.#abort, request.log)
    Object.assign(this.ctx.responseHeaders, request.baseHeaders)
    this.ctx.responseHeaders['x-aifd-request-id'] = this.ctx.id
    this.#closed = new Promise<void>((resolve) => {
      res.once('close', () => {
        if (!res.writableFinished) this.#abort.abort()
        resolve()
      })
    })
    const total = pipeline.route.timeouts.total
    if (total !== undefined) this.#totalTimer = setTimeout(() => this.#abort.abort(TOTAL_TIMEOUT), total).unref()
  }

  /** Resolves when the response has ended (or the client went away); never rejects. */
  async run(): Promise<void> {
    const answer = await this.#answer()
    const written = answer === undefined ? undefined : await this.#write(answer)
    clearTimeout(this.#totalTimer)
    const { status, headers } = answer ?? { status: 0, headers: {} }
    // Timed now: the hooks run a little later, at the end of this turn.
    const totalMs = performance.now() - this.ctx.startedAt
    settle(this.request.pipeline, this.ctx, () => this.#result(written ?? { outcome: 'aborted', stream: false, chunks: undefined, events: undefined, truncated: false, firstByteMs: undefined, error: undefined }, status, headers, totalMs))
  }

  /** The answer to write: the upstream's, a plugin's or an error; `undefined` when the client left. */
  async #answer(): Promise<UpstreamResponse | NodeAnswer | undefined> {
    const { pipeline } = this.request
    try {
      const length = this.request.req.headers['content-length']
      if (length !== undefined && Number(length) > pipeline.route.bodyLimit) throw tooLarge(pipeline.route.bodyLimit)
      for (const plugin of pipeline.onRequest) {
        const answer = await plugin.onRequest!(this.ctx)
        if (answer) {
          this.#answeredBy = plugin.name
          return fromWebResponse(answer)
        }
      }
      let next = await this.#upstreamCall()
      for (let i = pipeline.wrapUpstream.length - 1; i >= 0; i--) {
        const plugin = pipeline.wrapUpstream[i]
        const inner = next
        next = () => plugin.wrapUpstream!(this.ctx, inner)
      }
      return await next()
    } catch (error) {
      // The client went away: the normal end of this request, not a failure.
      if (this.#clientLeft) return undefined
      return fromWebResponse(await this.#fail(error))
    }
  }

  /** Aborted because the client went away, not by a timeout of the gateway's (total, body) that still gets an answer. */
  get #clientLeft(): boolean {
    const reason = this.#abort.reason
    return this.#abort.aborted && reason !== TOTAL_TIMEOUT && !(reason instanceof ForwardError)
  }

  /** One upstream attempt, with the `beforeUpstream` and `afterUpstream` hooks around it. */
  async #upstreamCall(): Promise<UpstreamCall> {
    const { ctx, request: { pipeline, req } } = this
    const { route } = pipeline
    const { headers, body } = await outgoingRequest(ctx, pipeline.resendable)
    return async () => {
      if (this.#abort.aborted) throw this.#abort.reason
      if (this.#attempts > 0 && !canResend(body, req)) {
        throw new ForwardError(502, 'The upstream failed after the upload was sent; an upload cannot be sent twice, so it was not retried', 'upstream_error', 'upload_not_retryable')
      }
      const attempt: UpstreamAttempt = {
        number: ++this.#attempts,
        target: pickTarget(route, this.#attempts, this.#lastTarget),
        path: ctx.upstreamPath,
        // Hooks may change an attempt's headers; each attempt starts from the client's.
        headers: pipeline.beforeUpstream.length > 0 ? { ...headers } : headers,
        body,
      }
      for (const plugin of pipeline.beforeUpstream) await plugin.beforeUpstream!(ctx, attempt)
      // A hook rewrote the body (another API's request): its length is the new one's.
      if (attempt.body !== body && (typeof attempt.body === 'string' || Buffer.isBuffer(attempt.body))) attempt.headers['content-length'] = String(Buffer.byteLength(attempt.body))
      this.#lastTarget = attempt.target
      let raw
      try {
        raw = await sendUpstream(route, { method: ctx.method, target: attempt.target, path: attempt.path, headers: attempt.headers, body: attempt.body, signal: this.#abort })
      } catch (error) {
        // Hooks see one error type with stable codes (upstream_unreachable, upstream_headers_timeout, …).
        if (this.#abort.aborted) throw error
        throw upstreamFailure(error, route.timeouts)
      }
      this.#headersMs = performance.now() - ctx.startedAt
      const response = new FetchedResponse(raw.status, raw.headers, raw.body, attempt)
      for (const plugin of pipeline.afterUpstream) await plugin.afterUpstream!(ctx, response)
      return response
    }
  }

  /** Turns a failure into the response to send: an `onError` hook's, or the error in OpenAI's shape. */
  async #fail(error: unknown): Promise<Response> {
    const { pipeline, log } = this.request
    const reason = this.#abort.reason
    const failure = reason === TOTAL_TIMEOUT && (isAbort(error) || error === TOTAL_TIMEOUT)
      ? this.#totalTimeout()
      // The body timeout aborts with its own 408, whatever the hook or upstream call waiting for the body threw.
      : reason instanceof ForwardError ? reason
      : error instanceof ForwardError ? error : internalFailure(error, log)
    this.#failure = failure
    if (failure.status >= 500) log.warn(`${pipeline.route.name}: ${this.ctx.method} ${withoutQuery(this.ctx.url)} failed: ${failure.message}`)
    for (const plugin of pipeline.onError) {
      try {
        const answer = await plugin.onError!(this.ctx, failure)
        if (answer) {
          this.#answeredBy = plugin.name
          return answer
        }
      } catch (hookError) {
        log.error(`plugin ${plugin.name} onError failed:`, hookError)
      }
    }
    return jsonResponse(failure.status, failure.toJSON(), failure.headers)
  }

  #totalTimeout(): ForwardError {
    return new ForwardError(504, `Upstream total timeout: the request took longer than ${this.request.pipeline.route.timeouts.total} ms`, 'timeout_error', 'upstream_total_timeout')
  }

  /** Writes the answer to the client; resolves when the response has ended or the client left. */
  async #write(answer: UpstreamResponse | NodeAnswer): Promise<Written> {
    const { req, res, pipeline, log } = this.request
    const { ctx } = this
    const { status, headers } = answer
    // The upstream's body read directly, unless a hook took it as a stream; else any stream body.
    const upstream = answer instanceof FetchedResponse ? answer.direct : undefined
    const source = upstream === undefined && answer.body instanceof Readable ? answer.body : undefined
    const streamed = upstream !== undefined || source !== undefined
    const inline = streamed ? null : (answer.body as string | Uint8Array | null)
    const type = headers['content-type']
    const stream = isSSEType(type)
    const written: Written = { outcome: 'complete', stream, chunks: undefined, events: undefined, truncated: false, firstByteMs: undefined, error: undefined }
    if (res.destroyed) {
      upstream?.destroy()
      // Destroying a stream emits 'error'; with no listener that would take the process down.
      source?.on('error', noop).destroy()
      return { ...written, outcome: 'aborted', stream: false }
    }

    const chunks = pipeline.collectBody && (stream || isJsonType(type)) ? ([] as Buffer[]) : undefined
    written.chunks = chunks
    // Events are parsed only when a hook wants them; otherwise SSE bytes pass untouched like any body.
    // The events parsed here are kept for `onResponse` (while the body is), so they are parsed once.
    // Answered before the whole body came (413, 408, a hook's 401 to an upload): close without a reset.
    if (!req.complete) closeAfterResponse(req, res, pipeline.route.bodyLimit)
    const tap = stream && streamed && pipeline.onChunk && !isEncoded(headers['content-encoding'])
      ? new EventTap((event) => pipeline.onChunk!(ctx, event), chunks && this.#keepEvents(written))
      : undefined
    const transforms = streamed ? pipeline.transformStream.map((p) => p.transformStream!(ctx, { status, headers })).filter((t) => t !== undefined) : []
    addEventHeaders(ctx.event, ctx.responseHeaders)
    res.writeHead(status, responseHeaderList(headers, ctx.responseHeaders, tap !== undefined || transforms.length > 0))

    if (!streamed) {
      if (chunks && inline) chunks.push(Buffer.from(inline))
      res.end(inline)
      await this.#closed
      return { ...written, outcome: res.writableFinished ? (this.#failure ? 'error' : 'complete') : 'aborted' }
    }

    const observe = this.#observer(written, pipeline.onResponse.length > 0)
    let stopWriting = noop
    const broke = (error: unknown) => {
      if (this.#clientLeft) return
      const failure = this.#abort.reason === TOTAL_TIMEOUT ? this.#totalTimeout() : upstreamFailure(error, pipeline.route.timeouts)
      written.error = failure
      log.warn(`${pipeline.route.name}: ${ctx.method} ${withoutQuery(ctx.url)}: upstream broke mid-response: ${failure.message}`)
      if (stream && !res.destroyed) {
        stopWriting()
        // Tell the client why the stream ends instead of cutting it silently; the blank line first
        // ends an event the upstream may have cut in half.
        res.end(`\n\n${sseErrorEvent(failure.message, failure.code ?? 'upstream_error', failure.type)}`)
      } else {
        res.destroy(failure)
      }
    }
    if (transforms.length === 0) {
      const relay = new Relay(upstream ?? new ReadableSource(source!), res, tap, observe, headers['content-length'] === undefined, broke)
      stopWriting = () => relay.stop()
      relay.start()
    } else {
      const body = source ?? upstream!.readable
      if (observe) body.on('data', observe)
      let out: Readable = tap ? body.pipe(new SSETap(tap)) : body
      for (const transform of transforms) out = out.pipe(transform)
      // Registered before pipe()'s own listener, so the write it makes is already corked.
      const hold = corkPerTurn(res)
      out.on('data', hold)
      out.pipe(res)
      stopWriting = () => out.unpipe(res)
      body.once('error', broke)
    }
    await this.#closed
    return { ...written, outcome: written.error ? 'error' : res.writableFinished ? 'complete' : 'aborted' }
  }

  /** What to do with each upstream chunk before it is written: time the first, keep them for `onResponse`. */
  #observer(written: Written, timed: boolean): ((chunk: Buffer) => void) | undefined {
    const { chunks } = written
    if (!timed && !chunks) return undefined
    const { startedAt } = this.ctx
    let collected = 0
    return (chunk) => {
      if (timed && written.firstByteMs === undefined) written.firstByteMs = performance.now() - startedAt
      if (!chunks || written.truncated) return
      collected += chunk.length
      if (collected > MAX_COLLECTED_BYTES) written.truncated = true
      else chunks.push(chunk)
    }
  }

  /** Keeps the events the SSE tap parsed, while the body itself is kept. */
  #keepEvents(written: Written): (event: SSEEvent) => void {
    const events: SSEEvent[] = (written.events = [])
    return (event) => {
      if (!written.truncated) events.push(event)
    }
  }

  #result(written: Written, status: number, headers: Record<string, string | string[] | undefined>, totalMs: number): ForwardResult {
    return new ForwardResult({
      route: this.request.pipeline.route, status, headers, stream: written.stream, outcome: written.outcome,
      error: written.error ?? this.#failure, attempts: this.#attempts, target: this.#lastTarget, answeredBy: this.#answeredBy,
      timings: { headersMs: this.#headersMs, firstByteMs: written.firstByteMs, totalMs },
      body: written.chunks, events: written.truncated ? undefined : written.events, bodyTruncated: written.truncated, requestJson: this.ctx.parsedJson, requestText: this.ctx.bodyText, log: this.ctx.log,
    })
  }
}

/**
 * Upstream failures reach here already as ForwardErrors (call() maps them), so anything else was
 * thrown by a hook: a bug to log in full, and a plain 500 for the client, whose request was fine.
 */
function internalFailure(error: unknown, log: ConsolaInstance): ForwardError {
  log.error('a plugin hook threw while handling a request:', error)
  return new ForwardError(500, 'The gateway failed while handling this request', 'api_error', 'internal_error')
}

/**
 * Forwards one request through its route's pipeline and writes the answer to `res`.
 * Resolves when the response has ended (or the client went away); never rejects.
 */
export function forward(request: ForwardRequest): Promise<void> {
  // A request the client sent after one answered with `Connection: close` is not served (RFC 9112 §9.6).
  if (isClosing(request.req)) {
    request.req.socket?.destroy()
    return Promise.resolve()
  }
  return new Exchange(request).run()
}
