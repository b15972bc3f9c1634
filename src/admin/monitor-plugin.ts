import { definePlugin, type ForwardPlugin, type ResolvedConfig } from '../index.ts'
import { requestSlot } from '../plugin/slot.ts'
import type { MonitorHub } from './hub.ts'

/** Per-request flags, so a gauge is only taken back for what this plugin counted. */
interface Tracked {
  stream: boolean
}

const tracked = requestSlot<Tracked>('monitor')

function isEventStream(type: string | string[] | undefined): boolean {
  return typeof type === 'string' && type.startsWith('text/event-stream')
}

/**
 * Records every exchange into a `MonitorHub` for the dashboard and /metrics. Put it first among the
 * global plugins (the CLI does, with `--webui`), so it sees every request, also those a later plugin
 * refuses: a plugin that answers early skips later `onRequest` hooks, but every `onResponse` runs.
 *
 * It parses each JSON request body (the conversation view and the model label need it): that costs
 * CPU, which is why the plugin is only installed while the dashboard is on.
 */
export const monitor = definePlugin((hub: MonitorHub): ForwardPlugin => {
  const plugin = recorder(hub)
  hubOf.set(plugin, hub)
  return plugin
})

/** Which hub a monitor plugin records into, to tell whether a config already has this hub's. */
const hubOf = new WeakMap<ForwardPlugin, MonitorHub>()

/**
 * The config with `monitor(hub)` as its first global plugin, unless it already records into `hub`.
 * Applied to every config the gateway loads while the dashboard is on (start, reload, editor), since
 * a config file does not name the hub.
 */
export function withMonitor(config: ResolvedConfig, hub: MonitorHub): ResolvedConfig {
  if (config.globalPlugins.some((plugin) => hubOf.get(plugin) === hub)) return config
  return { ...config, globalPlugins: [monitor(hub), ...config.globalPlugins] }
}

const recorder = (hub: MonitorHub): ForwardPlugin => ({
  name: 'monitor',
  describe: () => `live log of the last ${hub.exchanges.capacity} exchanges, charts, /metrics`,

  async onRequest(ctx) {
    tracked.set(ctx, { stream: false })
    hub.requestStarted()
    if (!ctx.hasJsonBody) return
    try {
      await ctx.json()
    } catch {
      // Not JSON after all: the body is forwarded unchanged, as it would be without the dashboard.
    }
  },

  afterUpstream(ctx, response) {
    const state = tracked.get(ctx)
    if (!state || state.stream || response.status >= 300 || !isEventStream(response.headers['content-type'])) return
    state.stream = true
    hub.streamOpened()
  },

  onResponse(ctx, result) {
    const state = tracked.get(ctx)
    if (state) {
      hub.requestEnded()
      if (state.stream) hub.streamClosed()
    }
    hub.record(ctx, result)
  },
})
