import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig } from '../config/types.ts'

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

/** The startup banner: version, routes, storage, plugins with their key settings. Never a key. */
export function printBanner(log: ConsolaInstance, config: ResolvedConfig, info: { version: string; url: string; mode: string; workers?: number; webui?: WebuiBanner }): void {
  const lines: string[] = [`openai-forward ${info.version} · ${info.mode} · ${info.url}`]
  if (config.configFile) lines.push(`config: ${config.configFile}`)
  if (info.webui) lines.push(...webuiLines(info.webui))
  lines.push('', 'routes:')
  for (const route of config.routes) {
    const targets = route.targets.map((t) => displayUrl(t.url)).join(', ')
    lines.push(`  ${route.name}  ${route.prefix || '/'} → ${targets}  (${route.type}${route.dialect ? `/${route.dialect}` : ''})`)
    for (const plugin of route.plugins) lines.push(`    · ${plugin.name}${plugin.describe ? `: ${plugin.describe()}` : ''}`)
  }
  if (config.globalPlugins.length > 0) {
    lines.push('', 'plugins on every route:')
    for (const plugin of config.globalPlugins) lines.push(`  · ${plugin.name}${plugin.describe ? `: ${plugin.describe()}` : ''}`)
  }
  const storage = config.storage.driver === 'redis'
    ? `redis ${displayUrl(config.storage.url ?? 'redis://(cluster)')}`
    : config.storage.driver === 'fs' ? `fs ${config.storage.base}` : 'memory'
  lines.push('', `storage: ${storage}`)
  if (config.storage.driver !== 'redis' && (info.workers ?? 1) > 1) {
    lines.push(`  ⚠ ${info.workers} workers on ${config.storage.driver} storage: rate limits, token budgets and cache are per worker. Use redis to share them.`)
  }
  log.box({ title: 'aifd', message: lines.join('\n') })
}
