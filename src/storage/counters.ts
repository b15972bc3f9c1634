import { SlidingLog } from './sliding-log.ts'
import type { ConsumeResult, WindowSpec, WindowState } from './types.ts'

/** Atomic counter operations, implemented once per kind of backend. */
export interface CounterBackend {
  incr(key: string, amount: number, ttlMs: number): Promise<number>
  consume(windows: WindowSpec[], cost: number): Promise<ConsumeResult>
  adjust(windows: WindowSpec[], delta: number, at: number): Promise<void>
  dispose?(): void
}

interface FixedCounter { value: number; expiresAt: number }

/**
 * Counters in this process's memory. JavaScript runs one callback at a time, so every method is
 * atomic as long as it does not await. Used for the memory and fs drivers.
 */
export class MemoryCounters implements CounterBackend {
  #fixed = new Map<string, FixedCounter>()
  #moving = new Map<string, SlidingLog>()
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
    const used = log.usedSince(now - log.windowMs)
    const oldest = log.oldest
    if (window.windowMs === log.windowMs) return { used, resetMs: oldest === undefined ? window.windowMs : oldest + window.windowMs - now }
    // The same key used with a shorter window than its longest: count that window's entries alone.
    let inWindow = 0
    let first: number | undefined
    for (const entry of log.entries()) {
      if (entry.at <= now - window.windowMs) continue
      first ??= entry.at
      inWindow += entry.cost
    }
    return { used: inWindow, resetMs: first === undefined ? window.windowMs : first + window.windowMs - now }
  }

  /** Milliseconds until `window` (holding `used`) has room for `cost`; `fallback` when it never will. */
  #waitFor(window: WindowSpec, now: number, used: number, cost: number, fallback: number): number {
    if (window.strategy === 'fixed') return fallback
    const log = this.#moving.get(window.key)
    if (!log) return fallback
    let left = used
    for (const entry of log.entries()) {
      if (entry.at <= now - window.windowMs) continue
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
    // Units counted at a time already outside the window no longer count: nothing to settle.
    if (at <= now - window.windowMs) return
    let log = this.#moving.get(window.key)
    if (!log) this.#moving.set(window.key, (log = new SlidingLog(window.windowMs)))
    else if (log.windowMs < window.windowMs) log.windowMs = window.windowMs
    log.add(at, cost)
  }

  #sweep(): void {
    const now = Date.now()
    for (const [key, counter] of this.#fixed) if (counter.expiresAt <= now) this.#fixed.delete(key)
    for (const [key, log] of this.#moving) {
      const newest = log.newest
      // Logs are only trimmed when read, so a key that is never read again (one IP's burst) must go here.
      if (newest === undefined || newest <= now - log.windowMs) this.#moving.delete(key)
    }
  }
}
