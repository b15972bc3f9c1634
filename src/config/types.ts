import type { ForwardPlugin } from '../plugin/types.ts'

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

/** Upstream timeouts, in milliseconds (or a duration string like `"30s"`). */
export interface RouteTimeouts {
  /** Opening the TCP/TLS connection. Default 10 s. */
  connect?: number | string
  /** From sending the request to the upstream's response headers. Default 600 s. */
  headers?: number | string
  /** Longest silence between two body chunks (streams). Default 300 s. */
  idle?: number | string
  /** Whole request, first byte sent to last byte received. Default: none. */
  total?: number | string
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
  /** Upstream timeouts: a number is the `headers` timeout in ms, an object sets each. */
  timeout?: number | string | RouteTimeouts
  /** Outbound HTTP(S) proxy URL for this route (overrides the top-level `proxy`). */
  proxy?: string
  /** Largest request body accepted, in bytes or `"25mb"`. Default the top-level `bodyLimit`. */
  bodyLimit?: number | string
  /** Longest silence between request body chunks from the client (408 after it). Default the top-level `bodyTimeout`. */
  bodyTimeout?: number | string
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
  /** Seconds given to in-flight requests on SIGTERM before the process exits. Default 30. */
  gracePeriod?: number
}

export interface CorsConfig {
  /** Allowed origins; `'*'` (default) allows any, as the original did. */
  origin?: '*' | string[]
  /** Extra headers exposed to browsers. */
  exposeHeaders?: string[]
  /** Preflight cache, seconds. Default 600. */
  maxAge?: number
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

/** The whole config file. */
export interface ForwardConfig {
  /** Routes by name; the name appears in logs, metrics and the dashboard. */
  routes?: Record<string, RouteConfig>
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
  bodyTimeout?: number | string
  /** Log level: `debug`, `info` (default), `warn`, `error`, `silent`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Dashboard and metrics (served when started with `--webui`). */
  webui?: WebuiConfig
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
  /** ms; 0 is off. */
  bodyTimeout: number
}

export interface ResolvedConfig {
  routes: ResolvedRoute[]
  globalPlugins: ForwardPlugin[]
  storage: StorageConfig
  server: Required<ServerConfig>
  cors: Required<CorsConfig> | false
  logLevel: NonNullable<ForwardConfig['logLevel']>
  webui: WebuiConfig
  /** Absolute path of the loaded file, if any. */
  configFile: string | undefined
  /** Files the config imports (for `aifd dev` to watch). */
  loadedAt: Date
}
