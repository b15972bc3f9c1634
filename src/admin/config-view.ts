import type { Gateway, ForwardPlugin, ResolvedConfig } from '../index.ts'
import { safeUrl } from './exchange.ts'

/** A plugin as the config page lists it: its name and its own one-line description. */
export interface PluginView {
  name: string
  describe: string | undefined
}

/** What the config page shows. Never a key: targets lose credentials and query, plugins describe themselves. */
export interface ConfigView {
  file: string | undefined
  loadedAt: string
  mode: 'run' | 'dev'
  lastReloadError: string | undefined
  storage: string
  routes: { name: string; path: string; type: string; dialect: string | undefined; targets: string[]; plugins: PluginView[] }[]
  globalPlugins: PluginView[]
  editable: boolean
  /** The file's text, only when editing is on. */
  source?: string
}

function pluginView(plugin: ForwardPlugin): PluginView {
  let describe: string | undefined
  try {
    describe = plugin.describe?.()
  } catch {
    describe = undefined
  }
  return { name: plugin.name, describe }
}

export function configView(gateway: Gateway, editable: boolean): ConfigView {
  const config: ResolvedConfig = gateway.config
  return {
    file: config.configFile,
    loadedAt: config.loadedAt.toISOString(),
    mode: gateway.mode,
    lastReloadError: gateway.lastReloadError?.message,
    storage: config.storage.driver,
    routes: config.routes.map((route) => ({
      name: route.name,
      path: route.prefix || '/',
      type: route.type,
      dialect: route.dialect,
      targets: route.targets.map((t) => safeUrl(t.url) ?? '(invalid url)'),
      plugins: route.plugins.map(pluginView),
    })),
    globalPlugins: config.globalPlugins.map(pluginView),
    editable,
  }
}
