import type { ConsolaInstance } from 'consola'
import { ForwardKeyStore, type ForwardResult, type KeyUsageDelta, type PluginStorage, type RuntimeKeyRecord } from '../../src/index.ts'

/**
 * How long this process trusts what it read about a runtime key (found or not found). Under a
 * second, so a key created on one instance works on every other, and a revoked one is refused
 * everywhere, within a second.
 */
const FRESH_MS = 500
/** Digests remembered; past this the memo starts over (anyone can send any key). */
const KEPT = 10_000
/** How often each process adds the use it saw to the shared counters. */
const FLUSH_MS = 1000

interface Seen {
  at: number
  record: RuntimeKeyRecord | undefined
}

/**
 * Forward keys made at run time, read from shared storage by digest and remembered for half a
 * second; and every caller's use, added up here and flushed to storage once a second.
 */
export class RuntimeKeys {
  #store: ForwardKeyStore | undefined
  #log: ConsolaInstance | undefined
  readonly #seen = new Map<string, Seen>()
  readonly #reading = new Map<string, Promise<RuntimeKeyRecord | undefined>>()
  readonly #usage = new Map<string, KeyUsageDelta>()
  #timer: NodeJS.Timeout | undefined
  #warned = false

  /**
   * Uses `storage` (the plugin's namespace) from now on, once the config's key names and levels are
   * published (for the admin API); resolves with the disposer, which flushes what is left.
   */
  async attach(storage: PluginStorage, log: ConsolaInstance, config: { keys: Array<{ name: string; level: string }>; levels: string[] }): Promise<() => Promise<void>> {
    const store = (this.#store = new ForwardKeyStore(storage))
    this.#log = log
    this.#seen.clear()
    const publish = () => store.publishConfig(config.keys, config.levels).catch((error) => this.#failed(error))
    await publish()
    let ticks = 0
    clearInterval(this.#timer)
    this.#timer = setInterval(() => {
      void this.flush()
      if (++ticks % 30 === 0) void publish()
    }, FLUSH_MS).unref()
    // A key revoked or rotated by this process's admin API is refused here at once, not after the memo's age.
    const unsubscribe = ForwardKeyStore.onDropped((digest) => this.#seen.delete(digest))
    return async () => {
      unsubscribe()
      clearInterval(this.#timer)
      await this.flush()
    }
  }

  /** The runtime key with this digest, or `undefined`. Reads storage at most once per digest per half second. */
  find(digest: string, now = Date.now()): RuntimeKeyRecord | undefined | Promise<RuntimeKeyRecord | undefined> {
    const seen = this.#seen.get(digest)
    if (seen && now - seen.at < FRESH_MS) return seen.record
    const store = this.#store
    if (!store) return undefined
    let reading = this.#reading.get(digest)
    if (!reading) {
      reading = store.lookup(digest, now).then(
        (record) => {
          if (this.#seen.size >= KEPT) this.#seen.clear()
          this.#seen.set(digest, { at: Date.now(), record })
          return record
        },
        (error) => {
          this.#failed(error)
          // Storage is down: go on with what was known, else refuse (a key that cannot be checked).
          return seen?.record
        },
      ).finally(() => this.#reading.delete(digest))
      this.#reading.set(digest, reading)
    }
    return reading
  }

  /** Counts one exchange of `name` (requests, tokens, dollars), to be flushed within a second. */
  count(name: string, result: ForwardResult): void {
    let delta = this.#usage.get(name)
    if (!delta) this.#usage.set(name, (delta = { requests: 0, tokens: 0, nanoUsd: 0, estimatedNanoUsd: 0, lastUsedAt: 0 }))
    delta.requests++
    delta.lastUsedAt = Date.now()
    if (result.attempts === 0 || result.status >= 400) return
    const usage = result.usage()
    if (usage) delta.tokens += usage.totalTokens
    const cost = result.cost()
    if (cost?.nanoUsd) {
      delta.nanoUsd += cost.nanoUsd
      if (cost.estimated) delta.estimatedNanoUsd += cost.nanoUsd
    }
  }

  /** Adds the use counted since the last flush to the shared counters. */
  async flush(): Promise<void> {
    const store = this.#store
    if (!store || this.#usage.size === 0) return
    const batch = [...this.#usage]
    this.#usage.clear()
    await Promise.all(batch.map(([name, delta]) => store.addUsage(name, delta))).catch((error) => this.#failed(error))
  }

  #failed(error: unknown): void {
    if (this.#warned) return
    this.#warned = true
    this.#log?.warn(`keys: storage failed (${(error as Error)?.message ?? error}); runtime keys are checked against what this process last read until it recovers`)
  }
}
