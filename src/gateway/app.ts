import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { H3, HTTPError, type H3Event } from 'h3'
import { NodeRequest, sendNodeResponse } from 'srvx/node'
import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig, ResolvedHandler } from '../config/types.ts'
import { jsonResponse } from '../plugin/respond.ts'
import { answerPreflight, corsHeaders, isPreflight } from './cors.ts'
import { ForwardError } from './errors.ts'
import { continueIfFits } from './expect-continue.ts'
import { forward } from './forward.ts'
import { closeAfterResponse } from './lingering-close.ts'
import { handleCustom } from './custom-handler.ts'
import type { RoutePipeline } from './pipeline.ts'
import { normalizePath } from './paths.ts'
import { refuseUpgrade } from './upgrade.ts'

/**
 * h3's "the response was written to Node directly" value (`kHandled`, a registered symbol): a
 * forwarded route writes its answer itself, chunk by chunk, and tells h3 so when it has ended.
 */
const HANDLED = Symbol.for('h3.handled')

/** What the app needs from the gateway around it, whatever config it serves. */
export interface GatewayServices {
  readonly log: ConsolaInstance
  /** True once shutdown began: new requests get 503. */
  readonly draining: boolean
  /** Forwards a WebSocket handshake through a route's pipeline (the forwarder loads on first use). */
  upgrade(pipeline: RoutePipeline, event: H3Event, req: IncomingMessage, socket: Duplex, head: Buffer, url: string, upstreamPath: string): Promise<void>
  /** The state `/readyz` reports (storage reachable or not). */
  readiness(): Promise<{ status: 'ready' | 'unready' } & Record<string, unknown>>
}

/** The requests one app is serving, so a retired config is disposed after its last one. */
export interface InFlight {
  inFlight: number
}

/** What `runtime.node` carries for a WebSocket handshake: the socket instead of a response. */
interface NodeRuntime {
  req: IncomingMessage
  res?: ServerResponse
  upgrade?: { socket: Duplex; head: Buffer; taken: boolean }
}

/** The gateway's h3 app for one loaded config, with the Node entry points that feed it. */
export interface GatewayApp {
  readonly app: H3
  /** The Node request listener: every HTTP request enters the h3 app here. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** The Node `'upgrade'` listener: the handshake enters the same app, its route hands the socket on. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
}

/**
 * Sends what the app answered, unless a route already wrote its answer to Node itself (a forwarded
 * response, a preflight): srvx's own sender would end it a second time, and Node builds an error
 * object with a stack trace for that (6% of the bare route's CPU in a profile).
 */
function send(res: ServerResponse, response: Response): void {
  if (res.headersSent || res.destroyed) return
  sendNodeResponse(res as never, response).catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(500).end()
    else res.destroy(error as Error)
  })
}

function fail(res: ServerResponse, error: unknown, log: ConsolaInstance): void {
  log.error('the gateway failed to answer a request:', error)
  if (!res.headersSent) res.writeHead(500).end()
  else res.destroy()
}

function nodeOf(event: H3Event): NodeRuntime {
  return event.runtime!.node as NodeRuntime
}

function queryOf(req: IncomingMessage): string {
  const raw = req.url ?? '/'
  const q = raw.indexOf('?')
  return q === -1 ? '' : raw.slice(q)
}

/** The normalised path, where it differs from the URL's (see normaliseRequestPath). */
const NORMALISED = Symbol('aifd.path')

/**
 * Routes on the path the gateway normalised from the raw request line (not on the URL parser's),
 * so `..` above the root is refused and encoded segments are kept as sent, exactly as forwarded.
 */
function normaliseRequestPath(event: H3Event): void {
  const raw = nodeOf(event).req.url ?? '/'
  const q = raw.indexOf('?')
  const path = normalizePath(q === -1 ? raw : raw.slice(0, q))
  if (path === undefined) throw new ForwardError(400, 'Invalid request path', 'invalid_request_error', 'invalid_path')
  if (path === event.url.pathname) return
  // The URL's setter re-encodes what WHATWG would; the route forwards the path exactly as normalised.
  event.url.pathname = path
  ;(event.context as Record<symbol, unknown>)[NORMALISED] = path
}

function requestPath(event: H3Event): string {
  return ((event.context as Record<symbol, unknown>)[NORMALISED] as string | undefined) ?? event.url.pathname
}

/** An h3 error (or any thrown value) as OpenAI's error shape; 404s name the path. */
function asForwardError(error: HTTPError, event: H3Event, log: ConsolaInstance): ForwardError {
  const cause = error.cause
  if (cause instanceof ForwardError) return cause
  if (error.status === 404 && error.unhandled !== true) return new ForwardError(404, `No route for ${event.url.pathname}`, 'invalid_request_error', 'route_not_found')
  if (error.unhandled) {
    log.error(`${event.req.method} ${event.url.pathname}: a handler threw:`, cause ?? error)
    return new ForwardError(500, 'Internal gateway error', 'api_error', 'internal_error')
  }
  const type = error.status === 401 ? 'authentication_error' : error.status === 403 ? 'permission_error' : error.status === 429 ? 'rate_limit_error' : error.status >= 500 ? 'api_error' : 'invalid_request_error'
  return new ForwardError(error.status, error.message, type, null)
}

/**
 * Builds the h3 app of one config: the gateway's own endpoints, the config's middleware and
 * handlers, and one forwarding handler per route on h3's router (a route's prefix and everything
 * under it). A reload builds a new app; requests in flight finish on the old one.
 */
export function createGatewayApp(config: ResolvedConfig, pipelines: ReadonlyMap<string, RoutePipeline>, host: GatewayServices, counter: InFlight): GatewayApp {
  const { log } = host
  const cors = config.cors
  const app = new H3({
    // Logged in onError, with the request's method and path.
    silent: true,
    // A path with a bad percent-escape (`%zz`) is the upstream's to judge, as a transparent proxy does.
    allowMalformedURL: true,
    onRequest(event) {
      if (host.draining) throw new ForwardError(503, 'The gateway is shutting down', 'api_error', 'shutting_down', { connection: 'close' })
      normaliseRequestPath(event)
    },
    onError(error, event) {
      const node = nodeOf(event)
      if (error.status === 404 && preflight(node)) return HANDLED as never
      // Answered before the body was read (a 404 to an upload): close without a reset.
      if (node.res) closeAfterResponse(node.req, node.res, 0)
      const failure = asForwardError(error, event, log)
      return jsonResponse(failure.status, failure.toJSON(), { ...failure.headers, ...corsHeaders(cors, nodeOf(event).req.headers.origin) })
    },
  })

  // Browsers' CORS preflights are the gateway's to answer, on every path (the upstream is never
  // asked): in each route's handler and for paths no route serves, not as a middleware, which
  // would put one more layer in front of every request.
  const preflight = (node: NodeRuntime): boolean => {
    if (!cors || node.req.method !== 'OPTIONS' || !node.res || !isPreflight(node.req)) return false
    answerPreflight(cors, node.req, node.res)
    return true
  }
  for (const middleware of config.middleware) app.use(middleware)

  app.get('/healthz', () => ({ status: 'ok', pid: process.pid }))
  app.get('/readyz', async (event) => {
    const state = await host.readiness()
    if (state.status !== 'ready') event.res.status = 503
    return state
  })

  for (const handler of config.handlers) mountHandler(app, handler, pipelines.get(handler.route.name)!, log, counter, preflight)

  for (const route of config.routes) {
    const pipeline = pipelines.get(route.name)!
    const prefixLength = route.prefix.length
    const forwardRoute = (event: H3Event) => {
      const node = nodeOf(event)
      if (preflight(node)) return HANDLED
      const path = requestPath(event)
      const query = queryOf(node.req)
      const upstreamPath = path.slice(prefixLength) + query
      if (!node.upgrade) continueIfFits(node.req, node.res!, route.bodyLimit)
      counter.inFlight++
      const done = node.upgrade
        ? (node.upgrade.taken = true, host.upgrade(pipeline, event, node.req, node.upgrade.socket, node.upgrade.head, path + query, upstreamPath))
        : forward({ event, req: node.req, res: node.res!, pipeline, url: path + query, upstreamPath, log, baseHeaders: corsHeaders(cors, node.req.headers.origin) })
      return done.then(() => {
        counter.inFlight--
        return HANDLED
      })
    }
    // The prefix itself and every path under it, whole segments only; h3's router prefers the
    // longest static prefix, so `/a/b` wins over `/a` for `/a/b/c`.
    if (route.prefix !== '') app.all(route.prefix, forwardRoute)
    app.all(`${route.prefix}/**`, forwardRoute)
  }

  return {
    app,
    handler(req, res) {
      const response = app.fetch(new NodeRequest({ req, res }) as unknown as Request)
      if (response instanceof Promise) response.then((r) => send(res, r), (error: unknown) => fail(res, error, log))
      else send(res, response)
    },
    upgrade(req, socket, head) {
      socket.on('error', () => {})
      // A handshake has no ServerResponse: the app sees `runtime.node.upgrade` and a route hands the
      // socket to the WebSocket forwarder; any other answer (404, a middleware's 403) is written raw.
      const upgrade = { socket, head, taken: false }
      const request = new NodeRequest({ req, upgrade } as never)
      Promise.resolve(app.fetch(request as unknown as Request))
        .then((response) => (upgrade.taken ? undefined : refuseUpgrade(socket, response)))
        .catch((error: unknown) => {
          log.error('WebSocket upgrade failed:', error)
          socket.destroy()
        })
    },
  }
}

function mountHandler(app: H3, handler: ResolvedHandler, pipeline: RoutePipeline, log: ConsolaInstance, counter: InFlight, preflight: (node: NodeRuntime) => boolean): void {
  app.on(handler.method ?? '', handler.path, (event) => {
    const node = nodeOf(event)
    if (preflight(node)) return HANDLED
    if (node.upgrade) throw new ForwardError(400, 'This endpoint does not take WebSocket upgrades', 'invalid_request_error', 'unsupported_upgrade')
    continueIfFits(node.req, node.res!, handler.route.bodyLimit)
    counter.inFlight++
    return handleCustom(event, node.req, node.res!, handler, pipeline, log).finally(() => counter.inFlight--)
  })
}
