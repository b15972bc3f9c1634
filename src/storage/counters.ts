import type { ConsumeResult, WindowSpec, WindowState } from './types.ts'

/** Atomic counter operations, implemented once per kind of backend. */
export interface CounterBackend {
  incr(key: string, amount: number, ttlMs: number): Promise<number>
  consume(windows: WindowSpec[], cost: number): Promise<ConsumeResult>
  adjust(windows: WindowSpec[], delta: number, at: number): Promise<void>
  dispose?(): void
}

interface FixedCounter { value: number; expiresAt: number }
interface MovingLog {
  entries: Array<{ at: number; cost: number }>
  /** The longest window this log was used with: entries older than that can never count again. */
  windowMs: number
}

/**
 * Counters in this process's memory. JavaScript runs one callback at a time, so every method is
 * atomic as long as it does not await. Used for the memory and fs drivers.
 */
export class MemoryCounters implements CounterBackend {
  #fixed = new Map<string, FixedCounter>()
  #moving = new Map<string, MovingLog>()
  #sweeper = setInterval(() => this.#sweep(), 60_000).unref()

  async incr(key: string, amount: number, ttlMs: number): Promise<number> {
    const now = Date.now()
    let counter = this.#fixed.get(key)
    if (!counter || counter.expiresAt <= now) {
      counter = { value: 0, expiresAt: now + ttlMs }
      this.#fixed.set(key, counter)
    }
    counter.value += amount
    return counter.value
  }

  async consume(windows: WindowSpec[], cost: number): Promise<ConsumeResult> {
    const now = Date.now()
    const states: WindowState[] = []
    let refusedBy: number | undefined
    for (const [index, window] of windows.entries()) {
      const { used, resetMs } = this.#read(window, now)
      states.push({ used, remaining: Math.max(0, window.limit - used), resetMs })
      if (refusedBy === undefined && used + cost > window.limit) refusedBy = index
    }
    if (refusedBy !== undefined) {
      // For the refusing window: when it has room for `cost`, which for a moving window may take more
      // than its oldest entry expiring (a token reservation larger than one expiring entry).
      const state = states[refusedBy]
      state.resetMs = this.#waitFor(windows[refusedBy], now, state.used, cost, state.resetMs)
      return { allowed: false, windows: states, refusedBy, retryAfterMs: state.resetMs, at: now }
    }
    for (const [index, window] of windows.entries()) {
      this.#add(window, cost, now, now)
      const state = states[index]
      state.used += cost
      state.remaining = Math.max(0, window.limit - state.used)
    }
    return { allowed: true, windows: states, refusedBy: undefined, retryAfterMs: 0, at: now }
  }

  async adjust(windows: WindowSpec[], delta: number, at: number): Promise<void> {
    const now = Date.now()
    for (const window of windows) this.#add(window, delta, at, now)
  }

  dispose(): void {
    clearInterval(this.#sweeper)
  }

  #read(window: WindowSpec, now: number): { used: number; resetMs: number } {
    if (window.strategy === 'fixed') {
      const counter = this.#fixed.get(window.key)
      if (!counter || counter.expiresAt <= now) return { used: 0, resetMs: window.windowMs }
      return { used: counter.value, resetMs: counter.expiresAt - now }
    }
    const log = this.#moving.get(window.key)
    if (!log) return { used: 0, resetMs: window.windowMs }
    const start = now - window.windowMs
    while (log.entries.length > 0 && log.entries[0].at <= start) log.entries.shift()
    let used = 0
    for (const entry of log.entries) used += entry.cost
    const oldest = log.entries[0]
    return { used, resetMs: oldest ? oldest.at + window.windowMs - now : window.windowMs }
  }

  /** Milliseconds until `window` (holding `used`) has room for `cost`; `fallback` when it never will. */
  #waitFor(window: WindowSpec, now: number, used: number, cost: number, fallback: number): number {
    if (window.strategy === 'fixed') return fallback
    const entries = this.#moving.get(window.key)?.entries ?? []
    let left = used
    for (const entry of entries) {
      left -= entry.cost
      if (left + cost <= window.limit) return Math.max(0, entry.at + window.windowMs - now)
    }
    return fallback
  }

  #add(window: WindowSpec, cost: number, at: number, now: number): void {
    if (window.strategy === 'fixed') {
      const counter = this.#fixed.get(window.key)
      if (counter && counter.expiresAt > now) {
        // Only settle into the window the units were counted in.
        if (at >= counter.expiresAt - window.windowMs) counter.value += cost
      } else if (at === now) {
        this.#fixed.set(window.key, { value: cost, expiresAt: now + window.windowMs })
      }
      return
    }
    let log = this.#moving.get(window.key)
    if (!log) this.#moving.set(window.key, (log = { entries: [], windowMs: window.windowMs }))
    else if (log.windowMs < window.windowMs) log.windowMs = window.windowMs
    // Keep entries ordered by time, so expiry can drop from the front.
    let index = log.entries.length
    while (index > 0 && log.entries[index - 1].at > at) index--
    log.entries.splice(index, 0, { at, cost })
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, counter] of this.#fixed) if (counter.expiresAt <= now) this.#fixed.delete(key)
    for (const [key, log] of this.#moving) {
      const last = log.entries[log.entries.length - 1]
      // Logs are only trimmed when read, so a key that is never read again (one IP's burst) must go here.
      if (!last || last.at <= now - log.windowMs) this.#moving.delete(key)
    }
  }
}
