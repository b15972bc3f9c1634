import { resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { loadConfig } from 'c12'
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

/**
 * Loads `forward.config.{ts,mjs,js,json}` with c12 (`.env` first, `$development`/`$production`
 * overrides), then applies defaults and validates. Throws `ConfigError` naming the field and file.
 */
export async function loadForwardConfig(options: LoadOptions = {}): Promise<ResolvedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd())
  if (options.configFile && !existsSync(resolve(cwd, options.configFile))) {
    throw new ConfigError('--config', `no such file: ${resolve(cwd, options.configFile)}`)
  }
  let loaded
  try {
    loaded = await loadConfig<ForwardConfig>({
      name: 'forward',
      cwd,
      configFile: options.configFile ? resolve(cwd, options.configFile).replace(/\.(c|m)?[jt]s$|\.json$/, '') : undefined,
      rcFile: false,
      globalRc: false,
      packageJson: false,
      dotenv: { cwd },
      envName: process.env.NODE_ENV === 'production' ? 'production' : 'development',
      jitiOptions: options.fresh ? { moduleCache: false, fsCache: false } : undefined,
    })
  } catch (error) {
    const file = options.configFile ? resolve(cwd, options.configFile) : cwd
    throw new ConfigError('(file)', `could not load the config: ${(error as Error).message}`, file)
  }
  const resolved = resolveConfig(loaded.config, loaded.configFile && existsSync(loaded.configFile) ? loaded.configFile : undefined)
  return applyOverrides(resolved, options.overrides)
}

function applyOverrides(config: ResolvedConfig, overrides: ForwardConfig | undefined): ResolvedConfig {
  if (!overrides?.server) return config
  const { port, host } = overrides.server
  return { ...config, server: { ...config.server, ...(port !== undefined && { port }), ...(host !== undefined && { host }) } }
}
