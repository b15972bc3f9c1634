import type { ForwardPlugin } from '../plugin/types.ts'
import { parseDuration, parseSize } from '../util/units.ts'
import { ConfigError } from './errors.ts'
import type {
  CorsConfig, ForwardConfig, ResolvedConfig, ResolvedRoute, ResolvedTarget, RouteConfig, StorageConfig,
} from './types.ts'

const DEFAULT_TARGET = 'https://api.openai.com'
const DEFAULT_BODY_LIMIT = 100 * 1024 ** 2
const DEFAULT_BODY_TIMEOUT = 30_000
const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

/** The routes used when a config declares none: the original's default. */
export const DEFAULT_ROUTES: Record<string, RouteConfig> = {
  openai: { path: '/', target: DEFAULT_TARGET, type: 'openai' },
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function httpUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || !value) throw new ConfigError(field, 'must be an http(s) URL')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(field, `must be an http(s) URL, got "${value}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(field, `must be an http(s) URL, got "${value}"`)
  if (url.search || url.hash) throw new ConfigError(field, 'must not have a query or fragment')
  return url
}

function duration(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined
  if (ms === undefined) throw new ConfigError(field, `must be milliseconds or a duration like "30s", got ${JSON.stringify(value)}`)
  return ms
}

function size(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  const bytes = typeof value === 'number' || typeof value === 'string' ? parseSize(value) : undefined
  if (bytes === undefined) throw new ConfigError(field, `must be bytes or a size like "25mb", got ${JSON.stringify(value)}`)
  return bytes
}

function plugins(value: unknown, field: string): ForwardPlugin[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new ConfigError(field, 'must be an array of plugins')
  return value.map((plugin, index) => {
    if (typeof plugin === 'function') {
      const name = plugin.name || 'plugin'
      throw new ConfigError(`${field}[${index}]`, `is a plugin factory, not a plugin: call it with its options, e.g. ${name}() or ${name}({ ... })`)
    }
    if (!isObject(plugin) || typeof plugin.name !== 'string') {
      throw new ConfigError(`${field}[${index}]`, 'must be a plugin (an object with a name and hooks)')
    }
    return plugin as unknown as ForwardPlugin
  })
}

/** Normalises a route prefix: leading slash, no trailing slash, no dot segments. */
function prefix(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw new ConfigError(field, 'must be a path starting with "/"')
  if (/[?#]/.test(value) || value.split('/').some((s) => s === '.' || s === '..')) {
    throw new ConfigError(field, 'must be a plain path, without query, fragment or dot segments')
  }
  return value.replace(/\/+/g, '/').replace(/\/$/, '')
}

function targets(value: unknown, field: string): ResolvedTarget[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw new ConfigError(field, 'must name at least one upstream')
  return list.map((entry, index) => {
    const itemField = Array.isArray(value) ? `${field}[${index}]` : field
    const raw = isObject(entry) ? entry.url : entry
    const url = httpUrl(raw, isObject(entry) ? `${itemField}.url` : itemField)
    const weight = isObject(entry) && entry.weight !== undefined ? entry.weight : 1
    if (typeof weight !== 'number' || !(weight > 0)) throw new ConfigError(`${itemField}.weight`, 'must be a positive number')
    const base = url.href.replace(/\/+$/, '')
    return { url: url.href, base, origin: url.origin, weight }
  })
}

function route(name: string, value: unknown, defaults: { bodyLimit: number; bodyTimeout: number; proxy: string | undefined }): ResolvedRoute {
  const field = `routes.${name}`
  if (!isObject(value)) throw new ConfigError(field, 'must be an object with path and target')
  const type = value.type ?? 'openai'
  if (type !== 'openai' && type !== 'general') throw new ConfigError(`${field}.type`, `must be "openai" or "general", got ${JSON.stringify(type)}`)
  const dialect = value.dialect
  if (dialect !== undefined && dialect !== 'anthropic' && dialect !== 'gemini') {
    throw new ConfigError(`${field}.dialect`, `must be "anthropic" or "gemini", got ${JSON.stringify(dialect)}`)
  }
  const timeout = value.timeout
  const timeouts = isObject(timeout) ? timeout : { headers: timeout }
  const proxy = value.proxy === undefined ? defaults.proxy : httpUrl(value.proxy, `${field}.proxy`).href
  return {
    name,
    prefix: prefix(value.path, `${field}.path`),
    targets: targets(value.target, `${field}.target`),
    type,
    dialect,
    plugins: plugins(value.plugins, `${field}.plugins`),
    timeouts: {
      connect: duration(timeouts.connect, `${field}.timeout.connect`, 10_000),
      headers: duration(timeouts.headers, isObject(timeout) ? `${field}.timeout.headers` : `${field}.timeout`, 600_000),
      idle: duration(timeouts.idle, `${field}.timeout.idle`, 300_000),
      total: timeouts.total === undefined ? undefined : duration(timeouts.total, `${field}.timeout.total`, 0),
    },
    proxy,
    bodyLimit: size(value.bodyLimit, `${field}.bodyLimit`, defaults.bodyLimit),
    bodyTimeout: duration(value.bodyTimeout, `${field}.bodyTimeout`, defaults.bodyTimeout),
  }
}

function storage(value: unknown): StorageConfig {
  if (value === undefined) return { driver: 'memory' }
  if (!isObject(value)) throw new ConfigError('storage', 'must be { driver: "memory" | "fs" | "redis", ... }')
  const driver = value.driver
  if (driver === 'memory') return { driver }
  if (driver === 'fs') {
    if (value.base !== undefined && typeof value.base !== 'string') throw new ConfigError('storage.base', 'must be a folder path')
    return { driver, base: (value.base as string | undefined) ?? '.data/aifd' }
  }
  if (driver === 'redis') {
    const url = (value.url as string | undefined) ?? process.env.REDIS_URL
    if (value.cluster === undefined) {
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
        throw new ConfigError('storage.url', 'must be a redis:// URL (or set REDIS_URL)')
      }
    } else if (!Array.isArray(value.cluster) || value.cluster.length === 0) {
      throw new ConfigError('storage.cluster', 'must be a list of { host, port }')
    }
    if (value.prefix !== undefined && typeof value.prefix !== 'string') throw new ConfigError('storage.prefix', 'must be a string')
    return { driver, url, prefix: (value.prefix as string | undefined) ?? 'aifd:', cluster: value.cluster as Array<{ host: string; port: number }> | undefined }
  }
  throw new ConfigError('storage.driver', `must be "memory", "fs" or "redis", got ${JSON.stringify(driver)}`)
}

function cors(value: unknown): Required<CorsConfig> | false {
  if (value === false) return false
  if (value === undefined) return { origin: '*', exposeHeaders: [], maxAge: 600 }
  if (!isObject(value)) throw new ConfigError('cors', 'must be false or { origin, exposeHeaders, maxAge }')
  const origin = value.origin ?? '*'
  if (origin !== '*' && !(Array.isArray(origin) && origin.every((o) => typeof o === 'string'))) {
    throw new ConfigError('cors.origin', 'must be "*" or a list of origins')
  }
  return {
    origin: origin as '*' | string[],
    exposeHeaders: (value.exposeHeaders as string[] | undefined) ?? [],
    maxAge: typeof value.maxAge === 'number' ? value.maxAge : 600,
  }
}

function seconds(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0)) throw new ConfigError(field, `must be a number of seconds, got ${JSON.stringify(value)}`)
  return value
}

function port(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(field, `must be a port number, got ${JSON.stringify(value)}`)
  return n
}

/**
 * Applies defaults to a user's config and validates every value, throwing a `ConfigError` that names
 * the field. The user's config is plain JavaScript at run time, so nothing is trusted.
 */
export function resolveConfig(input: unknown, configFile?: string): ResolvedConfig {
  try {
    if (input === undefined || input === null) input = {}
    if (!isObject(input)) throw new ConfigError('(root)', 'the config must export an object (use defineForwardConfig)')
    const config = input as ForwardConfig & Record<string, unknown>
    const bodyLimit = size(config.bodyLimit, 'bodyLimit', DEFAULT_BODY_LIMIT)
    const bodyTimeout = duration(config.bodyTimeout, 'bodyTimeout', DEFAULT_BODY_TIMEOUT)
    const proxy = config.proxy === undefined ? undefined : httpUrl(config.proxy, 'proxy').href
    const routesInput = config.routes === undefined || (isObject(config.routes) && Object.keys(config.routes).length === 0) ? DEFAULT_ROUTES : config.routes
    if (!isObject(routesInput)) throw new ConfigError('routes', 'must be an object of named routes, e.g. { openai: { path: "/", target: "https://api.openai.com" } }')
    const routes = Object.entries(routesInput).map(([name, value]) => route(name, value, { bodyLimit, bodyTimeout, proxy }))
    const seen = new Map<string, string>()
    for (const r of routes) {
      const other = seen.get(r.prefix)
      if (other) throw new ConfigError(`routes.${r.name}.path`, `"${r.prefix || '/'}" is already the path of routes.${other}`)
      seen.set(r.prefix, r.name)
    }
    const server = isObject(config.server) ? config.server : {}
    if (config.server !== undefined && !isObject(config.server)) throw new ConfigError('server', 'must be { port, host }')
    if (server.host !== undefined && typeof server.host !== 'string') throw new ConfigError('server.host', 'must be a host name or address')
    const logLevel = config.logLevel ?? 'info'
    if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`)
    const webui = config.webui ?? {}
    if (!isObject(webui)) throw new ConfigError('webui', 'must be an object')
    return {
      routes,
      globalPlugins: plugins(config.plugins, 'plugins'),
      storage: storage(config.storage),
      server: {
        port: port(server.port, 'server.port', Number(process.env.PORT) || 8000),
        host: (server.host as string | undefined) ?? '0.0.0.0',
        gracePeriod: seconds(server.gracePeriod, 'server.gracePeriod', 30),
      },
      cors: cors(config.cors),
      logLevel,
      webui: { ...webui, port: port(webui.port, 'webui.port', 8001) },
      configFile,
      loadedAt: new Date(),
    }
  } catch (error) {
    if (error instanceof ConfigError && configFile && !error.file) throw new ConfigError(error.field, error.problem, configFile)
    throw error
  }
}
