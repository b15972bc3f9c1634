/** One forward key's use today. */
export interface KeyUsage {
  /** The caller's name (`ctx.caller.name`), or `(none)` for requests without one. */
  key: string
  requests: number
  promptTokens: number
  completionTokens: number
}

/** The caller name used for requests no auth plugin named. */
export const NO_CALLER = '(none)'

/** The local calendar day, `YYYY-MM-DD`: "today" as the operator reads it. */
function localDay(at: Date): string {
  return `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`
}

/** Requests and tokens per caller for the current local day; starts afresh at midnight. */
export class KeyUsageToday {
  #day = localDay(new Date())
  #byKey = new Map<string, KeyUsage>()

  #roll(now: Date): void {
    const day = localDay(now)
    if (day !== this.#day) {
      this.#day = day
      this.#byKey.clear()
    }
  }

  add(key: string, promptTokens: number, completionTokens: number, now = new Date()): void {
    this.#roll(now)
    let usage = this.#byKey.get(key)
    if (!usage) this.#byKey.set(key, (usage = { key, requests: 0, promptTokens: 0, completionTokens: 0 }))
    usage.requests++
    usage.promptTokens += promptTokens
    usage.completionTokens += completionTokens
  }

  /** Today's usage, busiest key first. */
  list(now = new Date()): { day: string; keys: KeyUsage[] } {
    this.#roll(now)
    const keys = [...this.#byKey.values()].map((u) => ({ ...u })).sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key))
    return { day: this.#day, keys }
  }
}
