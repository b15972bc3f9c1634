import { Agent, EnvHttpProxyAgent, ProxyAgent, request, type Dispatcher } from 'undici'
import type { Readable } from 'node:stream'
import type { ResolvedRoute } from '../config/types.ts'

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
  /** Aborts the upstream call (an EventEmitter emitting 'abort', as undici accepts). */
  signal: import('node:events').EventEmitter & { aborted: boolean }
}

export interface RawUpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
}

/** Sends one request upstream with the route's timeouts; resolves when the response headers arrive. */
export async function sendUpstream(route: ResolvedRoute, req: UpstreamRequest): Promise<RawUpstreamResponse> {
  const response = await request(req.url, {
    method: req.method as Dispatcher.HttpMethod,
    headers: req.headers as Record<string, string>,
    body: req.body,
    signal: req.signal,
    dispatcher: dispatcherFor(route),
    headersTimeout: route.timeouts.headers,
    bodyTimeout: route.timeouts.idle,
  })
  return { status: response.statusCode, headers: response.headers, body: response.body as unknown as Readable }
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
