import type { IncomingMessage, ServerResponse } from 'node:http'
import { H3 } from 'h3'
import { toNodeHandler } from 'h3/node'
import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig, StorageConfig } from '../config/types.ts'
import { createGatewayStorage, type GatewayStorage } from '../storage/create.ts'
import { answerPreflight, corsHeaders, isPreflight } from './cors.ts'
import { ForwardError } from './errors.ts'
import { forward } from './forward.ts'
import { checkContinue } from './expect-continue.ts'
import { closeAfterResponse } from './lingering-close.ts'
import { normalizePath } from './router.ts'
import { GatewayRuntime } from './runtime.ts'
import type { UpgradeHandler, WebSocketForwarder } from './websocket.ts'

export interface GatewayOptions {
  mode?: 'run' | 'dev'
  log: ConsolaInstance
}

function sendError(res: ServerResponse, error: ForwardError, extra: Record<string, string> = {}): void {
  closeAfterResponse(res.req, res, 0)
  const body = JSON.stringify(error.toJSON())
  res.writeHead(error.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...error.headers, ...extra })
  res.end(body)
}

/** Paths the gateway answers itself, never forwarded. */
const OWN_PATHS = /^\/(healthz|readyz)(\?|$)/

function sameStorage(a: StorageConfig, b: StorageConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * The gateway: an h3 app that answers health checks and forwards every other request through the
 * pipeline of the route its path names. Holds the current runtime and swaps it on reload.
 */
export class Gateway {
  readonly app: H3
  readonly log: ConsolaInstance
  readonly mode: 'run' | 'dev'
  #runtime!: GatewayRuntime
  #storage!: GatewayStorage
  #draining = false
  /** Loaded with `ws` on the first WebSocket request: most gateways never see one. */
  #websockets: Promise<WebSocketForwarder> | undefined
  /** The last reload's error, if it failed (the previous config keeps serving). */
  lastReloadError: Error | undefined

  private constructor(options: GatewayOptions) {
    this.log = options.log
    this.mode = options.mode ?? 'run'
    this.app = new H3()
      .get('/healthz', () => ({ status: 'ok', pid: process.pid }))
      .get('/readyz', async (event) => {
        try {
          await this.#runtime.storage.ping()
          return { status: 'ready', routes: this.#runtime.config.routes.map((r) => r.name), storage: this.#storage.driver }
        } catch (error) {
          event.res.status = 503
          return { status: 'unready', error: `storage unreachable: ${(error as Error).message}` }
        }
      })
  }

  /** Builds a gateway for a resolved config and sets up its plugins. */
  static async create(config: ResolvedConfig, options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options)
    gateway.#storage = await createGatewayStorage(config.storage, (message) => options.log.warn(message))
    gateway.#runtime = new GatewayRuntime(config, gateway.#storage, options.log)
    await gateway.#runtime.setup(gateway.mode)
    return gateway
  }

  get config(): ResolvedConfig {
    return this.#runtime.config
  }

  get storage(): GatewayStorage {
    return this.#storage
  }

  /** Requests being served right now, across the current and draining runtimes. */
  get inFlight(): number {
    return this.#runtime.inFlight + this.#retiring.reduce((n, r) => n + r.inFlight, 0)
  }

  #retiring: GatewayRuntime[] = []

  /**
   * Swaps in a new config atomically: new requests use it at once, requests in flight finish on the
   * old one, whose plugins are disposed after its last request. Storage is kept when unchanged, so
   * counters and cache survive a reload.
   */
  async reload(config: ResolvedConfig): Promise<void> {
    const storage = sameStorage(config.storage, this.#runtime.config.storage) ? this.#storage : await createGatewayStorage(config.storage, (message) => this.log.warn(message))
    const next = new GatewayRuntime(config, storage, this.log)
    try {
      await next.setup(this.mode)
    } catch (error) {
      await next.dispose()
      if (storage !== this.#storage) await storage.dispose()
      throw error
    }
    const previous = this.#runtime
    const previousStorage = this.#storage
    this.#runtime = next
    this.#storage = storage
    this.lastReloadError = undefined
    this.#retiring.push(previous)
    void this.#retire(previous, previousStorage !== storage ? previousStorage : undefined)
  }

  async #retire(runtime: GatewayRuntime, storage: GatewayStorage | undefined): Promise<void> {
    while (runtime.inFlight > 0) await new Promise((r) => setTimeout(r, 50))
    await runtime.dispose()
    await storage?.dispose()
    this.#retiring = this.#retiring.filter((r) => r !== runtime)
  }

  /**
   * The Node request listener. The gateway's own endpoints (`/healthz`, `/readyz`) are served by the
   * h3 app; every other request goes straight to the forwarding pipeline at the Node level, because
   * the web Request/Response layer costs more CPU per request than the whole forward (see bench/).
   */
  get handler(): (req: IncomingMessage, res: ServerResponse) => void {
    const app = toNodeHandler(this.app) as (req: IncomingMessage, res: ServerResponse) => void
    return (req, res) => {
      const url = req.url ?? '/'
      if (OWN_PATHS.test(url)) app(req, res)
      else void this.handle(req, res)
    }
  }

  /** The Node server's `'checkContinue'` listener: a body announced over its route's limit gets 413 instead of `100 Continue`. */
  get continueHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return checkContinue(() => ({ match: this.#runtime.match, cors: this.#runtime.config.cors }), this.handler)
  }

  /** The Node server's `'upgrade'` listener: forwards WebSocket connections (Realtime API) through the route's pipeline. */
  get upgradeHandler(): UpgradeHandler {
    return (req, socket, head) => {
      if (this.#draining) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
        return
      }
      const runtime = this.#runtime
      this.#websockets ??= import('./websocket.ts').then(({ WebSocketForwarder }) => new WebSocketForwarder(this.log))
      this.#websockets.then((forwarder) => forwarder.handle(runtime, req, socket, head)).catch((error: unknown) => {
        this.log.error('WebSocket forwarding failed:', error)
        socket.destroy()
      })
    }
  }

  /** Forwards one request (Node level, after h3 routed it here). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const runtime = this.#runtime
    const { config } = runtime
    const cors = corsHeaders(config.cors, req.headers.origin)
    if (this.#draining) return sendError(res, new ForwardError(503, 'The gateway is shutting down', 'api_error', 'shutting_down'), { connection: 'close', ...cors })
    if (config.cors && isPreflight(req)) return answerPreflight(config.cors, req, res)
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const path = normalizePath(q === -1 ? raw : raw.slice(0, q))
    if (path === undefined) return sendError(res, new ForwardError(400, 'Invalid request path', 'invalid_request_error', 'invalid_path'), cors)
    const match = runtime.match(path)
    if (!match) return sendError(res, new ForwardError(404, `No route for ${path}`, 'invalid_request_error', 'route_not_found'), cors)
    const query = q === -1 ? '' : raw.slice(q)
    const pipeline = runtime.pipelines.get(match.route.name)!
    runtime.inFlight++
    try {
      await forward({ req, res, pipeline, url: path + query, upstreamPath: (match.rest || '') + query, log: this.log, baseHeaders: cors })
    } catch (error) {
      // forward() handles its own failures; this is a last line so one request never takes the process down.
      this.log.error('unexpected error while forwarding:', error)
      if (!res.headersSent) sendError(res, new ForwardError(500, 'Internal gateway error', 'api_error', 'internal_error'), cors)
      else res.destroy()
    } finally {
      runtime.inFlight--
    }
  }

  /** Stops taking requests, waits for those in flight (up to `graceMs`), then disposes plugins and storage. */
  async shutdown(graceMs: number): Promise<boolean> {
    this.#draining = true
    // A WebSocket session has no natural end: ask its peers to leave (1001) so the drain can finish.
    if (this.#websockets) (await this.#websockets).closeAll()
    const deadline = Date.now() + graceMs
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const drained = this.inFlight === 0
    await this.#runtime.dispose()
    for (const runtime of this.#retiring) await runtime.dispose()
    await this.#storage.dispose()
    return drained
  }
}
