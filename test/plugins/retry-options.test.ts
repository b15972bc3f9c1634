// The retry plugin's option checks (errors name the field) and its Retry-After reading.
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/index.ts'
import { retry } from '../../plugins/index.ts'
import type { RetryOptions } from '../../plugins/retry/index.ts'
import { backoffMs, retryAfterMs } from '../../plugins/retry/policy.ts'

function configError(options: unknown): ConfigError {
  try {
    retry(options as RetryOptions)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('retry options', () => {
  it('loads with no options and describes its defaults', () => {
    const plugin = retry()
    expect(plugin.name).toBe('retry')
    expect(plugin.describe?.()).toBe('3 attempts on 429/500/502/503/504/529 and connection errors, breaker after 5 failures for 30000 ms')
  })

  it.each([
    [{ attempts: 0 }, 'plugins.retry.attempts'],
    [{ attempts: 1.5 }, 'plugins.retry.attempts'],
    [{ attempts: '3' }, 'plugins.retry.attempts'],
    [{ statuses: 503 }, 'plugins.retry.statuses'],
    [{ statuses: [503, '429'] }, 'plugins.retry.statuses'],
    [{ statuses: [5030] }, 'plugins.retry.statuses'],
    [{ backoff: '200ms' }, 'plugins.retry.backoff'],
    [{ backoff: { base: 'soon' } }, 'plugins.retry.backoff.base'],
    [{ backoff: { max: '10 parsecs' } }, 'plugins.retry.backoff.max'],
    [{ backoff: { base: '5s', max: '1s' } }, 'plugins.retry.backoff.max'],
    [{ maxRetryAfter: -1 }, 'plugins.retry.maxRetryAfter'],
    [{ breaker: true }, 'plugins.retry.breaker'],
    [{ breaker: { failures: 0 } }, 'plugins.retry.breaker.failures'],
    [{ breaker: { coolDown: 'a while' } }, 'plugins.retry.breaker.coolDown'],
    [{ breaker: { coolDown: 0 } }, 'plugins.retry.breaker.coolDown'],
  ])('refuses %j, naming %s', (options, field) => {
    expect(configError(options).field).toBe(field)
  })

  it('turns the breaker off with breaker: false (no per-target hooks on the hot path)', () => {
    const plugin = retry({ breaker: false })
    expect(plugin.beforeUpstream).toBeUndefined()
    expect(plugin.afterUpstream).toBeUndefined()
    expect(plugin.describe?.()).not.toContain('breaker')
  })
})

describe('Retry-After', () => {
  const now = Date.parse('2025-01-01T00:00:00Z')

  it('reads seconds, fractions, HTTP dates and OpenAI\'s retry-after-ms', () => {
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2000)
    expect(retryAfterMs({ 'retry-after': '0.5' }, now)).toBe(500)
    expect(retryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }, now)).toBe(3000)
    expect(retryAfterMs({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }, now)).toBe(0)
    expect(retryAfterMs({ 'retry-after-ms': '150', 'retry-after': '9' }, now)).toBe(150)
  })

  it('ignores what it cannot read', () => {
    expect(retryAfterMs({}, now)).toBeUndefined()
    expect(retryAfterMs({ 'retry-after': 'later' }, now)).toBeUndefined()
    expect(retryAfterMs({ 'retry-after': '-3' }, now)).toBeUndefined()
  })
})

describe('backoff', () => {
  it('stays under min(max, base × 2^(n-1)) with full jitter', () => {
    const waits = Array.from({ length: 200 }, () => backoffMs(3, 100, 300))
    expect(Math.max(...waits)).toBeLessThan(300)
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0)
    // Full jitter spreads retries over the whole range rather than bunching at the ceiling.
    expect(waits.some((w) => w < 100)).toBe(true)
    expect(Math.max(...Array.from({ length: 200 }, () => backoffMs(1, 100, 300)))).toBeLessThan(100)
  })
})
