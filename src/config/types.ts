import type { H3Event, Middleware } from 'h3'
import type { ForwardContext, ForwardPlugin } from '../plugin/types.ts'
import type { PriceTable } from '../pricing/table.ts'
import type { PricesConfig } from '../pricing/resolve.ts'
import type { Duration } from '../util/units.ts'

/** How the gateway understands a route's traffic. */
export type RouteType =
  /** OpenAI-compatible API: bodies, models, keys and usage are understood. */
  | 'openai'
  /** Any other HTTP API, forwarded opaquely (Gemini, Anthropic, …). */
  | 'general'

/** The body dialect of a `general` route, so usage-aware plugins can read its usage fields. */
export type RouteDialect = 'anthropic' | 'gemini'

/** A weighted upstream, for routes with several targets. */
export interface WeightedTarget {
  /** Base URL, e.g. `https://api.openai.com`. */
  url: string
  /** Relative share of traffic; default 1. */
  weight?: number
}

/** Upstream timeouts: a duration string like `"30s"`, or milliseconds. */
export interface RouteTimeouts {
  /** Opening the TCP/TLS connection. Default `'10s'`. */
  connect?: Duration
  /** From sending the request to the upstream's response headers. Default `'600s'`. */
  headers?: Duration
  /** Longest silence between two body chunks (streams). Default `'300s'`. */
  idle?: Duration
  /** Whole request, first byte sent to last byte received. Default: none. */
  total?: Duration
}

/** One forwarding route. */
export interface RouteConfig {
  /** Path prefix the route serves, e.g. `/` or `/gemini`. The longest matching prefix wins. */
  path: string
  /** Upstream base URL, or several for failover (`retry` moves to the next one). */
  target: string | Array<string | WeightedTarget>
  /** `openai` (default) understands OpenAI bodies; `general` forwards anything opaquely. */
  type?: RouteType
  /** For `general` routes: the API's dialect, so token counting and logs can read usage. */
  dialect?: RouteDialect
  /** This route's plugin chain, run after the top-level `plugins`. */
  plugins?: ForwardPlugin[]
  /** Upstream timeouts: a duration (or ms) is the `headers` timeout, an object sets each. */
  timeout?: Duration | RouteTimeouts
  /** Outbound HTTP(S) proxy URL for this route (overrides the top-level `proxy`). */
  proxy?: string
  /** Largest request body accepted, in bytes or `"25mb"`. Default the top-level `bodyLimit`. */
  bodyLimit?: number | string
  /** Longest silence between request body chunks from the client (408 after it). Default the top-level `bodyTimeout`. */
  bodyTimeout?: Duration
}

/** Where plugin storage lives. */
export type StorageConfig =
  | { driver: 'memory' }
  | {
      driver: 'fs'
      /** Folder for the files. Default `.data/aifd`. */
      base?: string
    }
  | {
      driver: 'redis'
      /** `redis://host:port/db`. Default `process.env.REDIS_URL`. */
      url?: string
      /** Prefix for every key. Default `aifd:`. */
      prefix?: string
      /** Redis Cluster start nodes, instead of `url`. */
      cluster?: Array<{ host: string; port: number }>
    }

export interface ServerConfig {
  /** Default 8000, or `$PORT`. */
  port?: number
  /** Default `0.0.0.0`. */
  host?: string
  /**
   * How long in-flight requests may take to finish on SIGTERM before the process exits: seconds
   * when a number (`30`), or a duration like `'20s'` or `'2m'`. Default 30 seconds.
   */
  gracePeriod?: Duration
}

/** `server` after defaults. */
export interface ResolvedServer {
  port: number
  host: string
  /** Seconds. */
  gracePeriod: number
}

export interface CorsConfig {
  /** Allowed origins; `'*'` (default) allows any, as the original did. */
  origin?: '*' | string[]
  /** Extra headers exposed to browsers. */
  exposeHeaders?: string[]
  /** How long browsers may cache a preflight: seconds when a number, or a duration like `'10m'`. Default 600 seconds. */
  maxAge?: Duration
}

/** `cors` after defaults; `maxAge` in seconds. */
export interface ResolvedCors {
  origin: '*' | string[]
  exposeHeaders: string[]
  maxAge: number
}

export interface WebuiConfig {
  /** Admin listener port. Default 8001. */
  port?: number
  /** Admin listener host. Default 127.0.0.1 (loopback only). */
  host?: string
  /** Admin token; default `$AIFD_ADMIN_TOKEN`, else one is generated at start. */
  token?: string
  /** Allow editing forward.config.ts from the dashboard. Default false. */
  editConfig?: boolean
}

/** HTTP methods a custom handler may be limited to. */
export type HandlerMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS'

/** Your own endpoint, served by the gateway's h3 app next to the forwarded routes. */
export interface HandlerConfig {
  /**
   * An h3 route pattern: `/v1/whoami`, `/users/:id`, `/files/**`. A static path wins over a
   * forwarded route's prefix, so `/v1/whoami` is answered here even when `/` forwards to OpenAI.
   */
  path: string
  /** Only this method; default any. */
  method?: HandlerMethod
  /**
   * An h3 event handler: return anything h3 sends (an object as JSON, a string, a `Response`) or
   * throw h3's `HTTPError`. The second argument is the request's plugin context (`ctx.caller` is the
   * forward key's name once `keys` ran, `ctx.json()` reads the body once).
   */
  handler: (event: H3Event, ctx: ForwardContext) => unknown
  /**
   * Plugins run around the handler, after the top-level ones: `onRequest` hooks first (ipFilter,
   * keys and rateLimit guard it as they guard a route; an answer from one is sent instead), then
   * the handler, then `onResponse` hooks with the status. Hooks about an upstream call do not run.
   */
  plugins?: ForwardPlugin[]
}

/** The whole config file. */
export interface ForwardConfig {
  /** Routes by name; the name appears in logs, metrics and the dashboard. */
  routes?: Record<string, RouteConfig>
  /** Your own h3 handlers by name (the name shows in logs and the dashboard like a route's). */
  handlers?: Record<string, HandlerConfig>
  /**
   * h3 middleware run for every request before it is routed (forwarded routes, handlers, health
   * checks): `(event, next) => …`. Return a value to answer; call `next()` to go on.
   */
  middleware?: Middleware[]
  /** Plugins run on every route, before the route's own. */
  plugins?: ForwardPlugin[]
  /** Plugin storage backend. Default memory. */
  storage?: StorageConfig
  server?: ServerConfig
  /** Outbound HTTP(S) proxy for every route. `HTTPS_PROXY`/`NO_PROXY` are honoured when unset. */
  proxy?: string
  /** CORS: default any origin; `false` turns it off. */
  cors?: CorsConfig | false
  /** Largest request body accepted. Default `"100mb"`. */
  bodyLimit?: number | string
  /**
   * Longest silence between request body chunks from the client, in ms or a duration like `"30s"`;
   * after it the request gets 408 and its upstream call is cancelled. An upload that keeps moving is
   * never cut, and response streams are not affected. `0` turns it off. Default `"30s"`.
   */
  bodyTimeout?: Duration
  /** Log level: `debug`, `info` (default), `warn`, `error`, `silent`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Dashboard and metrics (served when started with `--webui`). */
  webui?: WebuiConfig
  /**
   * Prices per model in US dollars per million tokens, overriding and extending the built-in table:
   * `{ 'gpt-4o*': { input: 2.5, cachedInput: 1.25, output: 10 }, 'my-model': { input: 0, output: 0, request: 0.01 } }`,
   * or the path of a JSON file of that shape (relative to the config file).
   */
  prices?: PricesConfig
}

/** A target after resolution. */
export interface ResolvedTarget {
  url: string
  /** `url` without a trailing slash, ready to prepend a path. */
  base: string
  origin: string
  weight: number
}

/** A route after defaults and validation. */
export interface ResolvedRoute {
  name: string
  /** Normalised prefix, no trailing slash (`''` for `/`). */
  prefix: string
  targets: ResolvedTarget[]
  type: RouteType
  dialect: RouteDialect | undefined
  plugins: ForwardPlugin[]
  timeouts: { connect: number; headers: number; idle: number; total: number | undefined }
  proxy: string | undefined
  bodyLimit: number
  /** The config's price table (built-in prices and the config's `prices`), for `result.cost()`. */
  prices: PriceTable
  /** ms; 0 is off. */
  bodyTimeout: number
}

/** A custom handler after validation. */
export interface ResolvedHandler {
  name: string
  /** The h3 route pattern. */
  path: string
  method: HandlerMethod | undefined
  handler: HandlerConfig['handler']
  /** What its plugins see as `ctx.route` (no targets: it has no upstream). */
  route: ResolvedRoute
}

export interface ResolvedConfig {
  routes: ResolvedRoute[]
  handlers: ResolvedHandler[]
  middleware: Middleware[]
  globalPlugins: ForwardPlugin[]
  storage: StorageConfig
  server: ResolvedServer
  cors: ResolvedCors | false
  logLevel: NonNullable<ForwardConfig['logLevel']>
  webui: WebuiConfig
  /** Prices per model (built-in and the config's `prices`). */
  prices: PriceTable
  /** Absolute path of the loaded file, if any. */
  configFile: string | undefined
  /** Files the config imports (for `aifd dev` to watch). */
  loadedAt: Date
}
