import { assertConfig, checkKnownKeys, parseDuration, type Duration } from '../../src/index.ts'

export type { Duration } from '../../src/index.ts'

/** Options of the `retry` plugin. */
export interface RetryOptions {
  /** Most upstream attempts per request, the first one included (1 turns retrying off). Default 3. */
  attempts?: number
  /** Upstream statuses that are retried. Default `[429, 500, 502, 503, 504, 529]` (529: Anthropic's `overloaded_error`). */
  statuses?: readonly number[]
  /**
   * Exponential backoff with full jitter: before retry n the plugin waits a random time between 0
   * and `min(max, base × 2^(n-1))`. Default `{ base: '200ms', max: '10s' }`.
   */
  backoff?: {
    /** Ceiling of the first wait. Default `'200ms'`. */
    base?: Duration
    /** Largest ceiling, however many retries. Default `'10s'`. */
    max?: Duration
  }
  /**
   * Longest `Retry-After` (or `retry-after-ms`) the plugin waits for. An upstream asking for longer
   * gets its answer passed to the client as is, instead of holding the request. Default `'30s'`.
   */
  maxRetryAfter?: Duration
  /**
   * Circuit breaker per target, for routes with several targets: after `failures` failures in a
   * row a target is skipped for `coolDown`, then one request tries it (half-open) before it takes
   * traffic again. `false` turns it off. Default `{ failures: 5, coolDown: '30s' }`.
   */
  breaker?: false | {
    /** Failures in a row (unreachable, timeout before headers, or a retried 5xx) that open the circuit. Default 5. */
    failures?: number
    /** How long an open circuit skips its target before one request tries it again. Default `'30s'`. */
    coolDown?: Duration
  }
}

/** Options checked and turned into numbers, once per loaded config. */
export interface RetrySettings {
  attempts: number
  statuses: ReadonlySet<number>
  baseMs: number
  maxMs: number
  maxRetryAfterMs: number
  breaker: { failures: number; coolDownMs: number } | undefined
}

const FIELD = 'plugins.retry'
const KNOWN = ['attempts', 'statuses', 'backoff', 'maxRetryAfter', 'breaker']
const HINTS = { retries: 'attempts', maxRetries: 'attempts', maxAttempts: 'attempts', retryOn: 'statuses' }

function duration(value: Duration | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value)
  assertConfig(ms !== undefined, `${FIELD}.${field}`, `${JSON.stringify(value)} is not a duration like "200ms", "30s" or a number of milliseconds`)
  return ms
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Checks the options (errors name the field) and applies the defaults. */
export function resolveRetryOptions(options: RetryOptions = {}): RetrySettings {
  assertConfig(isObject(options), FIELD, 'must be an object of options')
  checkKnownKeys(options, KNOWN, FIELD, HINTS)
  checkKnownKeys(options.backoff, ['base', 'max'], `${FIELD}.backoff`)
  checkKnownKeys(options.breaker, ['failures', 'coolDown'], `${FIELD}.breaker`)
  const attempts = options.attempts ?? 3
  assertConfig(Number.isInteger(attempts) && attempts >= 1, `${FIELD}.attempts`, `must be an integer ≥ 1, got ${JSON.stringify(attempts)}`)

  const statuses = options.statuses ?? [429, 500, 502, 503, 504, 529]
  assertConfig(Array.isArray(statuses), `${FIELD}.statuses`, 'must be a list of HTTP statuses, like [429, 503]')
  for (const status of statuses) {
    assertConfig(Number.isInteger(status) && status >= 100 && status <= 599, `${FIELD}.statuses`, `${JSON.stringify(status)} is not an HTTP status (an integer from 100 to 599)`)
  }

  assertConfig(options.backoff === undefined || isObject(options.backoff), `${FIELD}.backoff`, 'must be an object like { base: "200ms", max: "10s" }')
  const baseMs = duration(options.backoff?.base, 200, 'backoff.base')
  const maxMs = duration(options.backoff?.max, 10_000, 'backoff.max')
  assertConfig(maxMs >= baseMs, `${FIELD}.backoff.max`, `must not be below backoff.base (${baseMs} ms)`)
  const maxRetryAfterMs = duration(options.maxRetryAfter, 30_000, 'maxRetryAfter')

  let breaker: RetrySettings['breaker']
  if (options.breaker !== false) {
    assertConfig(options.breaker === undefined || isObject(options.breaker), `${FIELD}.breaker`, 'must be false or an object like { failures: 5, coolDown: "30s" }')
    const failures = options.breaker?.failures ?? 5
    assertConfig(Number.isInteger(failures) && failures >= 1, `${FIELD}.breaker.failures`, `must be an integer ≥ 1, got ${JSON.stringify(failures)}`)
    const coolDownMs = duration(options.breaker?.coolDown, 30_000, 'breaker.coolDown')
    assertConfig(coolDownMs > 0, `${FIELD}.breaker.coolDown`, 'must be longer than 0')
    breaker = { failures, coolDownMs }
  }

  return { attempts, statuses: new Set(statuses), baseMs, maxMs, maxRetryAfterMs, breaker }
}
