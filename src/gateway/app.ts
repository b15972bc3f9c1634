import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { H3, type H3Event } from 'h3'
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
import { asForwardError } from './h3-errors.ts'
import { HANDLED, nodeEntry, nodeOf, writeResponse, type NodeRuntime } from './h3-node.ts'
import { normaliseRequestPath, queryOf, requestPath } from './request-path.ts'

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

/** The gateway's h3 app for one loaded config, with the Node entry points that feed it. */
export interface GatewayApp {
  readonly app: H3
  /** The Node request listener: every HTTP request enters the h3 app here. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** The Node `'upgrade'` listener: the handshake enters the same app, its route hands the socket on. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
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
      return errorResponse(asForwardError(error, event, log), event)
    },
  })

  const errorResponse = (failure: ForwardError, event: H3Event): Response =>
    jsonResponse(failure.status, failure.toJSON(), { ...failure.headers, ...corsHeaders(cors, nodeOf(event).req.headers.origin) })

  /** A forward that failed after h3 was told it handled the request: answered as `onError` would have. */
  const answerLate = (event: H3Event, error: unknown) => {
    const { res } = nodeOf(event)
    if (!(error instanceof ForwardError)) log.error(`${event.req.method} ${requestPath(event)}: the forward failed:`, error)
    const failure = error instanceof ForwardError ? error : new ForwardError(500, 'Internal gateway error', 'api_error', 'internal_error')
    if (!res || res.headersSent) res?.destroy()
    else writeResponse(res, errorResponse(failure, event))
  }

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
    const settled = () => {
      counter.inFlight--
    }
    const forwardRoute = (event: H3Event) => {
      const node = nodeOf(event)
      if (preflight(node)) return HANDLED
      const path = requestPath(event)
      const query = queryOf(node.req)
      const upstreamPath = path.slice(prefixLength) + query
      if (!node.upgrade) continueIfFits(node.req, node.res!, route.bodyLimit)
      counter.inFlight++
      if (node.upgrade) {
        node.upgrade.taken = true
        return host.upgrade(pipeline, event, node.req, node.upgrade.socket, node.upgrade.head, path + query, upstreamPath)
          .finally(settled)
          .then(() => HANDLED)
      }
      // The forward writes its answer to Node itself and answers its own errors; h3 is told at once
      // that the response is handled, so no promise runs through h3's response chain and ours.
      node.taken = true
      forward({ event, req: node.req, res: node.res!, pipeline, url: path + query, upstreamPath, log, baseHeaders: corsHeaders(cors, node.req.headers.origin) })
        .then(settled, (error: unknown) => {
          settled()
          answerLate(event, error)
        })
      return HANDLED
    }
    // The prefix itself and every path under it, whole segments only; h3's router prefers the
    // longest static prefix, so `/a/b` wins over `/a` for `/a/b/c`.
    if (route.prefix !== '') app.all(route.prefix, forwardRoute)
    app.all(`${route.prefix}/**`, forwardRoute)
  }

  return { app, ...nodeEntry(app, log) }
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
