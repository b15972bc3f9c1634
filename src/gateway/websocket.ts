import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { Readable } from 'node:stream'
import type { ConsolaInstance } from 'consola'
import type { H3Event } from 'h3'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { UpstreamAttempt, UpstreamResponse } from '../plugin/types.ts'
import { RequestAbort } from './abort.ts'
import { RequestContext } from './context.ts'
import { ForwardError, upstreamFailure } from './errors.ts'
import { outgoingHeaders } from './headers.ts'
import { firstAnswer, settle, type RoutePipeline } from './pipeline.ts'
import { ForwardResult, type Outcome } from './result.ts'
import { withoutQuery } from './paths.ts'
import { refuse, refuseWith } from './upgrade.ts'
import { pickTarget } from './targets.ts'

/** The signature of node:http's `'upgrade'` event listener. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/** The client's handshake headers: the upstream handshake is a new one, made by `ws` itself. */
const HANDSHAKE_HEADERS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept', 'sec-websocket-protocol']

/** A refused upstream handshake's body is relayed to the client up to this size. */
const MAX_REFUSAL_BODY = 64 * 1024

/** Close codes that may be sent in a close frame (1005, 1006 and 1015 are only ever reported). */
function sendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

/**
 * Closes `ws` with the peer's code and reason when they can be sent on; a peer that vanished
 * (1006) becomes 1001 "going away", a close without a code (1005) a plain close.
 */
function closeLike(ws: WebSocket, code: number, reason: Buffer): void {
  if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return
  if (ws.readyState === WebSocket.CONNECTING) return ws.terminate()
  if (sendableCode(code)) ws.close(code, reason)
  else if (code === 1006) ws.close(1001, 'The other side went away')
  else ws.close()
}

/** `http:` → `ws:`, `https:` → `wss:`. */
function wsUrl(target: string, path: string): string {
  return target.replace(/^http/i, 'ws') + path
}

function listOf(header: string | string[] | undefined): string[] {
  if (header === undefined) return []
  return (Array.isArray(header) ? header.join(',') : header).split(',').map((p) => p.trim()).filter(Boolean)
}

function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
    })
    stream.once('end', () => resolve(Buffer.concat(chunks)))
    stream.once('error', () => resolve(Buffer.concat(chunks)))
  })
}

/**
 * Forwards WebSocket connections (the Realtime API): the handshake goes through the route's
 * `onRequest` and `beforeUpstream` hooks like an HTTP request (IP filter, keys, key swap), the
 * client's upgrade completes only once the upstream accepted, then messages flow both ways
 * unchanged (text stays text, binary stays binary) and a close on either side closes the other
 * with the same code and reason. `onResponse` hooks get one result when the session ends.
 */
export class WebSocketForwarder {
  /** Completes client upgrades; never listens itself. */
  readonly #server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (_offered, req) => this.#protocols.get(req) ?? false,
  })
  /** The subprotocol to answer each client with: the upstream's pick. */
  readonly #protocols = new WeakMap<IncomingMessage, string | false>()
  readonly #open = new Set<WebSocket>()

  constructor(private readonly log: ConsolaInstance) {}

  /** Sessions open right now. */
  get open(): number {
    return this.#open.size
  }

  /** Closes every open session with 1001 (going away), e.g. at shutdown. */
  closeAll(reason = 'The gateway is shutting down'): void {
    for (const ws of this.#open) ws.close(1001, reason)
  }

  /**
   * Forwards one handshake the h3 app routed to `pipeline` (path already normalised and matched).
   * Resolves once the session is set up or refused; never throws.
   */
  async handle(pipeline: RoutePipeline, event: H3Event, req: IncomingMessage, socket: Duplex, head: Buffer, url: string, upstreamPath: string): Promise<void> {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return refuseWith(socket, new ForwardError(400, 'Only WebSocket upgrades are supported', 'invalid_request_error', 'unsupported_upgrade'))
    }
    const key = req.headers['sec-websocket-key']
    const version = req.headers['sec-websocket-version']
    // Checked before the upstream is dialled: a handshake the client side cannot complete must not open one.
    if (req.method !== 'GET' || typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key.trim()) || (version !== '13' && version !== '8')) {
      return refuseWith(socket, new ForwardError(400, 'Invalid WebSocket handshake', 'invalid_request_error', 'invalid_websocket_handshake'))
    }
    try {
      await this.#forward(pipeline, event, req, socket, head, url, upstreamPath)
    } catch (error) {
      this.log.error('unexpected error while forwarding a WebSocket:', error)
      socket.destroy()
    }
  }

  async #forward(pipeline: RoutePipeline, event: H3Event, req: IncomingMessage, socket: Duplex, head: Buffer, url: string, upstreamPath: string): Promise<void> {
    const { route } = pipeline
    const abort = new RequestAbort()
    const ctx = new RequestContext(event, req, route, url, upstreamPath, abort, this.log)
    const clientGone = () => abort.abort()
    socket.once('close', clientGone)

    let outcome: Outcome = 'complete'
    let status = 0
    let responseHeaders: Record<string, string | string[] | undefined> = {}
    let answeredBy: string | undefined
    let target: string | undefined
    let attempts = 0
    let failure: Error | undefined
    let headersMs: number | undefined
    let firstByteMs: number | undefined
    const finish = () => {
      const totalMs = performance.now() - ctx.startedAt
      settle(pipeline, ctx, () => new ForwardResult({
        route, status, headers: responseHeaders, stream: false, outcome, error: failure, attempts, target, answeredBy,
        timings: { headersMs, firstByteMs, totalMs },
        body: undefined, bodyTruncated: false, requestJson: undefined,
      }))
    }
    const refuseAndSettle = (error: ForwardError) => {
      failure = error
      outcome = 'error'
      status = error.status
      refuseWith(socket, error, ctx.responseHeaders)
      finish()
    }

    // 1. onRequest: the same gatekeepers as HTTP (IP filter, keys, rate limits). An answer refuses the upgrade.
    try {
      const gate = await firstAnswer(pipeline, ctx)
      if (gate) {
        const { answer } = gate
        answeredBy = gate.by
        status = answer.status
        answer.headers.forEach((value, name) => (responseHeaders[name] = value))
        refuse(socket, answer.status, { ...responseHeaders, ...ctx.responseHeaders }, Buffer.from(await answer.arrayBuffer()))
        return finish()
      }
    } catch (error) {
      return refuseAndSettle(error instanceof ForwardError ? error : new ForwardError(500, 'Internal gateway error', 'api_error', 'internal_error'))
    }
    if (abort.aborted) {
      outcome = 'aborted'
      return finish()
    }

    // 2. beforeUpstream on the one attempt (key swap). A handshake is not retried.
    const headers = outgoingHeaders(req.headers)
    for (const name of HANDSHAKE_HEADERS) delete headers[name]
    const offered = listOf(req.headers['sec-websocket-protocol'])
    const attempt: UpstreamAttempt = { number: ++attempts, target: pickTarget(route, 1, undefined), path: upstreamPath, headers, body: null }
    if (offered.length > 0) headers['sec-websocket-protocol'] = offered.join(', ')
    try {
      for (const plugin of pipeline.beforeUpstream) await plugin.beforeUpstream!(ctx, attempt)
    } catch (error) {
      return refuseAndSettle(error instanceof ForwardError ? error : new ForwardError(500, 'Internal gateway error', 'api_error', 'internal_error'))
    }
    target = attempt.target
    // Subprotocols go to `ws` as a list (it checks the upstream's pick against them); a hook may have swapped one.
    const sent = listOf(attempt.headers['sec-websocket-protocol'])
    delete attempt.headers['sec-websocket-protocol']
    const outgoing: Record<string, string> = {}
    for (const [name, value] of Object.entries(attempt.headers)) {
      if (value !== undefined) outgoing[name] = Array.isArray(value) ? value.join(', ') : value
    }

    // 3. The upstream handshake; the client's upgrade completes only if it succeeds.
    const upstream = new WebSocket(wsUrl(attempt.target, attempt.path), sent, {
      headers: outgoing,
      handshakeTimeout: route.timeouts.connect + route.timeouts.headers,
      perMessageDeflate: false,
      followRedirects: false,
    })
    const abortHandshake = () => upstream.terminate()
    abort.once('abort', abortHandshake)

    const accepted = await new Promise<IncomingMessage | undefined>((resolve) => {
      let decided = false
      const decide = (res: IncomingMessage | undefined) => {
        decided = true
        resolve(res)
      }
      let head: IncomingMessage | undefined
      upstream.once('upgrade', (res) => (head = res))
      upstream.once('open', () => {
        // Held until the client's side is open too: the upstream may speak first (session.created).
        upstream.pause()
        decide(head)
      })
      upstream.once('unexpected-response', async (_request, res) => {
        // The upstream said no (401, 403, 429…): the client hears exactly that.
        decided = true
        headersMs = performance.now() - ctx.startedAt
        status = res.statusCode ?? 502
        responseHeaders = res.headers
        outcome = 'error'
        await this.#afterUpstream(pipeline, ctx, status, res.headers, res, attempt)
        const body = await readLimited(res, MAX_REFUSAL_BODY)
        upstream.terminate()
        if (status === 401 || status === 403) {
          // An upstream that refuses a key may quote part of it; the client never sees an upstream key.
          refuseWith(socket, new ForwardError(502, "The upstream refused the gateway's credentials", 'upstream_error', 'upstream_key_rejected'), ctx.responseHeaders)
        } else {
          refuse(socket, status, { ...res.headers, ...ctx.responseHeaders }, body)
        }
        resolve(undefined)
      })
      // Stays attached for the whole session: errors after the handshake are handled in #pipe too.
      upstream.on('error', (error) => {
        if (decided) return
        if (abort.aborted) {
          outcome = 'aborted'
          return decide(undefined)
        }
        const forwardError = /timed out/i.test(error.message)
          ? new ForwardError(504, `Upstream handshake timeout: no answer within ${route.timeouts.connect + route.timeouts.headers} ms`, 'timeout_error', 'upstream_headers_timeout')
          : upstreamFailure(error, route.timeouts)
        this.log.warn(`${route.name}: WebSocket ${withoutQuery(ctx.url)} failed: ${forwardError.message}`)
        failure = forwardError
        outcome = 'error'
        status = forwardError.status
        refuseWith(socket, forwardError, ctx.responseHeaders)
        decide(undefined)
      })
    })
    abort.off('abort', abortHandshake)
    if (!accepted) return finish()
    headersMs = performance.now() - ctx.startedAt
    status = 101
    responseHeaders = accepted.headers
    await this.#afterUpstream(pipeline, ctx, 101, accepted.headers, Readable.from([]), attempt)
    if (socket.destroyed || !socket.readable || !socket.writable || abort.aborted) {
      upstream.close(1001, 'client went away')
      outcome = 'aborted'
      return finish()
    }
    socket.off('close', clientGone)

    // 4. The client's upgrade, answering with the subprotocol the upstream picked (in the client's spelling).
    const picked = upstream.protocol
    const index = sent.indexOf(picked)
    const echo = picked === '' ? false : offered.includes(picked) ? picked : index !== -1 && index < offered.length ? offered[index] : false
    this.#protocols.set(req, echo)
    // Resolves when the session ends, so the runtime counts it in flight until then (reload, shutdown).
    await new Promise<void>((resolve) => {
      this.#server.handleUpgrade(req, socket, head, (client) => this.#pipe(client, upstream, ctx, () => {
        firstByteMs ??= performance.now() - ctx.startedAt
      }, (end) => {
        outcome = end.outcome
        failure = end.error
        finish()
        resolve()
      }))
    })
  }

  async #afterUpstream(pipeline: RoutePipeline, ctx: RequestContext, status: number, headers: IncomingHttpHeaders, body: Readable, attempt: UpstreamAttempt): Promise<void> {
    const response: UpstreamResponse = { status, headers, body, attempt }
    for (const plugin of pipeline.afterUpstream) {
      try {
        await plugin.afterUpstream!(ctx, response)
      } catch (error) {
        ctx.log.error(`plugin ${plugin.name} afterUpstream failed:`, error)
      }
    }
  }

  /** Relays messages both ways until one side closes, then closes the other the same way. */
  #pipe(client: WebSocket, upstream: WebSocket, ctx: RequestContext, firstMessage: () => void, ended: (end: { outcome: Outcome; error: Error | undefined }) => void): void {
    this.#open.add(client)
    let error: Error | undefined
    let clientVanished = false
    let pending = 2
    const done = () => {
      if (--pending > 0) return
      this.#open.delete(client)
      ended({ outcome: error ? 'error' : clientVanished ? 'aborted' : 'complete', error })
    }
    client.on('message', (data: RawData, isBinary: boolean) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data as Buffer, { binary: isBinary })
    })
    upstream.on('message', (data: RawData, isBinary: boolean) => {
      firstMessage()
      if (client.readyState === WebSocket.OPEN) client.send(data as Buffer, { binary: isBinary })
    })
    upstream.resume()
    client.once('close', (code, reason) => {
      // 1006: the client went away without a close frame, while the upstream was still talking.
      if (code === 1006 && upstream.readyState === WebSocket.OPEN) clientVanished = true
      closeLike(upstream, code, reason)
      done()
    })
    upstream.once('close', (code, reason) => {
      closeLike(client, code, reason)
      done()
    })
    client.on('error', (e) => ctx.log.debug(`client WebSocket error: ${e.message}`))
    upstream.on('error', (e) => {
      error ??= upstreamFailure(e, ctx.route.timeouts)
      ctx.log.warn(`${ctx.route.name}: upstream WebSocket ${withoutQuery(ctx.url)} failed: ${e.message}`)
      client.terminate()
    })
  }
}
