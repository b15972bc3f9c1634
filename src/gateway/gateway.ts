import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ConsolaInstance } from 'consola'
import type { H3, H3Event } from 'h3'
import type { ResolvedConfig, StorageConfig } from '../config/types.ts'
import { createGatewayStorage, type GatewayStorage } from '../storage/create.ts'
import type { GatewayServices } from './app.ts'
import { expectsContinue } from './expect-continue.ts'
import type { RoutePipeline } from './pipeline.ts'
import { GatewayRuntime } from './runtime.ts'
import type { UpgradeHandler, WebSocketForwarder } from './websocket.ts'

export interface GatewayOptions {
  mode?: 'run' | 'dev'
  log: ConsolaInstance
}

function sameStorage(a: StorageConfig, b: StorageConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * The gateway: holds the h3 app of the config it serves (every request enters it), the storage,
 * and the requests in flight; swaps in a new app and pipeline on reload.
 */
export class Gateway implements GatewayServices {
  readonly log: ConsolaInstance
  readonly mode: 'run' | 'dev'
  #runtime!: GatewayRuntime
  #storage!: GatewayStorage
  #draining = false
  /** Loaded with `ws` on the first WebSocket request: most gateways never see one. */
  #websockets: Promise<WebSocketForwarder> | undefined
  #retiring: GatewayRuntime[] = []
  /** The last reload's error, if it failed (the previous config keeps serving). */
  lastReloadError: Error | undefined

  private constructor(options: GatewayOptions) {
    this.log = options.log
    this.mode = options.mode ?? 'run'
  }

  /** Builds a gateway for a resolved config and sets up its plugins. */
  static async create(config: ResolvedConfig, options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options)
    gateway.#storage = await createGatewayStorage(config.storage, (message) => options.log.warn(message))
    gateway.#runtime = new GatewayRuntime(config, gateway.#storage, options.log, gateway)
    await gateway.#runtime.setup(gateway.mode)
    return gateway
  }

  get config(): ResolvedConfig {
    return this.#runtime.config
  }

  get storage(): GatewayStorage {
    return this.#storage
  }

  /** The h3 app serving the current config (a reload builds a new one). */
  get app(): H3 {
    return this.#runtime.app.app
  }

  get draining(): boolean {
    return this.#draining
  }

  /** Requests being served right now, across the current and draining runtimes. */
  get inFlight(): number {
    return this.#runtime.inFlight + this.#retiring.reduce((n, r) => n + r.inFlight, 0)
  }

  async readiness(): Promise<{ status: 'ready' | 'unready' } & Record<string, unknown>> {
    try {
      await this.#runtime.storage.ping()
      return { status: 'ready', routes: this.#runtime.config.routes.map((r) => r.name), storage: this.#storage.driver }
    } catch (error) {
      return { status: 'unready', error: `storage unreachable: ${(error as Error).message}` }
    }
  }

  /**
   * Swaps in a new config atomically: new requests use it at once, requests in flight finish on the
   * old one, whose plugins are disposed after its last request. Storage is kept when unchanged, so
   * counters and cache survive a reload.
   */
  async reload(config: ResolvedConfig): Promise<void> {
    const storage = sameStorage(config.storage, this.#runtime.config.storage) ? this.#storage : await createGatewayStorage(config.storage, (message) => this.log.warn(message))
    const next = new GatewayRuntime(config, storage, this.log, this)
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

  /** The Node request listener: every request enters the current config's h3 app. */
  get handler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => this.#runtime.app.handler(req, res)
  }

  /**
   * The Node server's `'checkContinue'` listener (`Expect: 100-continue`): the request enters the h3
   * app like any other; its route sends `100 Continue` only when the announced body fits.
   */
  get continueHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return expectsContinue((req, res) => this.#runtime.app.handler(req, res))
  }

  /** The Node server's `'upgrade'` listener: the handshake enters the same h3 app. */
  get upgradeHandler(): UpgradeHandler {
    return (req, socket, head) => this.#runtime.app.upgrade(req, socket, head)
  }

  upgrade(pipeline: RoutePipeline, event: H3Event, req: IncomingMessage, socket: Duplex, head: Buffer, url: string, upstreamPath: string): Promise<void> {
    this.#websockets ??= import('./websocket.ts').then(({ WebSocketForwarder }) => new WebSocketForwarder(this.log))
    return this.#websockets.then((forwarder) => forwarder.handle(pipeline, event, req, socket, head, url, upstreamPath))
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
