import { failureOf, pluginNameOf } from '../plugin/failed.ts'
import type { ForwardPlugin } from '../plugin/types.ts'
import { parseDuration, parseSize } from '../util/units.ts'
import { ConfigError, type ConfigIssue } from './errors.ts'
import { checkKnownKeys } from './known-keys.ts'
import { resolvePrices } from '../pricing/resolve.ts'
import { BUILTIN_PRICES, PriceTable } from '../pricing/index.ts'
import type {
  ForwardConfig, ResolvedConfig, ResolvedCors, ResolvedHandler, ResolvedRoute, ResolvedServer, ResolvedTarget, RouteConfig, StorageConfig,
} from './types.ts'

const DEFAULT_TARGET = 'https://api.openai.com'
const DEFAULT_BODY_LIMIT = 100 * 1024 ** 2
const DEFAULT_BODY_TIMEOUT = 30_000
const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const

// The names each part of the config takes. A new field is one more name here (and its type in types.ts).
/** Top-level fields; `$…` are c12's per-environment overrides. */
const TOP_LEVEL = ['routes', 'handlers', 'middleware', 'prices', 'plugins', 'storage', 'server', 'proxy', 'cors', 'bodyLimit', 'bodyTimeout', 'logLevel', 'webui', '$development', '$production', '$test', '$env', '$meta']
const ROUTE = ['path', 'target', 'type', 'dialect', 'plugins', 'timeout', 'proxy', 'bodyLimit', 'bodyTimeout']
const ROUTE_TIMEOUT = ['connect', 'headers', 'idle', 'total']
const WEIGHTED_TARGET = ['url', 'weight']
const HANDLER = ['path', 'method', 'handler', 'plugins']
const SERVER = ['port', 'host', 'gracePeriod']
const WEBUI = ['port', 'host', 'token', 'editConfig']
const CORS = ['origin', 'exposeHeaders', 'maxAge']
const STORAGE: Record<StorageConfig['driver'], string[]> = {
  memory: ['driver'],
  fs: ['driver', 'base'],
  redis: ['driver', 'url', 'prefix', 'cluster'],
}
const CLUSTER_NODE = ['host', 'port']
/** Top-level fields people put under `server` (`server.bodyLimit`). */
const SERVER_HINTS = Object.fromEntries(TOP_LEVEL.filter((name) => !name.startsWith('$')).map((name) => [name, `the top-level "${name}"`]))
const ROUTE_HINTS = { url: 'target', prefix: 'path', timeouts: 'timeout' }

/** The routes used when a config declares none: the original's default. */
export const DEFAULT_ROUTES: Record<string, RouteConfig> = {
  openai: { path: '/', target: DEFAULT_TARGET, type: 'openai' },
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A ConfigError, also one made by another copy of this package (a config may import its own). */
function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && error.name === 'ConfigError' && typeof (error as ConfigError).field === 'string'
}

function issuesOf(error: ConfigError): readonly ConfigIssue[] {
  return error.issues ?? [{ field: error.field, problem: error.problem }]
}

/**
 * Collects the problems of a config instead of stopping at the first: each check runs in `check`,
 * which records a `ConfigError` and returns a stand-in value so the rest can still be checked.
 */
class Problems {
  readonly issues: ConfigIssue[] = []

  check<T>(run: () => T, fallback: T): T {
    try {
      return run()
    } catch (error) {
      if (!isConfigError(error)) throw error
      this.issues.push(...issuesOf(error))
      return fallback
    }
  }

  add(issues: readonly ConfigIssue[]): void {
    this.issues.push(...issues)
  }
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

/** Every duration field goes through here: a string like `"30s"`, or a number in the field's unit. Returns ms. */
function duration(value: unknown, field: string, fallbackMs: number, numberUnit: 'ms' | 's' = 'ms'): number {
  if (value === undefined) return fallbackMs
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value, numberUnit) : undefined
  if (ms === undefined) {
    const unit = numberUnit === 's' ? 'seconds' : 'milliseconds'
    throw new ConfigError(field, `must be ${unit} or a duration like "30s", got ${JSON.stringify(value)}`)
  }
  return ms
}

function size(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  const bytes = typeof value === 'number' || typeof value === 'string' ? parseSize(value) : undefined
  if (bytes === undefined) throw new ConfigError(field, `must be bytes or a size like "25mb", got ${JSON.stringify(value)}`)
  return bytes
}

/** A plugin factory's error, moved to where the plugin sits: `plugins.chatLog.folder` → `routes.openai.plugins[0] (chatLog).folder`. */
function atPosition(error: unknown, position: string): ConfigIssue[] {
  if (!isConfigError(error)) {
    return [{ field: position, problem: `the plugin's factory failed: ${error instanceof Error ? error.message : String(error)}` }]
  }
  return issuesOf(error).map(({ field, problem }) => {
    const name = pluginNameOf(field)
    const rest = field.replace(/^(?:plugins\.)?[^.[\s]+/, '')
    return { field: field ? `${position} (${name})${rest}` : position, problem }
  })
}

function plugins(value: unknown, field: string, problems: Problems): ForwardPlugin[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new ConfigError(field, 'must be an array of plugins')
  const list: ForwardPlugin[] = []
  value.forEach((plugin, index) => {
    const position = `${field}[${index}]`
    if (typeof plugin === 'function') {
      const name = plugin.name || 'plugin'
      problems.add([{ field: position, problem: `is a plugin factory, not a plugin: call it with its options, e.g. ${name}() or ${name}({ ... })` }])
    } else if (!isObject(plugin) || typeof plugin.name !== 'string') {
      problems.add([{ field: position, problem: 'must be a plugin (an object with a name and hooks)' }])
    } else if (failureOf(plugin) !== undefined) {
      problems.add(atPosition(failureOf(plugin), position))
    } else {
      list.push(plugin as unknown as ForwardPlugin)
    }
  })
  return list
}

/** Normalises a route prefix: leading slash, no trailing slash, no dot segments. */
function prefix(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.startsWith('/')) throw new ConfigError(field, 'must be a path starting with "/"')
  if (/[?#]/.test(value) || value.split('/').some((s) => s === '.' || s === '..')) {
    throw new ConfigError(field, 'must be a plain path, without query, fragment or dot segments')
  }
  return value.replace(/\/+/g, '/').replace(/\/$/, '')
}

function targets(value: unknown, field: string, problems: Problems): ResolvedTarget[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw new ConfigError(field, 'must name at least one upstream')
  return list.flatMap((entry, index) => {
    const itemField = Array.isArray(value) ? `${field}[${index}]` : field
    return problems.check(() => {
      checkKnownKeys(entry, WEIGHTED_TARGET, itemField)
      const raw = isObject(entry) ? entry.url : entry
      const url = httpUrl(raw, isObject(entry) ? `${itemField}.url` : itemField)
      const weight = isObject(entry) && entry.weight !== undefined ? entry.weight : 1
      if (typeof weight !== 'number' || !(weight > 0)) throw new ConfigError(`${itemField}.weight`, 'must be a positive number')
      const base = url.href.replace(/\/+$/, '')
      return [{ url: url.href, base, origin: url.origin, weight }]
    }, [])
  })
}

function timeouts(value: unknown, field: string, problems: Problems): ResolvedRoute['timeouts'] {
  const given = isObject(value) ? value : { headers: value }
  if (isObject(value)) problems.check(() => checkKnownKeys(value, ROUTE_TIMEOUT, field), undefined)
  const one = (name: string, fallback: number) =>
    problems.check(() => duration(given[name], isObject(value) ? `${field}.${name}` : field, fallback), fallback)
  return {
    connect: one('connect', 10_000),
    headers: one('headers', 600_000),
    idle: one('idle', 300_000),
    total: given.total === undefined ? undefined : one('total', 0),
  }
}

function route(name: string, value: unknown, defaults: { bodyLimit: number; bodyTimeout: number; proxy: string | undefined; prices: PriceTable }, problems: Problems): ResolvedRoute | undefined {
  const field = `routes.${name}`
  if (!isObject(value)) {
    problems.add([{ field, problem: 'must be an object with path and target' }])
    return undefined
  }
  problems.check(() => checkKnownKeys(value, ROUTE, field, ROUTE_HINTS), undefined)
  const type = problems.check(() => {
    const type = value.type ?? 'openai'
    if (type !== 'openai' && type !== 'general') throw new ConfigError(`${field}.type`, `must be "openai" or "general", got ${JSON.stringify(type)}`)
    return type
  }, 'openai')
  const dialect = problems.check(() => {
    const dialect = value.dialect
    if (dialect !== undefined && dialect !== 'anthropic' && dialect !== 'gemini') {
      throw new ConfigError(`${field}.dialect`, `must be "anthropic" or "gemini", got ${JSON.stringify(dialect)}`)
    }
    return dialect
  }, undefined)
  return {
    name,
    // A stand-in that no other route has, so a bad path is not also reported as a duplicate.
    prefix: problems.check(() => prefix(value.path, `${field}.path`), `/(${name})`),
    targets: problems.check(() => targets(value.target, `${field}.target`, problems), []),
    type,
    dialect,
    plugins: problems.check(() => plugins(value.plugins, `${field}.plugins`, problems), []),
    timeouts: timeouts(value.timeout, `${field}.timeout`, problems),
    proxy: problems.check(() => (value.proxy === undefined ? defaults.proxy : httpUrl(value.proxy, `${field}.proxy`).href), undefined),
    bodyLimit: problems.check(() => size(value.bodyLimit, `${field}.bodyLimit`, defaults.bodyLimit), defaults.bodyLimit),
    prices: defaults.prices,
    bodyTimeout: problems.check(() => duration(value.bodyTimeout, `${field}.bodyTimeout`, defaults.bodyTimeout), defaults.bodyTimeout),
  }
}

const HANDLER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const

function handler(name: string, value: unknown, routeNames: ReadonlySet<string>, bodyLimit: number, bodyTimeout: number, prices: PriceTable, problems: Problems): ResolvedHandler | undefined {
  const field = `handlers.${name}`
  if (!isObject(value)) {
    problems.add([{ field, problem: 'must be { path, handler, method?, plugins? }' }])
    return undefined
  }
  problems.check(() => checkKnownKeys(value, HANDLER, field), undefined)
  if (routeNames.has(name)) problems.add([{ field, problem: `"${name}" is already the name of a route (names show in logs and metrics, so they must differ)` }])
  if (typeof value.path !== 'string' || !value.path.startsWith('/')) problems.add([{ field: `${field}.path`, problem: 'must be an h3 route pattern starting with "/", e.g. "/v1/whoami"' }])
  if (typeof value.handler !== 'function') problems.add([{ field: `${field}.handler`, problem: 'must be a function (event, ctx) => response' }])
  const method = value.method
  if (method !== undefined && !HANDLER_METHODS.includes(method as never)) problems.add([{ field: `${field}.method`, problem: `must be one of ${HANDLER_METHODS.join(', ')}, got ${JSON.stringify(method)}` }])
  return {
    name,
    path: value.path as string,
    method: method as ResolvedHandler['method'],
    handler: value.handler as ResolvedHandler['handler'],
    route: {
      name, prefix: value.path as string, targets: [], type: 'openai', dialect: undefined,
      plugins: problems.check(() => plugins(value.plugins, `${field}.plugins`, problems), []),
      timeouts: { connect: 0, headers: 0, idle: 0, total: undefined }, proxy: undefined, bodyLimit, prices, bodyTimeout,
    },
  }
}

function handlers(value: unknown, routeNames: ReadonlySet<string>, bodyLimit: number, bodyTimeout: number, prices: PriceTable, problems: Problems): ResolvedHandler[] {
  if (value === undefined) return []
  if (!isObject(value)) {
    problems.add([{ field: 'handlers', problem: 'must be an object of named handlers, e.g. { whoami: { path: "/v1/whoami", handler } }' }])
    return []
  }
  return Object.entries(value).flatMap(([name, h]) => handler(name, h, routeNames, bodyLimit, bodyTimeout, prices, problems) ?? [])
}

function middleware(value: unknown, problems: Problems): ResolvedConfig['middleware'] {
  if (value === undefined) return []
  if (!Array.isArray(value)) {
    problems.add([{ field: 'middleware', problem: 'must be an array of h3 middleware functions (event, next) => …' }])
    return []
  }
  value.forEach((fn, index) => {
    if (typeof fn !== 'function') problems.add([{ field: `middleware[${index}]`, problem: 'must be an h3 middleware function (event, next) => …' }])
  })
  return value as ResolvedConfig['middleware']
}

function storage(value: unknown, problems: Problems): StorageConfig {
  if (value === undefined) return { driver: 'memory' }
  if (!isObject(value)) throw new ConfigError('storage', 'must be { driver: "memory" | "fs" | "redis", ... }')
  const driver = value.driver
  if (driver !== 'memory' && driver !== 'fs' && driver !== 'redis') {
    throw new ConfigError('storage.driver', `must be "memory", "fs" or "redis", got ${JSON.stringify(driver)}`)
  }
  problems.check(() => checkKnownKeys(value, STORAGE[driver], 'storage'), undefined)
  if (driver === 'memory') return { driver }
  if (driver === 'fs') {
    if (value.base !== undefined && typeof value.base !== 'string') throw new ConfigError('storage.base', 'must be a folder path')
    return { driver, base: (value.base as string | undefined) ?? '.data/aifd' }
  }
  const url = (value.url as string | undefined) ?? process.env.REDIS_URL
  if (value.cluster === undefined) {
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
      problems.add([{ field: 'storage.url', problem: 'must be a redis:// URL (or set REDIS_URL)' }])
    }
  } else if (!Array.isArray(value.cluster) || value.cluster.length === 0) {
    problems.add([{ field: 'storage.cluster', problem: 'must be a list of { host, port }' }])
  } else {
    value.cluster.forEach((node, i) => problems.check(() => checkKnownKeys(node, CLUSTER_NODE, `storage.cluster[${i}]`), undefined))
  }
  if (value.prefix !== undefined && typeof value.prefix !== 'string') problems.add([{ field: 'storage.prefix', problem: 'must be a string' }])
  return { driver, url, prefix: (value.prefix as string | undefined) ?? 'aifd:', cluster: value.cluster as Array<{ host: string; port: number }> | undefined }
}

function cors(value: unknown, problems: Problems): ResolvedCors | false {
  if (value === false) return false
  if (value === undefined) return { origin: '*', exposeHeaders: [], maxAge: 600 }
  if (!isObject(value)) throw new ConfigError('cors', 'must be false or { origin, exposeHeaders, maxAge }')
  problems.check(() => checkKnownKeys(value, CORS, 'cors'), undefined)
  const origin = value.origin ?? '*'
  if (origin !== '*' && !(Array.isArray(origin) && origin.every((o) => typeof o === 'string'))) {
    problems.add([{ field: 'cors.origin', problem: 'must be "*" or a list of origins' }])
  }
  const exposeHeaders = value.exposeHeaders ?? []
  if (!Array.isArray(exposeHeaders) || !exposeHeaders.every((h) => typeof h === 'string')) {
    problems.add([{ field: 'cors.exposeHeaders', problem: 'must be a list of header names' }])
  }
  return {
    origin: origin as '*' | string[],
    exposeHeaders: exposeHeaders as string[],
    // Seconds, as the Access-Control-Max-Age header counts them.
    maxAge: Math.round(problems.check(() => duration(value.maxAge, 'cors.maxAge', 600_000, 's'), 600_000) / 1000),
  }
}

function port(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = typeof value === 'string' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(field, `must be a port number, got ${JSON.stringify(value)}`)
  return n
}

function server(value: unknown, problems: Problems): ResolvedServer {
  if (value !== undefined && !isObject(value)) problems.add([{ field: 'server', problem: 'must be { port, host, gracePeriod }' }])
  const given = isObject(value) ? value : {}
  problems.check(() => checkKnownKeys(given, SERVER, 'server', SERVER_HINTS), undefined)
  if (given.host !== undefined && typeof given.host !== 'string') problems.add([{ field: 'server.host', problem: 'must be a host name or address' }])
  return {
    port: problems.check(() => port(given.port, 'server.port', Number(process.env.PORT) || 8000), 8000),
    host: (given.host as string | undefined) ?? '0.0.0.0',
    // Seconds when a number (as it always was); any duration string too.
    gracePeriod: problems.check(() => duration(given.gracePeriod, 'server.gracePeriod', 30_000, 's'), 30_000) / 1000,
  }
}

/**
 * Applies defaults to a user's config and validates every value. Every problem is collected, then
 * thrown as one `ConfigError` listing them all with their field paths (and the file, when given).
 * The user's config is plain JavaScript at run time, so nothing is trusted.
 */
export function resolveConfig(input: unknown, configFile?: string): ResolvedConfig {
  if (input === undefined || input === null) input = {}
  if (!isObject(input)) throw new ConfigError('(root)', 'the config must export an object (use defineForwardConfig)', configFile)
  const config = input as ForwardConfig & Record<string, unknown>
  const problems = new Problems()
  problems.check(() => checkKnownKeys(config, TOP_LEVEL, ''), undefined)
  const bodyLimit = problems.check(() => size(config.bodyLimit, 'bodyLimit', DEFAULT_BODY_LIMIT), DEFAULT_BODY_LIMIT)
  const bodyTimeout = problems.check(() => duration(config.bodyTimeout, 'bodyTimeout', DEFAULT_BODY_TIMEOUT), DEFAULT_BODY_TIMEOUT)
  const proxy = problems.check(() => (config.proxy === undefined ? undefined : httpUrl(config.proxy, 'proxy').href), undefined)
  const prices = problems.check(() => resolvePrices(config.prices, configFile), new PriceTable(BUILTIN_PRICES))
  const routesInput = config.routes === undefined || (isObject(config.routes) && Object.keys(config.routes).length === 0) ? DEFAULT_ROUTES : config.routes
  const routes: ResolvedRoute[] = []
  if (!isObject(routesInput)) {
    problems.add([{ field: 'routes', problem: 'must be an object of named routes, e.g. { openai: { path: "/", target: "https://api.openai.com" } }' }])
  } else {
    const seen = new Map<string, string>()
    for (const [name, value] of Object.entries(routesInput)) {
      const r = route(name, value, { bodyLimit, bodyTimeout, proxy, prices }, problems)
      if (!r) continue
      routes.push(r)
      const other = seen.get(r.prefix)
      if (other) problems.add([{ field: `routes.${r.name}.path`, problem: `"${r.prefix || '/'}" is already the path of routes.${other}` }])
      else seen.set(r.prefix, r.name)
    }
  }
  const logLevel = config.logLevel ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) problems.add([{ field: 'logLevel', problem: `must be one of ${LOG_LEVELS.join(', ')}` }])
  const webui = config.webui ?? {}
  if (!isObject(webui)) problems.add([{ field: 'webui', problem: 'must be an object' }])
  else problems.check(() => checkKnownKeys(webui, WEBUI, 'webui'), undefined)
  const resolved: ResolvedConfig = {
    routes,
    handlers: handlers(config.handlers, new Set(routes.map((r) => r.name)), bodyLimit, bodyTimeout, prices, problems),
    prices,
    middleware: middleware(config.middleware, problems),
    globalPlugins: problems.check(() => plugins(config.plugins, 'plugins', problems), []),
    storage: problems.check(() => storage(config.storage, problems), { driver: 'memory' }),
    server: server(config.server, problems),
    cors: problems.check(() => cors(config.cors, problems), false),
    logLevel,
    webui: isObject(webui) ? { ...webui, port: problems.check(() => port(webui.port, 'webui.port', 8001), 8001) } : {},
    configFile,
    loadedAt: new Date(),
  }
  if (problems.issues.length > 0) {
    const [first] = problems.issues
    throw new ConfigError(first.field, first.problem, configFile, problems.issues)
  }
  return resolved
}
