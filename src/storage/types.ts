/** A limit window for `consume`: at most `limit` units per `windowMs` under `key`. */
export interface WindowSpec {
  key: string
  limit: number
  windowMs: number
  /**
   * `fixed`: a counter that starts at the first hit and resets after `windowMs`.
   * `moving`: a true sliding window over the last `windowMs` (no 2× burst at a window edge).
   */
  strategy: 'fixed' | 'moving'
}

export interface WindowState {
  /** Units used in the window after this call. */
  used: number
  /** Units left in the window after this call (0 when refused). */
  remaining: number
  /** Milliseconds until the window frees room again. */
  resetMs: number
}

export interface ConsumeResult {
  /** Whether every window had room; if not, nothing was counted anywhere. */
  allowed: boolean
  /** One state per window, in the order given. */
  windows: WindowState[]
  /** Index of the first window that refused, when not allowed. */
  refusedBy: number | undefined
  /** When refused: milliseconds until the refusing window has room. */
  retryAfterMs: number
  /** Server time the units were counted at; pass it to `adjust` to settle them. */
  at: number
}

export interface SetOptions {
  /** Time to live in milliseconds. Honoured on every driver. */
  ttl?: number
}

/**
 * Storage given to plugins: namespaced key-value storage with TTL, and atomic counters that are
 * correct on every driver and, with Redis, across every instance sharing it.
 */
export interface PluginStorage {
  /** `memory`, `fs` or `redis`. */
  readonly driver: string
  /** Whether other processes see the same data (Redis). Counters on memory and fs are per process. */
  readonly shared: boolean
  /** The stored value, or null. Treat it as immutable: the memory driver returns the stored object itself. */
  get<T = unknown>(key: string): Promise<T | null>
  set(key: string, value: unknown, options?: SetOptions): Promise<void>
  remove(key: string): Promise<void>
  /** Keys under this namespace (optionally under a further prefix), without the namespace. */
  keys(prefix?: string): Promise<string[]>
  /** Atomically adds `amount` (may be negative) and returns the new value; the key expires `ttlMs` after it was created. */
  incr(key: string, amount: number, ttlMs: number): Promise<number>
  /**
   * Atomically checks every window and, only if all have room for `cost`, counts `cost` in all of them.
   * One step on every driver (a Lua script on Redis), so concurrent callers never overshoot.
   */
  consume(windows: WindowSpec[], cost: number): Promise<ConsumeResult>
  /**
   * Adds `delta` (may be negative) to windows counted at `at` (from `consume`), e.g. to settle a
   * reservation to the real usage. Fixed windows that have already reset are left alone.
   */
  adjust(windows: WindowSpec[], delta: number, at: number): Promise<void>
  /** A view of this storage under a further namespace. */
  scope(namespace: string): PluginStorage
}
