import { Agent, EnvHttpProxyAgent, ProxyAgent, request, type Dispatcher } from 'undici'
import type { Readable } from 'node:stream'
import type { ResolvedRoute } from '../config/types.ts'

/**
 * One pooled dispatcher per (connect timeout, proxy): undici's Agent keeps a keep-alive pool per
 * origin inside it, so every route to the same upstream shares warm connections.
 */
const dispatchers = new Map<string, Dispatcher>()

function hasProxyEnv(): boolean {
  return Boolean(process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy)
}

function dispatcherFor(route: ResolvedRoute): Dispatcher {
  const proxy = route.proxy
  const useEnv = !proxy && hasProxyEnv()
  const key = `${route.timeouts.connect}|${proxy ?? (useEnv ? 'env' : '')}`
  let dispatcher = dispatchers.get(key)
  if (!dispatcher) {
    const options = { connect: { timeout: route.timeouts.connect }, keepAliveTimeout: 30_000, connections: null }
    dispatcher = proxy
      ? new ProxyAgent({ uri: proxy, ...options })
      : useEnv
        ? new EnvHttpProxyAgent(options)
        : new Agent(options)
    dispatchers.set(key, dispatcher)
  }
  return dispatcher
}

export interface UpstreamRequest {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: string | Buffer | Readable | null
  signal: AbortSignal
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

/** Closes every pooled connection (shutdown). */
export async function closeUpstreams(): Promise<void> {
  const all = [...dispatchers.values()]
  dispatchers.clear()
  await Promise.allSettled(all.map((d) => d.close()))
}
