import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig, ResolvedRoute } from '../config/types.ts'
import type { ForwardPlugin } from '../plugin/types.ts'
import type { GatewayStorage } from '../storage/create.ts'
import { createGatewayApp, type GatewayApp, type GatewayServices } from './app.ts'
import { openCorsWarning } from './cors.ts'
import { buildPipeline, type RoutePipeline } from './pipeline.ts'
import { closeUpstreams } from './upstream.ts'

type Disposer = () => void | Promise<void>

/**
 * Everything built from one loaded config: a pipeline per route and handler, the h3 app that
 * routes to them, and the plugins set up. `aifd dev` builds a new one on reload and swaps it in;
 * requests in flight finish on the old one.
 */
export class GatewayRuntime {
  readonly pipelines = new Map<string, RoutePipeline>()
  readonly app: GatewayApp
  /** Requests being served by this runtime. */
  inFlight = 0
  #disposers: Disposer[] = []

  constructor(
    readonly config: ResolvedConfig,
    readonly storage: GatewayStorage,
    readonly log: ConsolaInstance,
    services: GatewayServices,
  ) {
    for (const route of this.#routes()) this.pipelines.set(route.name, buildPipeline(route, config.globalPlugins))
    this.app = createGatewayApp(config, this.pipelines, services, this)
  }

  /** The forwarded routes and the handlers' routes (what plugins are set up for). */
  #routes(): ResolvedRoute[] {
    return [...this.config.routes, ...this.config.handlers.map((h) => h.route)]
  }

  /** Runs every plugin's `setup` (global ones once, route ones per route). */
  async setup(mode: 'run' | 'dev'): Promise<void> {
    const run = async (plugin: ForwardPlugin, route: ResolvedConfig['routes'][number] | undefined) => {
      if (!plugin.setup) return
      const dispose = await plugin.setup({
        route,
        routes: this.config.routes,
        storage: this.storage.forPlugin(plugin.name),
        log: this.log.withTag(plugin.name),
        mode,
      })
      if (typeof dispose === 'function') this.#disposers.push(dispose)
    }
    for (const plugin of this.config.globalPlugins) await run(plugin, undefined)
    for (const route of this.#routes()) for (const plugin of route.plugins) await run(plugin, route)
    const cors = openCorsWarning(this.config)
    if (cors) this.log.warn(cors)
  }

  /** Runs the plugins' disposers and closes upstream connections (after the last in-flight request, on reload or exit). */
  async dispose(): Promise<void> {
    const disposers = this.#disposers.splice(0)
    for (const dispose of disposers.reverse()) {
      try {
        await dispose()
      } catch (error) {
        this.log.error('plugin dispose failed:', error)
      }
    }
    await closeUpstreams(this.config.routes)
  }
}
