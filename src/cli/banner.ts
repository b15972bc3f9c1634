import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig } from '../config/types.ts'
import type { ListenerURL } from '../listen.ts'
import type { ForwardPlugin } from '../plugin/types.ts'

/** A URL as it may be shown: without credentials. */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    return parsed.href.replace(/\/$/, '')
  } catch {
    return '(invalid url)'
  }
}

/** The dashboard's line in the banner. */
export interface WebuiBanner {
  url: string
  /** Shown only when generated at start: a token from the config or environment is not printed. */
  token: string | undefined
  editConfig: boolean
  workers?: number
}

function webuiLines(webui: WebuiBanner): string[] {
  const lines = [
    webui.token
      ? `dashboard: ${webui.url}/?token=${webui.token}  (token generated for this run; set AIFD_ADMIN_TOKEN to choose one)`
      : `dashboard: ${webui.url}  (admin token from webui.token / AIFD_ADMIN_TOKEN)`,
    `metrics:   ${webui.url}/metrics  (Authorization: Bearer <admin token>)`,
  ]
  if (webui.editConfig) lines.push('  config editing is on: whoever has the admin token can change and run the config file')
  if ((webui.workers ?? 1) > 1) lines.push(`  ⚠ the dashboard and /metrics show worker 1 of ${webui.workers} only`)
  return lines
}

/** What the banner says about the listener and the run. */
export interface BannerInfo {
  version: string
  mode: string
  /** The address bound, e.g. `0.0.0.0:8000`. */
  address: string
  /** listhen's URLs: local, and one per interface when bound to all of them. */
  urls: ListenerURL[]
  workers?: number
  webui?: WebuiBanner
}

function pluginLine(plugin: ForwardPlugin): string {
  return `${plugin.name}${plugin.describe ? `: ${plugin.describe()}` : ''}`
}

function storageLine(config: ResolvedConfig): string {
  return config.storage.driver === 'redis'
    ? `redis ${displayUrl(config.storage.url ?? 'redis://(cluster)')}`
    : config.storage.driver === 'fs' ? `fs ${config.storage.base}` : 'memory'
}

function perWorkerWarning(config: ResolvedConfig, workers: number | undefined): string | undefined {
  if (config.storage.driver === 'redis' || (workers ?? 1) <= 1) return undefined
  return `${workers} workers on ${config.storage.driver} storage: rate limits, token budgets and cache are per worker. Use redis to share them.`
}

function everyInterface(address: string): boolean {
  return address.startsWith('0.0.0.0:') || address.startsWith('[::]:')
}

/**
 * The startup banner: version, where it listens (the bound address, and every URL it answers on,
 * as listhen lists them), routes and handlers with their plugins, storage. Never a key. On a
 * terminal a box; in JSON logs one `info` line whose fields a log pipeline can index.
 */
export function printBanner(log: ConsolaInstance, config: ResolvedConfig, info: BannerInfo, json: boolean): void {
  const storage = storageLine(config)
  const warning = perWorkerWarning(config, info.workers)
  if (json) {
    const summary = `openai-forward ${info.version} · ${info.mode} · listening on ${info.address} · ${config.routes.length} route${config.routes.length === 1 ? '' : 's'} · storage: ${storage}`
    log.info(summary, {
      event: 'started',
      version: info.version,
      mode: info.mode,
      address: info.address,
      urls: { local: info.urls.filter((u) => u.type === 'local').map((u) => u.url), network: info.urls.filter((u) => u.type === 'network').map((u) => u.url) },
      config: config.configFile,
      routes: config.routes.map((route) => ({
        name: route.name, path: route.prefix || '/', type: route.type, dialect: route.dialect,
        targets: route.targets.map((t) => displayUrl(t.url)), plugins: route.plugins.map(pluginLine),
      })),
      handlers: config.handlers.map((h) => ({ name: h.name, path: h.path, method: h.method ?? 'any', plugins: h.route.plugins.map(pluginLine) })),
      globalPlugins: config.globalPlugins.map(pluginLine),
      storage,
      workers: info.workers ?? 1,
      ...(info.webui && { webui: { url: info.webui.url, tokenGenerated: info.webui.token !== undefined, editConfig: info.webui.editConfig } }),
      ...(warning && { warning }),
    })
    // The generated admin token is for the operator's eyes: on its own line, as the terminal shows it.
    if (info.webui?.token) log.info(`dashboard: ${info.webui.url}/?token=${info.webui.token}`)
    return
  }
  const lines: string[] = [`openai-forward ${info.version} · ${info.mode}`, `listening on ${info.address}${everyInterface(info.address) ? ' (every interface)' : ''}`]
  for (const { url, type } of info.urls) lines.push(`  ➜ ${type === 'local' ? 'Local:  ' : 'Network:'} ${url}`)
  if (config.configFile) lines.push(`config: ${config.configFile}`)
  if (info.webui) lines.push(...webuiLines(info.webui))
  lines.push('', 'routes:')
  for (const route of config.routes) {
    const targets = route.targets.map((t) => displayUrl(t.url)).join(', ')
    lines.push(`  ${route.name}  ${route.prefix || '/'} → ${targets}  (${route.type}${route.dialect ? `/${route.dialect}` : ''})`)
    for (const plugin of route.plugins) lines.push(`    · ${pluginLine(plugin)}`)
  }
  if (config.handlers.length > 0) {
    lines.push('', 'handlers:')
    for (const h of config.handlers) {
      lines.push(`  ${h.name}  ${h.method ?? 'any'} ${h.path}`)
      for (const plugin of h.route.plugins) lines.push(`    · ${pluginLine(plugin)}`)
    }
  }
  if (config.globalPlugins.length > 0) {
    lines.push('', 'plugins on every route:')
    for (const plugin of config.globalPlugins) lines.push(`  · ${pluginLine(plugin)}`)
  }
  lines.push('', `storage: ${storage}`)
  if (warning) lines.push(`  ⚠ ${warning}`)
  log.box({ title: 'aifd', message: lines.join('\n') })
}
