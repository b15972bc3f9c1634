import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable, Transform } from 'node:stream'
import type { ConsolaInstance } from 'consola'
import { jsonResponse } from '../plugin/respond.ts'
import type { UpstreamAttempt, UpstreamCall, UpstreamResponse } from '../plugin/types.ts'
import { RequestAbort } from './abort.ts'
import { RequestContext, tooLarge } from './context.ts'
import { ForwardError, isAbort, upstreamFailure } from './errors.ts'
import { outgoingHeaders, responseHeaderList } from './headers.ts'
import { settle, type RoutePipeline } from './pipeline.ts'
import { ForwardResult, type Outcome } from './result.ts'
import { SSETap, sseErrorEvent } from './sse.ts'
import { pickTarget } from './targets.ts'
import { withoutQuery } from './router.ts'
import { sendUpstream } from './upstream.ts'

/** Bodies larger than this are not kept for `onResponse` hooks (the client still gets all of it). */
const MAX_COLLECTED_BYTES = 16 * 1024 * 1024

const TOTAL_TIMEOUT = Symbol('total timeout')

function noop(): void {}

export interface ForwardRequest {
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

function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

/** Counts a streamed upload and fails it once it passes the limit (only for bodies without a length). */
function limitStream(req: IncomingMessage, limit: number): Readable {
  let size = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length
      callback(size > limit ? tooLarge(limit) : null, chunk)
    },
  })
  req.pipe(counter)
  return counter
}

function isJsonType(type: string | string[] | undefined): boolean {
  return typeof type === 'string' && type.includes('json')
}

function isSSEType(type: string | string[] | undefined): boolean {
  return typeof type === 'string' && type.startsWith('text/event-stream')
}

/** Flattens a web Response's headers and body for writing to the Node response. */
async function fromWebResponse(response: Response): Promise<{ status: number; headers: Record<string, string | string[]>; body: string | Uint8Array | Readable | null }> {
  const fast = response as Response & { _toNodeResponse?: () => { status: number; headers: string[]; body: unknown } }
  if (typeof fast._toNodeResponse === 'function') {
    const node = fast._toNodeResponse()
    const headers: Record<string, string | string[]> = {}
    for (let i = 0; i < node.headers.length; i += 2) headers[node.headers[i]] = node.headers[i + 1]
    const body = node.body
    if (body instanceof ReadableStream) return { status: node.status, headers, body: Readable.fromWeb(body as never) }
    return { status: node.status, headers, body: (body ?? null) as string | Uint8Array | Readable | null }
  }
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => (headers[name] = value))
  return { status: response.status, headers, body: response.body ? Readable.fromWeb(response.body as never) : null }
}

/**
 * Forwards one request through its route's pipeline and writes the answer to `res`.
 * Resolves when the response has ended (or the client went away); never rejects.
 */
export async function forward(request: ForwardRequest): Promise<void> {
  const { req, res, pipeline, log } = request
  const { route } = pipeline
  const abort = new RequestAbort()
  const ctx = new RequestContext(req, route, request.url, request.upstreamPath, abort, log)
  Object.assign(ctx.responseHeaders, request.baseHeaders)
  ctx.responseHeaders['x-aifd-request-id'] = ctx.id
  const closed = new Promise<void>((resolve) => {
    res.once('close', () => {
      if (!res.writableFinished) abort.abort()
      resolve()
    })
  })
  let totalTimer: NodeJS.Timeout | undefined
  if (route.timeouts.total !== undefined) {
    totalTimer = setTimeout(() => abort.abort(TOTAL_TIMEOUT), route.timeouts.total).unref()
  }

  let attempts = 0
  let lastTarget: string | undefined
  let headersMs: number | undefined
  let answeredBy: string | undefined
  let early: Response | undefined
  let upstream: UpstreamResponse | undefined
  let failure: ForwardError | undefined

  try {
    const length = req.headers['content-length']
    if (length !== undefined && Number(length) > route.bodyLimit) throw tooLarge(route.bodyLimit)

    for (const plugin of pipeline.onRequest) {
      const answer = await plugin.onRequest!(ctx)
      if (answer) {
        early = answer
        answeredBy = plugin.name
        break
      }
    }

    if (!early) {
      if (pipeline.resendable) await ctx.readText()
      const text = ctx.outgoingText()
      const headers = outgoingHeaders(req.headers)
      let body: string | Readable | null = null
      if (text !== undefined) {
        body = text
        headers['content-length'] = String(Buffer.byteLength(text))
      } else if (hasRequestBody(req)) {
        body = length === undefined ? limitStream(req, route.bodyLimit) : req
      }

      const call: UpstreamCall = async () => {
        if (abort.aborted) throw abort.reason
        // undici destroys a stream body when an attempt fails, even one it never read (refused connection).
        if (body instanceof Readable && attempts > 0 && (req.readableDidRead || req.destroyed || body !== req)) {
          throw new ForwardError(502, 'The upstream failed after the upload was sent; an upload cannot be sent twice, so it was not retried', 'upstream_error', 'upload_not_retryable')
        }
        const attempt: UpstreamAttempt = {
          number: ++attempts,
          target: pickTarget(route, attempts, lastTarget),
          path: ctx.upstreamPath,
          // Hooks may change an attempt's headers; each attempt starts from the client's.
          headers: pipeline.beforeUpstream.length > 0 ? { ...headers } : headers,
        }
        for (const plugin of pipeline.beforeUpstream) await plugin.beforeUpstream!(ctx, attempt)
        lastTarget = attempt.target
        let raw
        try {
          raw = await sendUpstream(route, {
            method: ctx.method,
            url: attempt.target + attempt.path,
            headers: attempt.headers,
            body,
            signal: abort,
          })
        } catch (error) {
          // Hooks see one error type with stable codes (upstream_unreachable, upstream_headers_timeout, …).
          if (abort.aborted) throw error
          throw upstreamFailure(error, route.timeouts)
        }
        headersMs = performance.now() - ctx.startedAt
        // A client that leaves while hooks still run destroys this body with an error; never unhandled.
        raw.body.on('error', noop)
        const response: UpstreamResponse = { status: raw.status, headers: raw.headers, body: raw.body, attempt }
        for (const plugin of pipeline.afterUpstream) await plugin.afterUpstream!(ctx, response)
        return response
      }

      let next = call
      for (let i = pipeline.wrapUpstream.length - 1; i >= 0; i--) {
        const plugin = pipeline.wrapUpstream[i]
        const inner = next
        next = () => plugin.wrapUpstream!(ctx, inner)
      }
      upstream = await next()
    }
  } catch (error) {
    if (abort.aborted && abort.reason !== TOTAL_TIMEOUT) {
      // The client went away: the normal end of this request, not a failure.
      clearTimeout(totalTimer)
      settle(pipeline, ctx, () => endResult('aborted', 0, {}, false, undefined))
      return closed
    }
    failure = abort.reason === TOTAL_TIMEOUT && (isAbort(error) || error === TOTAL_TIMEOUT)
      ? new ForwardError(504, `Upstream total timeout: the request took longer than ${route.timeouts.total} ms`, 'timeout_error', 'upstream_total_timeout')
      : error instanceof ForwardError ? error : internalFailure(error, log)
    if (failure.status >= 500) log.warn(`${route.name}: ${ctx.method} ${withoutQuery(ctx.url)} failed: ${failure.message}`)
    for (const plugin of pipeline.onError) {
      try {
        const answer = await plugin.onError!(ctx, failure)
        if (answer) {
          early = answer
          answeredBy = plugin.name
          break
        }
      } catch (hookError) {
        log.error(`plugin ${plugin.name} onError failed:`, hookError)
      }
    }
    if (!early) early = errorAsResponse(failure)
  }

  function endResult(outcome: Outcome, status: number, headers: Record<string, string | string[] | undefined>, stream: boolean, chunks: Buffer[] | undefined, truncated = false, firstByteMs?: number, error?: Error): ForwardResult {
    return new ForwardResult({
      route, status, headers, stream, outcome, error: error ?? failure, attempts, target: lastTarget, answeredBy,
      timings: { headersMs, firstByteMs, totalMs: performance.now() - ctx.startedAt },
      body: chunks, bodyTruncated: truncated, requestJson: ctx.parsedJson,
    })
  }

  // Write the answer: the upstream's, a plugin's, or an error.
  let status: number
  let headers: Record<string, string | string[] | undefined>
  let source: Readable | null
  let inline: string | Uint8Array | null = null
  if (upstream) {
    status = upstream.status
    headers = upstream.headers
    source = upstream.body
  } else {
    const flat = await fromWebResponse(early!)
    status = flat.status
    headers = flat.headers
    if (flat.body instanceof Readable) source = flat.body
    else {
      source = null
      inline = flat.body
    }
  }
  if (res.destroyed) {
    // Destroying an upstream body emits 'error'; with no listener that would take the process down.
    source?.on('error', noop).destroy()
    clearTimeout(totalTimer)
    settle(pipeline, ctx, () => endResult('aborted', status, headers, false, undefined))
    return closed
  }

  const type = headers['content-type']
  const sse = isSSEType(type)
  // Events are parsed only when a hook wants them; otherwise SSE bytes pass untouched like any body.
  const tap = sse && source && pipeline.onChunk ? new SSETap((event) => pipeline.onChunk!(ctx, event)) : undefined
  const transforms = source ? pipeline.transformStream.map((p) => p.transformStream!(ctx, { status, headers })).filter((t) => t !== undefined) : []
  const rewrites = tap !== undefined || transforms.length > 0
  res.writeHead(status, responseHeaderList(headers, ctx.responseHeaders, Boolean(rewrites)))

  const chunks = pipeline.collectBody && (sse || isJsonType(type)) ? ([] as Buffer[]) : undefined
  if (inline !== null) {
    if (chunks && inline) chunks.push(Buffer.from(inline))
    res.end(inline)
    clearTimeout(totalTimer)
    await closed
    settle(pipeline, ctx, () => endResult(res.writableFinished ? (failure ? 'error' : 'complete') : 'aborted', status, headers, sse, chunks))
    return
  }

  let collected = 0
  let truncated = false
  let firstByteMs: number | undefined
  let streamError: Error | undefined
  if (pipeline.onResponse.length > 0) source!.once('data', () => (firstByteMs = performance.now() - ctx.startedAt))
  if (chunks) {
    source!.on('data', (chunk: Buffer) => {
      if (truncated) return
      collected += chunk.length
      if (collected > MAX_COLLECTED_BYTES) truncated = true
      else chunks.push(chunk)
    })
  }
  let out: Readable = source!
  if (tap) out = out.pipe(tap)
  for (const transform of transforms) out = out.pipe(transform)
  out.pipe(res)
  source!.once('error', (error: Error) => {
    if (abort.aborted && abort.reason !== TOTAL_TIMEOUT) return
    streamError = abort.reason === TOTAL_TIMEOUT
      ? new ForwardError(504, `Upstream total timeout: the request took longer than ${route.timeouts.total} ms`, 'timeout_error', 'upstream_total_timeout')
      : upstreamFailure(error, route.timeouts)
    log.warn(`${route.name}: ${ctx.method} ${withoutQuery(ctx.url)}: upstream broke mid-response: ${streamError.message}`)
    if (sse && !res.destroyed) {
      out.unpipe(res)
      // Tell the client why the stream ends instead of cutting it silently.
      const { code, type } = streamError as ForwardError
      // The blank line first ends an event the upstream may have cut in half.
      res.end(`\n\n${sseErrorEvent(streamError.message, code ?? 'upstream_error', type)}`)
    } else {
      res.destroy(streamError)
    }
  })
  await closed
  clearTimeout(totalTimer)
  const outcome: Outcome = streamError ? 'error' : res.writableFinished ? 'complete' : 'aborted'
  settle(pipeline, ctx, () => endResult(outcome, status, headers, sse, chunks, truncated, firstByteMs, streamError))
}

/**
 * Upstream failures reach here already as ForwardErrors (call() maps them), so anything else was
 * thrown by a hook: a bug to log in full, and a plain 500 for the client, whose request was fine.
 */
function internalFailure(error: unknown, log: ConsolaInstance): ForwardError {
  log.error('a plugin hook threw while handling a request:', error)
  return new ForwardError(500, 'The gateway failed while handling this request', 'api_error', 'internal_error')
}

function errorAsResponse(error: ForwardError): Response {
  return jsonResponse(error.status, error.toJSON(), error.headers)
}
