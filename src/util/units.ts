const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
}

/** Unit names a duration string may use. */
export type DurationUnit = 'ms' | 's' | 'sec' | 'second' | 'seconds' | 'm' | 'min' | 'minute' | 'minutes' | 'h' | 'hour' | 'hours' | 'd' | 'day' | 'days'

/**
 * A duration, accepted the same way by every option that takes one: a string like `"250ms"`,
 * `"30s"`, `"5m"`, `"1h"`, `"7d"`, or a number in the option's own unit (milliseconds, except where
 * an option says seconds, like `server.gracePeriod`).
 */
export type Duration = number | `${number}${DurationUnit}` | `${number} ${DurationUnit}`

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

/**
 * Parses `"30s"`, `"5m"`, `"1h"`, `"7d"`, `"250ms"` or a number into milliseconds; a number counts
 * `numberUnit` (milliseconds unless told otherwise, e.g. `'s'` for a field kept in seconds).
 * Returns `undefined` if malformed or negative.
 */
export function parseDuration(value: number | string, numberUnit: 'ms' | 's' = 'ms'): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * DURATION_UNITS[numberUnit] : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
  if (!match) return undefined
  const unit = match[2].toLowerCase() || 'ms'
  const factor = DURATION_UNITS[unit]
  return factor === undefined ? undefined : Number(match[1]) * factor
}

/** Parses `"25mb"`, `"512kb"` or a number of bytes. Returns `undefined` if malformed. */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
  if (!match) return undefined
  const factor = SIZE_UNITS[match[2].toLowerCase() || 'b']
  return factor === undefined ? undefined : Math.floor(Number(match[1]) * factor)
}

/** Unit names accepted in rate strings (`60/minute`), to milliseconds. */
export const RATE_UNITS: Readonly<Record<string, number>> = {
  second: 1000, seconds: 1000, s: 1000,
  minute: 60_000, minutes: 60_000, m: 60_000, min: 60_000,
  hour: 3_600_000, hours: 3_600_000, h: 3_600_000,
  day: 86_400_000, days: 86_400_000, d: 86_400_000,
}

/** One limit of a rate string: `amount` per `windowMs`. */
export interface RateLimitItem {
  amount: number
  windowMs: number
  /** The item as written, for messages and headers. */
  text: string
}

/**
 * Parses a rate string as the original wrote them: `"60/minute"`, `"100/2minutes"`,
 * `"60/minute;600/hour"`, `"100k/minute"` (k and m suffixes for tokens).
 * Throws an error naming the malformed part.
 */
export function parseRate(value: string): RateLimitItem[] {
  const items: RateLimitItem[] = []
  for (const part of value.split(/[;,]/)) {
    const text = part.trim()
    if (!text) continue
    const match = /^(\d+(?:\.\d+)?)\s*([km]?)\s*(?:\/|per)\s*(\d*)\s*([a-z]+)$/i.exec(text)
    const unit = match && RATE_UNITS[match[4].toLowerCase()]
    if (!match || !unit) throw new Error(`"${text}" is not a rate like "60/minute" or "100/2minutes"`)
    const scale = match[2].toLowerCase() === 'k' ? 1000 : match[2].toLowerCase() === 'm' ? 1_000_000 : 1
    const amount = Math.round(Number(match[1]) * scale)
    const count = match[3] ? Number(match[3]) : 1
    if (amount <= 0 || count <= 0) throw new Error(`"${text}" must allow a positive amount per a positive window`)
    items.push({ amount, windowMs: unit * count, text })
  }
  if (items.length === 0) throw new Error(`"${value}" holds no rate`)
  return items
}
