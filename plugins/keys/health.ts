import type { ConsolaInstance } from 'consola'
import type { PluginStorage } from '../../src/index.ts'

/** How often this process re-reads what other instances recorded. */
const REFRESH_MS = 1000
const PREFIX = 'health:'

/**
 * Which real keys are set aside, and until when (epoch ms), by key digest. Shared through storage
 * (Redis: across every instance); each process answers from its own copy, which a timer refreshes
 * from shared storage once a second, so choosing a key never waits on storage. What this process
 * learns itself counts at once.
 */
export class KeyHealth {
  readonly #until = new Map<string, number>()
  #storage: PluginStorage | undefined
  #log: ConsolaInstance | undefined
  #refreshing: Promise<void> | undefined
  #stop = () => {}
  #warned = false

  /** @param digests every real key's digest, of every level */
  constructor(private readonly digests: readonly string[]) {}

  /**
   * Uses `storage` from now on. When it is shared (Redis), reads what other instances recorded,
   * now and every second until the returned function stops it.
   */
  attach(storage: PluginStorage, log: ConsolaInstance): () => void {
    this.#stop()
    this.#storage = storage
    this.#log = log
    if (!storage.shared) return () => {}
    const tick = () => {
      this.#refreshing ??= this.#refresh(storage).finally(() => (this.#refreshing = undefined))
    }
    tick()
    const timer = setInterval(tick, REFRESH_MS).unref()
    this.#stop = () => clearInterval(timer)
    return this.#stop
  }

  /** When the key comes back (epoch ms); 0 or a past time when it is usable now. */
  until(digest: string): number {
    return this.#until.get(digest) ?? 0
  }

  /** Sets a key aside until `until` here at once, and in storage for the other instances. */
  setAside(digest: string, until: number): Promise<void> {
    if (until <= this.until(digest)) return Promise.resolve()
    this.#until.set(digest, until)
    const storage = this.#storage
    if (!storage) return Promise.resolve()
    return storage.set(`${PREFIX}${digest}`, until, { ttl: Math.max(1, until - Date.now()) }).catch((error) => this.#failed(error))
  }

  async #refresh(storage: PluginStorage): Promise<void> {
    try {
      // One GET per known key (a handful), rather than a key scan over a shared Redis.
      const values = await Promise.all(this.digests.map((digest) => storage.get<number>(`${PREFIX}${digest}`)))
      const now = Date.now()
      this.digests.forEach((digest, i) => {
        const until = Number(values[i])
        if (Number.isFinite(until) && until > now && until > this.until(digest)) this.#until.set(digest, until)
      })
      // Forget keys that came back, so the map stays as small as the set-aside list.
      for (const [digest, until] of this.#until) if (until <= now) this.#until.delete(digest)
    } catch (error) {
      this.#failed(error)
    }
  }

  #failed(error: unknown): void {
    // Keys keep being chosen from this process's own view; say so once, not per request.
    if (this.#warned) return
    this.#warned = true
    this.#log?.warn(`keys: storage failed (${(error as Error)?.message ?? error}); key health is per process until it recovers`)
  }
}
