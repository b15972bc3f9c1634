import { createStorage, type Storage } from 'unstorage'
import memoryDriver from 'unstorage/drivers/memory'
import fsDriver from 'unstorage/drivers/fs'
import type { Cluster, Redis } from 'ioredis'
import type { StorageConfig } from '../config/types.ts'
import { MemoryCounters, type CounterBackend } from './counters.ts'
import { failFast } from './fail-fast.ts'
import { RedisCounters } from './redis-counters.ts'
import type { ConsumeResult, PluginStorage, SetOptions, WindowSpec } from './types.ts'

/** The gateway's storage: one per loaded config, shared by every plugin through namespaces. */
export interface GatewayStorage {
  readonly driver: StorageConfig['driver']
  /** Storage for one plugin, under the namespace `name`. */
  forPlugin(name: string): PluginStorage
  /** Resolves when the backend answers (for `/readyz`). */
  ping(): Promise<void>
  dispose(): Promise<void>
}

/** A stored value with its own expiry, because the memory and fs drivers ignore `ttl`. */
interface Envelope { v: unknown; e?: number }

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && 'v' in value
}

class NamespacedStorage implements PluginStorage {
  constructor(
    readonly driver: string,
    readonly shared: boolean,
    private readonly kv: Storage,
    private readonly counters: CounterBackend,
    private readonly namespace: string,
  ) {}

  async get<T>(key: string): Promise<T | null> {
    const stored = this.driver === 'memory' ? await this.kv.getItemRaw(this.namespace + key) : await this.kv.getItem(this.namespace + key)
    if (!isEnvelope(stored)) return null
    if (stored.e !== undefined && stored.e <= Date.now()) {
      void this.kv.removeItem(this.namespace + key).catch(() => {})
      return null
    }
    return stored.v as T
  }

  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    const ttl = options?.ttl
    const envelope: Envelope = ttl ? { v: value, e: Date.now() + ttl } : { v: value }
    // The redis driver takes ttl in seconds and expires natively; the envelope covers the others.
    if (this.driver === 'memory') {
      // In memory the value is kept as it is, not serialised: reading it costs nothing, so values
      // read from storage must be treated as immutable.
      await this.kv.setItemRaw(this.namespace + key, envelope)
      return
    }
    await this.kv.setItem(this.namespace + key, envelope as never, ttl ? { ttl: Math.ceil(ttl / 1000) } : undefined)
  }

  async remove(key: string): Promise<void> {
    await this.kv.removeItem(this.namespace + key)
  }

  async keys(prefix = ''): Promise<string[]> {
    const base = this.namespace + prefix
    const keys = await this.kv.getKeys(base)
    return keys.map((k) => k.slice(this.namespace.length))
  }

  incr(key: string, amount: number, ttlMs: number): Promise<number> {
    return this.counters.incr(this.namespace + key, amount, ttlMs)
  }

  consume(windows: WindowSpec[], cost: number): Promise<ConsumeResult> {
    return this.counters.consume(this.#scoped(windows), cost)
  }

  adjust(windows: WindowSpec[], delta: number, at: number): Promise<void> {
    return this.counters.adjust(this.#scoped(windows), delta, at)
  }

  scope(namespace: string): PluginStorage {
    return new NamespacedStorage(this.driver, this.shared, this.kv, this.counters, `${this.namespace}${namespace}:`)
  }

  #scoped(windows: WindowSpec[]): WindowSpec[] {
    return windows.map((w) => ({ ...w, key: this.namespace + w.key }))
  }
}

/** Creates the storage a config asks for. Redis connects lazily and fails fast while it is down. */
export async function createGatewayStorage(config: StorageConfig, onError?: (message: string) => void): Promise<GatewayStorage> {
  let kv: Storage
  let counters: CounterBackend
  let redis: (() => Redis | Cluster) | undefined
  if (config.driver === 'redis') {
    // Loaded only for Redis: ioredis costs ~9 MB of memory a gateway on memory or fs never uses.
    const { default: redisDriver } = await import('unstorage/drivers/redis')
    const driver = redisDriver({
      url: config.url,
      cluster: config.cluster,
      base: config.prefix,
      // Fail fast while Redis is down, so plugins can fail open or closed instead of hanging.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
    })
    const client = driver.getInstance!() as Redis | Cluster
    // Down once it was up and is not now: calls fail at once until ioredis has reconnected. Before
    // the first connection, commands wait in ioredis's queue, so the first requests are not refused.
    let connected = false
    client.once('ready', () => (connected = true))
    const isDown = () => connected && client.status !== 'ready'
    const reason = () => `redis unreachable (${client.status})`
    kv = createStorage({ driver: failFast(driver, isDown, reason) })
    // ioredis reconnects by itself; report an outage once, not on every retry.
    let down = false
    client.on('error', (error: Error) => {
      if (down) return
      down = true
      onError?.(`storage: redis unreachable (${error.message}); retrying in the background`)
    })
    client.on('ready', () => {
      if (down) onError?.('storage: redis is back')
      down = false
    })
    redis = () => client
    counters = failFast(new RedisCounters(client, `${config.prefix ?? 'aifd:'}c:`), isDown, reason)
  } else {
    kv = createStorage({ driver: config.driver === 'fs' ? fsDriver({ base: config.base }) : memoryDriver() })
    counters = new MemoryCounters()
  }
  const shared = config.driver === 'redis'
  return {
    driver: config.driver,
    forPlugin: (name) => new NamespacedStorage(config.driver, shared, kv, counters, `${name}:`),
    async ping() {
      if (redis) await redis().ping()
      else await kv.hasItem('aifd:ping')
    },
    async dispose() {
      counters.dispose?.()
      await kv.dispose()
    },
  }
}

