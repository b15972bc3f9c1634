import { errorResponse, type ConsumeResult } from '../../src/index.ts'
import type { ChosenWindow } from './rules.ts'

/** What is limited: OpenAI's header suffix and the word used in messages. */
export type LimitUnit = 'requests' | 'tokens'

/** `1s`, `1.5s`, `1.05s`, `1.005s` for 1000, 1500, 1050, 1005 ms: decimals without trailing zeros (sent on every response, so no float formatting). */
function secondsText(ms: number): string {
  const whole = Math.floor(ms / 1000)
  let fraction = ms % 1000
  if (fraction === 0) return `${whole}s`
  let digits = 3
  while (fraction % 10 === 0) {
    fraction /= 10
    digits--
  }
  return `${whole}.${String(fraction).padStart(digits, '0')}s`
}

/** A duration as OpenAI writes it in `x-ratelimit-reset-*` (Go style): `17ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`. */
export function openaiDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms))
  if (total < 1000) return `${total}ms`
  const hours = Math.floor(total / 3_600_000)
  const minutes = Math.floor((total % 3_600_000) / 60_000)
  const seconds = secondsText(total % 60_000)
  if (hours) return `${hours}h${minutes}m${seconds}`
  return minutes ? `${minutes}m${seconds}` : seconds
}

const WINDOW_UNITS: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']]

/** `"60 per 1 minute"`, `"100 per 2 minutes"`: a limit as messages name it. */
export function limitText(window: ChosenWindow): string {
  const { amount, windowMs } = window.item
  for (const [size, unit] of WINDOW_UNITS) {
    if (windowMs % size === 0) {
      const count = windowMs / size
      return `${amount} per ${count} ${unit}${count === 1 ? '' : 's'}`
    }
  }
  return `${amount} per ${windowMs} ms`
}

/** The window to show in headers: the refusing one, else the one closest to refusing. */
function shownIndex(result: ConsumeResult): number {
  if (result.refusedBy !== undefined) return result.refusedBy
  let shown = 0
  for (let i = 1; i < result.windows.length; i++) {
    const a = result.windows[i]
    const b = result.windows[shown]
    if (a.remaining < b.remaining || (a.remaining === b.remaining && a.resetMs > b.resetMs)) shown = i
  }
  return shown
}

const HEADER_NAMES: Record<LimitUnit, { limit: string; remaining: string; reset: string }> = {
  requests: { limit: 'x-ratelimit-limit-requests', remaining: 'x-ratelimit-remaining-requests', reset: 'x-ratelimit-reset-requests' },
  tokens: { limit: 'x-ratelimit-limit-tokens', remaining: 'x-ratelimit-remaining-tokens', reset: 'x-ratelimit-reset-tokens' },
}

/** Sets OpenAI's `x-ratelimit-{limit,remaining,reset}-<unit>` headers, sent on every response. */
export function setLimitHeaders(headers: Record<string, string>, unit: LimitUnit, windows: readonly ChosenWindow[], result: ConsumeResult): void {
  const index = shownIndex(result)
  const state = result.windows[index]
  const names = HEADER_NAMES[unit]
  headers[names.limit] = String(windows[index].item.amount)
  headers[names.remaining] = String(Math.max(0, Math.floor(state.remaining)))
  headers[names.reset] = openaiDuration(state.resetMs)
}

const SCOPE_WORDS: Record<ChosenWindow['scope'], string> = { key: 'per key', ip: 'per IP', route: 'on this route', global: 'for everyone' }

/** The 429 for a refused request: OpenAI's error shape, with `Retry-After` in whole seconds, rounded up. */
export function refusal(unit: LimitUnit, windows: readonly ChosenWindow[], result: ConsumeResult, requested: number): Response {
  const window = windows[result.refusedBy!]
  const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000))
  const model = window.spec.key.includes('|model=') ? ` for this model` : ''
  const what = unit === 'requests' ? '' : ` (used ${Math.ceil(result.windows[result.refusedBy!].used)}, requested ${requested})`
  return errorResponse(
    429,
    `Rate limit reached on ${unit}${model} ${SCOPE_WORDS[window.scope]}: ${limitText(window)}${what}. Please try again in ${openaiDuration(result.retryAfterMs)}.`,
    'rate_limit_error',
    'rate_limit_exceeded',
    { 'retry-after': String(seconds) },
  )
}

/** Fail closed: the limiter's storage cannot be reached, so the request is not let through unchecked. */
export function unavailable(plugin: string): Response {
  return errorResponse(503, `The ${plugin} limiter cannot reach its storage, so the request was refused. Please try again shortly.`, 'api_error', 'limiter_unavailable')
}
