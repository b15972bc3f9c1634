import cluster from 'node:cluster'
import { dirname } from 'node:path'
import { watch, type FSWatcher } from 'node:fs'
import type { ConsolaInstance } from 'consola'
import { loadForwardConfig } from '../config/load.ts'
import type { ResolvedConfig } from '../config/types.ts'
import { createLogger } from '../logger.ts'
import { startGateway, type RunningGateway } from '../server.ts'
import { createMonitorHub, startAdmin, withMonitor, type RunningAdmin } from '../admin/index.ts'
import { serverOverrides, type ServeFlags } from './args.ts'
import { printBanner } from './banner.ts'
import { onShutdownSignal } from './signals.ts'
import { packageVersion } from './version.ts'

export interface ServeOptions extends ServeFlags {
  mode: 'run' | 'dev'
  /** Number of workers this process is one of (for the banner's warning). */
  workers?: number
  /** Print the banner (the cluster primary prints it once instead). */
  banner?: boolean
  /** Serve the dashboard and /metrics on the admin listener (`--webui`). */
  webui?: boolean
}

/** Files whose change reloads the config in dev: the config, `.env`, and the code it imports. */
const WATCHED = /\.(ts|mts|cts|js|mjs|cjs|json)$|(^|[/\\])\.env/
const IGNORED = /(^|[/\\])(node_modules|\.git|dist|Log|\.data|coverage)([/\\]|$)|\.aifd-reload-/

/** Loads the config and serves it until a signal; in dev mode also watches and hot-reloads. */
export async function serve(options: ServeOptions): Promise<RunningGateway> {
  if (options.mode === 'dev') process.env.NODE_ENV ??= 'development'
  // With workers, one of them serves the dashboard (it shows that worker's traffic).
  const hub = options.webui && (!cluster.isWorker || cluster.worker?.id === 1) ? createMonitorHub() : undefined
  const prepare = (config: ResolvedConfig) => (hub ? withMonitor(config, hub) : config)
  const loadFile = (configFile: string | undefined, fresh: boolean) => loadForwardConfig({ configFile, overrides: { server: serverOverrides(options) }, fresh }).then(prepare)
  const load = (fresh: boolean) => loadFile(options.config, fresh)
  let config: ResolvedConfig
  try {
    config = await load(false)
  } catch (error) {
    exitOnConfigError(error)
  }
  // Production logs are JSON lines unless a person watches; dev always talks to a person.
  const json = options.mode === 'run' && !process.stdout.isTTY
  const log = createLogger(config.logLevel, json)
  let running: RunningGateway
  try {
    running = await startGateway(config, { mode: options.mode, log })
  } catch (error) {
    exitOnListenError(error)
  }
  let admin: RunningAdmin | undefined
  if (hub) {
    try {
      admin = await startAdmin({ gateway: running, hub, log, loadConfig: (file) => loadFile(file, true) })
    } catch (error) {
      await running.close(0)
      console.error(`aifd: ${(error as Error).message}`)
      process.exit(1)
    }
  }
  if (options.banner !== false) {
    const webui = admin && { url: admin.url, token: admin.tokenGenerated ? admin.token : undefined, editConfig: config.webui.editConfig === true, workers: options.workers }
    printBanner(log, config, { version: packageVersion(), address: running.address, urls: running.urls, mode: options.mode, workers: options.workers, webui }, json)
  }
  let watcher: FSWatcher | undefined
  if (options.mode === 'dev') watcher = watchAndReload(running, config, () => load(true), log)
  onShutdownSignal(async () => {
    watcher?.close()
    await admin?.close()
    await running.close()
  }, log)
  return running
}

/**
 * A config that cannot be used at startup is one clear line and exit code 1, not a stack trace
 * (citty's runMain catches errors itself and would print the whole object).
 */
function exitOnConfigError(error: unknown): never {
  if (error instanceof Error && (error.name === 'ConfigError' || error.message.startsWith('--port:'))) {
    console.error(`aifd: ${error.message}`)
    process.exit(1)
  }
  throw error
}

/** A port that is taken is one clear line naming it and exit code 1 (never a move to another port). */
function exitOnListenError(error: unknown): never {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error(`aifd: ${(error as Error).message}`)
    process.exit(1)
  }
  throw error
}

/**
 * Reloads on any change under the config's folder. A config that fails to load keeps the old one
 * serving; the error is printed and kept for the dashboard. Only a new host or port re-listens.
 */
function watchAndReload(running: RunningGateway, initial: ResolvedConfig, load: () => Promise<ResolvedConfig>, log: ConsolaInstance): FSWatcher {
  const folder = initial.configFile ? dirname(initial.configFile) : process.cwd()
  let current = initial
  let timer: NodeJS.Timeout | undefined
  let reloading = Promise.resolve()
  const reload = async () => {
    try {
      const next = await load()
      await running.gateway.reload(next)
      if (next.server.port !== current.server.port || next.server.host !== current.server.host) {
        await running.relisten(next.server.host, next.server.port)
        log.info(`listening on ${running.address}`)
      }
      current = next
      log.success(`config reloaded (${next.routes.length} route${next.routes.length === 1 ? '' : 's'})`)
    } catch (error) {
      running.gateway.lastReloadError = error as Error
      log.error(`config reload failed; still serving the previous config.\n${(error as Error).message}`)
    }
  }
  const watcher = watch(folder, { recursive: true }, (_event, file) => {
    if (!file || IGNORED.test(file) || !WATCHED.test(file)) return
    clearTimeout(timer)
    timer = setTimeout(() => (reloading = reloading.then(reload)), 100)
  })
  log.info(`watching ${folder} for changes`)
  return watcher
}
