/** One forward key's (or one model's) use in a period. */
export interface KeyUsage {
  /** The caller's name (`ctx.caller.name`), or `(none)` for requests without one; a model's name in the per-model lists. */
  key: string
  requests: number
  promptTokens: number
  completionTokens: number
  /** US dollars spent by priced exchanges. */
  costUsd: number
  /** Part of `costUsd` comes from usage the gateway counted (tiktoken), not from the upstream. */
  estimated: boolean
  /** Exchanges whose model has no price (their cost is not in `costUsd`). */
  unpriced: number
}

/** The usage of one period: per caller and per model, busiest first. */
export interface PeriodUsage {
  /** `YYYY-MM-DD` for a day, `YYYY-MM` for a month (local time). */
  period: string
  keys: KeyUsage[]
  models: KeyUsage[]
}

/** The caller name used for requests no auth plugin named. */
export const NO_CALLER = '(none)'
/** The model name used for exchanges that named none. */
export const NO_MODEL = '(unknown)'

/** Distinct callers or models counted per period; past this the rest are counted as `(other)`. */
const NAMES_KEPT = 2000

const pad = (n: number) => String(n).padStart(2, '0')

/** The local calendar day, `YYYY-MM-DD`: "today" as the operator reads it. */
export function localDay(at: Date): string {
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`
}

/** The local calendar month, `YYYY-MM`. */
export function localMonth(at: Date): string {
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}`
}

/** What one exchange adds to the usage tables. */
export interface UsageEntry {
  key: string
  model: string
  promptTokens: number
  completionTokens: number
  /** `undefined`: nothing was spent; `null`: the model has no price. */
  costUsd: number | null | undefined
  estimated: boolean
}

class Table {
  readonly #rows = new Map<string, KeyUsage>()

  add(name: string, entry: UsageEntry): void {
    let row = this.#rows.get(name)
    if (!row) {
      if (this.#rows.size >= NAMES_KEPT) return this.add('(other)', entry)
      this.#rows.set(name, (row = { key: name, requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, estimated: false, unpriced: 0 }))
    }
    row.requests++
    row.promptTokens += entry.promptTokens
    row.completionTokens += entry.completionTokens
    if (entry.costUsd === null) row.unpriced++
    else if (entry.costUsd !== undefined) {
      row.costUsd += entry.costUsd
      if (entry.estimated) row.estimated = true
    }
  }

  list(): KeyUsage[] {
    return [...this.#rows.values()].map((u) => ({ ...u })).sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || a.key.localeCompare(b.key))
  }
}

/**
 * Requests, tokens and dollars per caller and per model for the current period (a local day or
 * month); starts afresh when the period changes. Kept in this process's memory: it counts what
 * this process served since it started.
 */
export class PeriodUsageTable {
  #period: string
  #keys = new Table()
  #models = new Table()

  constructor(private readonly periodOf: (at: Date) => string) {
    this.#period = periodOf(new Date())
  }

  #roll(now: Date): void {
    const period = this.periodOf(now)
    if (period !== this.#period) {
      this.#period = period
      this.#keys = new Table()
      this.#models = new Table()
    }
  }

  add(entry: UsageEntry, now = new Date()): void {
    this.#roll(now)
    this.#keys.add(entry.key, entry)
    this.#models.add(entry.model, entry)
  }

  /** This period's usage, the biggest spender first. */
  list(now = new Date()): PeriodUsage {
    this.#roll(now)
    return { period: this.#period, keys: this.#keys.list(), models: this.#models.list() }
  }
}
