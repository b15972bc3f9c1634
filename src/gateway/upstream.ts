import type { Readable } from 'node:stream'
import { Agent, EnvHttpProxyAgent, errors, ProxyAgent, util, type Dispatcher } from 'undici'
import type { ResolvedRoute } from '../config/types.ts'
import type { RequestAbort } from './abort.ts'
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
  /** The target's base URL (`https://api.openai.com`, `http://host:8080/prefix`). */
  target: string
  /** Path and query to append to the target. */
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string | Buffer | Readable | null
  /** Aborts the upstream call. */
  signal: Pick<RequestAbort, 'aborted' | 'reason' | 'once' | 'off'>
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
    const { origin, path } = upstreamURL(req.target, req.path)
    const handler = new UpstreamCall(req.signal, resolve, reject)
    dispatcherFor(route).dispatch({
      origin,
      path,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers as Record<string, string>,
      body: req.body,
      headersTimeout: route.timeouts.headers,
      bodyTimeout: route.timeouts.idle,
    }, handler)
  })
}

/** A target's origin and path prefix, split once per target rather than parsed per request. */
const targetParts = new Map<string, { origin: string; prefix: string }>()

/**
 * A path and query that WHATWG URL parsing leaves as they are (nothing to percent-encode, no dot
 * segment, encoded or not, no backslash or fragment): appended to the target unparsed.
 */
const PLAIN_PATH = /^(?!.*%2e)(?:\/(?!\.)[\w\-.~%!$&()*+,;=:@]*)+(?:\?[\w\-.~%!$&()*+,;=:@/?]*)?$/i

/**
 * Where an attempt goes, exactly as undici's `request(target + path)` would parse it: a target is
 * split once, and a plain path is appended to it without a URL parse per request.
 */
export function upstreamURL(target: string, path: string): { origin: string; path: string } {
  let parts = targetParts.get(target)
  if (parts === undefined) {
    const url = new URL(target)
    // Only a target that is its origin and path as written; one with a query, a fragment or anything
    // the parser rewrites is parsed with its path every time.
    const prefix = target === url.origin ? '' : target === url.origin + url.pathname ? url.pathname : undefined
    if (prefix === undefined || targetParts.size >= 256) return parsed(target + path)
    targetParts.set(target, (parts = { origin: url.origin, prefix }))
  }
  if (path === '') return { origin: parts.origin, path: parts.prefix || '/' }
  if (!PLAIN_PATH.test(path)) return parsed(target + path)
  return { origin: parts.origin, path: parts.prefix + path }
}

function parsed(href: string): { origin: string; path: string } {
  const url = new URL(href)
  return { origin: url.origin, path: url.search ? `${url.pathname}${url.search}` : url.pathname }
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

/** `Buffer#latin1Slice`: what `toString('latin1')` calls, without its lookup of the encoding by name. */
type Latin1Bytes = Buffer & { latin1Slice(start: number, end: number): string }

/**
 * Response headers with lowercase names, repeated ones as arrays, values byte for byte (latin1, as
 * Node writes them back). Names go through undici's own lookup, which returns the common ones
 * without making and lowercasing a string: a response's dozen headers cost less that way.
 */
function parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = util.headerNameToString(raw[i]!)
    // A header named like an Object.prototype member must not reach the prototype.
    if (name === '__proto__') continue
    const bytes = raw[i + 1] as Latin1Bytes
    const value = bytes.latin1Slice(0, bytes.length)
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
