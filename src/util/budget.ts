import { parseDuration } from './units.ts'

/**
 * A dollar budget as the config writes it: `'$50/month'`, `'$5/day'` (calendar periods, UTC), or a
 * sliding window with a number: `'$5/24h'`, `'$100/30d'`, `'$1/hour'`. Several, all of which
 * must hold: `'$5/day;$50/month'`.
 */
export type Budget = `$${string}/${string}`

/** One parsed budget amount over one period. */
export interface BudgetItem {
  /** The limit in nano-dollars (10⁻⁹ $), an integer: what the counters count. */
  nano: number
  /** `calendar`: the UTC day or month, resetting at its end. `sliding`: the last `windowMs`. */
  kind: 'calendar' | 'sliding'
  /** For calendar periods. */
  unit: 'day' | 'month' | undefined
  /** Sliding window length, or the longest a calendar period lasts (for counter expiry). */
  windowMs: number
  /** As written, for messages and the banner. */
  text: string
}

const DAY_MS = 86_400_000
/** Sliding units without a number: one of them. */
const SLIDING_WORDS: Record<string, number> = { hour: 3_600_000, minute: 60_000 }

/** Parses one `'$50/month'` string into its items; throws an Error saying what is wrong. */
export function parseBudget(value: string): BudgetItem[] {
  const items: BudgetItem[] = []
  for (const part of value.split(';')) {
    const text = part.trim()
    if (!text) continue
    const match = /^\$\s*(\d+(?:\.\d+)?)\s*(?:\/|per\s)\s*(.+)$/i.exec(text)
    if (!match) throw new Error(`"${text}" is not a budget like "$50/month", "$5/day" or "$10/24h"`)
    const nano = Math.round(Number(match[1]) * 1e9)
    if (!(nano > 0)) throw new Error(`"${text}" must allow more than $0`)
    const period = match[2].trim().toLowerCase()
    if (period === 'day' || period === 'month') {
      items.push({ nano, kind: 'calendar', unit: period, windowMs: period === 'day' ? DAY_MS : 31 * DAY_MS, text })
      continue
    }
    const windowMs = SLIDING_WORDS[period] ?? (/^\d/.test(period) ? parseDuration(period.replace(/\s+/g, '')) : undefined)
    if (!windowMs || windowMs <= 0) {
      throw new Error(`"${text}": the period must be "day" or "month" (calendar, UTC), or a sliding window with a number like "24h", "7d", "30days"`)
    }
    items.push({ nano, kind: 'sliding', unit: undefined, windowMs, text })
  }
  if (items.length === 0) throw new Error(`"${value}" holds no budget`)
  return items
}

/** A UTC calendar period: its name (`2026-12-07`, `2026-12`), start and end (epoch ms). */
export interface CalendarPeriod {
  id: string
  startsAt: number
  endsAt: number
}

/** The UTC calendar day or month holding `now`. */
export function calendarPeriod(unit: 'day' | 'month', now: number): CalendarPeriod {
  const at = new Date(now)
  const y = at.getUTCFullYear()
  const m = at.getUTCMonth()
  const mm = String(m + 1).padStart(2, '0')
  if (unit === 'month') return { id: `${y}-${mm}`, startsAt: Date.UTC(y, m, 1), endsAt: Date.UTC(y, m + 1, 1) }
  const d = at.getUTCDate()
  return { id: `${y}-${mm}-${String(d).padStart(2, '0')}`, startsAt: Date.UTC(y, m, d), endsAt: Date.UTC(y, m, d + 1) }
}
