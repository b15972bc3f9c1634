import { basename, dirname, join, resolve } from 'node:path'
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs'
import { loadConfig } from 'c12'
import { collectingPluginErrors } from '../plugin/failed.ts'
import { ConfigError } from './errors.ts'
import { resolveConfig } from './resolve.ts'
import type { ForwardConfig, ResolvedConfig } from './types.ts'

export interface LoadOptions {
  /** Folder to look in for `forward.config.*` and `.env`. Default `process.cwd()`. */
  cwd?: string
  /** An explicit config file (relative to `cwd`). */
  configFile?: string
  /** Values that win over the file (CLI flags). */
  overrides?: ForwardConfig
  /**
   * Load every imported module afresh instead of from the module cache, so that edits to
   * plugin files the config imports take effect (`aifd dev`).
   */
  fresh?: boolean
}

let reloads = 0

/** c12's order of preference for config file extensions. */
const EXTENSIONS = ['.js', '.ts', '.mjs', '.cjs', '.mts', '.cts', '.json', '.jsonc', '.json5', '.yaml', '.yml', '.toml']

/** The `forward.config.*` file c12 picks in `cwd`, to name it when it fails to load. */
function configFileIn(cwd: string): string | undefined {
  if (!existsSync(cwd)) return undefined
  const names = new Set(readdirSync(cwd))
  const ext = EXTENSIONS.find((e) => names.has(`forward.config${e}`))
  return ext && join(cwd, `forward.config${ext}`)
}

/**
 * Loads `forward.config.{ts,mjs,js,json}` with c12 (`.env` first, `$development`/`$production`
 * overrides), then applies defaults and validates. Throws `ConfigError` naming the field and file.
 */
export async function loadForwardConfig(options: LoadOptions = {}): Promise<ResolvedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd())
  if (options.configFile && !existsSync(resolve(cwd, options.configFile))) {
    throw new ConfigError('--config', `no such file: ${resolve(cwd, options.configFile)}`)
  }
  const file = options.configFile ? resolve(cwd, options.configFile) : undefined
  // Node caches native ES modules by URL for the life of the process, so a fresh load of a
  // .mjs/.js config reads a copy under a new name (next to it, so its relative imports still work).
  const copy = options.fresh && file && /\.m?js$/.test(file) ? join(dirname(file), `.aifd-reload-${process.pid}-${++reloads}-${basename(file)}`) : undefined
  let loaded
  try {
    if (copy) copyFileSync(file!, copy)
    // Plugin factories keep their option errors on the plugins they return while the file runs, so
    // resolveConfig can report them at their positions along with every other problem.
    loaded = await collectingPluginErrors(() => loadConfig<ForwardConfig>({
      name: 'forward',
      cwd,
      configFile: copy ?? file,
      rcFile: false,
      globalRc: false,
      packageJson: false,
      dotenv: { cwd },
      envName: process.env.NODE_ENV === 'production' ? 'production' : 'development',
      jitiOptions: options.fresh ? { moduleCache: false, fsCache: false } : undefined,
    }))
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new ConfigError('', `could not load the config: ${copy ? message.replaceAll(copy, file!) : message}`, file ?? configFileIn(cwd) ?? cwd)
  } finally {
    if (copy) rmSync(copy, { force: true })
  }
  const loadedFile = copy ? file : loaded.configFile
  const resolved = resolveConfig(loaded.config, loadedFile && existsSync(loadedFile) ? loadedFile : undefined)
  return applyOverrides(resolved, options.overrides)
}

function applyOverrides(config: ResolvedConfig, overrides: ForwardConfig | undefined): ResolvedConfig {
  if (!overrides?.server) return config
  const { port, host } = overrides.server
  return { ...config, server: { ...config.server, ...(port !== undefined && { port }), ...(host !== undefined && { host }) } }
}
