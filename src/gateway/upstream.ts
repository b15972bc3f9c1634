import type { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import { Agent, EnvHttpProxyAgent, errors, ProxyAgent, type Dispatcher } from 'undici'
import type { ResolvedRoute } from '../config/types.ts'
import { UpstreamBody } from './upstream-body.ts'

/**
 * One pooled dispatcher per route (undici's Agent keeps a keep-alive pool per origin inside it),
 * created on the route's first request and closed when its config is retired.
 */

function hasProxyEnv(): boolean {
  return Boolean(process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy)
}

const byRoute = new WeakMap<ResolvedRoute, Dispatcher>()

function dispatcherFor(route: ResolvedRoute): Dispatcher {
  let dispatcher = byRoute.get(route)
  if (!dispatcher) byRoute.set(route, (dispatcher = createDispatcher(route)))
  return dispatcher
}

function createDispatcher(route: ResolvedRoute): Dispatcher {
  const proxy = route.proxy
  const options = { connect: { timeout: route.timeouts.connect }, keepAliveTimeout: 30_000, connections: null }
  if (proxy) return new ProxyAgent({ uri: proxy, ...options })
  return hasProxyEnv() ? new EnvHttpProxyAgent(options) : new Agent(options)
}

export interface UpstreamRequest {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: string | Buffer | Readable | null
  /** Aborts the upstream call (an EventEmitter emitting 'abort', with the reason in `reason`). */
  signal: EventEmitter & { aborted: boolean; reason?: unknown }
}

export interface RawUpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: UpstreamBody
}

/**
 * Sends one request upstream with the route's timeouts; resolves when the response headers arrive.
 * Through undici's `dispatch`, not `request()`: the body comes as chunks to an `UpstreamBody`, not
 * as a stream per response, and no async-hooks resource or abort plumbing is made per request.
 */
export function sendUpstream(route: ResolvedRoute, req: UpstreamRequest): Promise<RawUpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (req.signal.aborted) return reject(abortReason(req.signal))
    // Parsed like undici's request(url) does, so paths reach the upstream exactly as before.
    const url = new URL(req.url)
    const handler = new UpstreamCall(req.signal, resolve, reject)
    dispatcherFor(route).dispatch({
      origin: url.origin,
      path: url.search ? `${url.pathname}${url.search}` : url.pathname,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers as Record<string, string>,
      body: req.body,
      headersTimeout: route.timeouts.headers,
      bodyTimeout: route.timeouts.idle,
    }, handler)
  })
}

function abortReason(signal: UpstreamRequest['signal']): unknown {
  return signal.reason ?? new errors.RequestAbortedError()
}

/** undici's handler for one upstream call: settles the promise at the headers, then feeds the body. */
class UpstreamCall implements Dispatcher.DispatchHandler {
  /** undici's: typed for Errors, it hands any reason on to `onError` as is (the kernel's timeout is a symbol). */
  #abort: ((reason?: Error) => void) | undefined
  /** Made when the headers came, which also settled the promise. */
  #body: UpstreamBody | undefined

  constructor(
    private readonly signal: UpstreamRequest['signal'],
    private readonly resolve: (response: RawUpstreamResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    signal.once('abort', this.#onAbort)
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.signal.aborted) abort(abortReason(this.signal) as Error)
    else this.#abort = abort
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx (100 Continue, 103 Early Hints) are not the answer.
    if (status < 200) return true
    const body = new UpstreamBody(resume, (reason) => this.#abort?.(reason as Error))
    this.#body = body
    this.resolve({ status, headers: parseHeaders(rawHeaders), body })
    return true
  }

  onData(chunk: Buffer): boolean {
    return this.#body!.push(chunk)
  }

  onComplete(): void {
    this.signal.off('abort', this.#onAbort)
    this.#body!.finish()
  }

  onError(error: Error): void {
    this.signal.off('abort', this.#onAbort)
    if (this.#body) this.#body.fail(error)
    else this.reject(error)
  }

  #onAbort = (): void => {
    this.#abort?.(abortReason(this.signal) as Error)
  }
}

/** Response headers as undici's `request()` gives them: lowercase names, repeated ones as arrays. */
function parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase()
    // A header named like an Object.prototype member must not reach the prototype.
    if (name === '__proto__') continue
    const value = raw[i + 1]!.toString('latin1')
    const seen = Object.hasOwn(headers, name) ? headers[name] : undefined
    if (seen === undefined) headers[name] = value
    else if (typeof seen === 'string') headers[name] = [seen, value]
    else seen.push(value)
  }
  return headers
}

/** Closes the pooled connections of routes whose config is retired (reload, shutdown). */
export async function closeUpstreams(routes: readonly ResolvedRoute[]): Promise<void> {
  const open: Dispatcher[] = []
  for (const route of routes) {
    const dispatcher = byRoute.get(route)
    if (dispatcher) open.push(dispatcher)
    byRoute.delete(route)
  }
  await Promise.allSettled(open.map((d) => d.close()))
}
