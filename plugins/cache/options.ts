import { assertConfig, checkKnownKeys, parseDuration, parseSize, type Duration } from '../../src/index.ts'

/** Options of the `cache` plugin. Storage is the gateway's own (`storage` at the top of the config). */
export interface CacheOptions {
  /**
   * Whether to cache when the request does not say. On `openai` routes a request opts in or out with
   * the body field `caching: true | false` (removed before the body goes upstream); on `general`
   * routes there is no such field, so this alone decides. Default `false`.
   */
  default?: boolean
  /** How long an answer is kept: a duration like `"1h"`, `"7d"`, or milliseconds. Default `"1h"`. */
  ttl?: Duration
  /**
   * Who may be served an answer: `'key'` (each caller, as named by an auth plugin such as `keys`, has
   * its own answers; requests without a caller are not cached) or `'global'` (everyone shares).
   * Default: per caller when an auth plugin named one, else global.
   */
  scope?: 'key' | 'global'
  /** Largest response body stored, in bytes or `"1mb"`; larger answers pass through uncached. Default `"1mb"`. */
  maxBodySize?: number | string
  /**
   * Most answers kept; the least recently used are removed first. Counted per process, so it bounds
   * what this process stored. Default 1000 with memory storage (which never drops expired entries that
   * are not read again), unlimited with fs and Redis.
   */
  maxEntries?: number
}

export interface ResolvedCacheOptions {
  byDefault: boolean
  ttlMs: number
  ttlText: string
  scope: 'key' | 'global' | 'auto'
  maxBodyBytes: number
  maxEntries: number | undefined
}

const KNOWN = ['default', 'ttl', 'scope', 'maxBodySize', 'maxEntries']
/** Where the cache lives is the gateway's `storage`, not an option. */
const HINTS = { backend: 'the top-level "storage"', storage: 'the top-level "storage"', driver: 'the top-level "storage"' }
const FIELD = 'plugins.cache'

/** Checks the options once, when the config loads, and fills in defaults. */
export function resolveCacheOptions(options: CacheOptions | undefined): ResolvedCacheOptions {
  const given = options ?? {}
  assertConfig(typeof given === 'object' && given !== null && !Array.isArray(given), FIELD, 'must be an object of options')
  checkKnownKeys(given, KNOWN, FIELD, HINTS)
  const { default: byDefault = false, ttl = '1h', scope, maxBodySize = '1mb', maxEntries } = given

  assertConfig(typeof byDefault === 'boolean', `${FIELD}.default`, 'must be true or false')
  const ttlMs = typeof ttl === 'number' || typeof ttl === 'string' ? parseDuration(ttl) : undefined
  assertConfig(ttlMs !== undefined && ttlMs >= 1, `${FIELD}.ttl`, `must be a duration like "1h" or "7d" (or milliseconds ≥ 1), got ${JSON.stringify(ttl)}`)
  assertConfig(scope === undefined || scope === 'key' || scope === 'global', `${FIELD}.scope`, `must be 'key' or 'global', got ${JSON.stringify(scope)}`)
  const maxBodyBytes = typeof maxBodySize === 'number' || typeof maxBodySize === 'string' ? parseSize(maxBodySize) : undefined
  assertConfig(maxBodyBytes !== undefined && maxBodyBytes > 0, `${FIELD}.maxBodySize`, `must be a size like "1mb" or a number of bytes > 0, got ${JSON.stringify(maxBodySize)}`)
  assertConfig(maxEntries === undefined || (Number.isInteger(maxEntries) && maxEntries > 0), `${FIELD}.maxEntries`, `must be a whole number > 0, got ${JSON.stringify(maxEntries)}`)

  return {
    byDefault,
    ttlMs,
    ttlText: typeof ttl === 'string' ? ttl : `${ttl}ms`,
    scope: scope ?? 'auto',
    maxBodyBytes,
    maxEntries,
  }
}
