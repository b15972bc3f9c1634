import { hash, randomBytes } from 'node:crypto'
import type { PluginStorage } from '../storage/types.ts'

/** A forward key made at run time (admin API, dashboard, `aifd keys create`). Never holds the secret. */
export interface RuntimeKeyRecord {
  name: string
  level: string
  /** Epoch ms. */
  createdAt: number
  /** Epoch ms after which the key is refused; `undefined`: never. */
  expiresAt?: number
  /** The key's own dollar budget (`'$20/month'`), applied by the `budget` plugin. */
  budget?: string
}

/** A forward key as the admin API lists it: runtime or from the config, with its use. Never the secret. */
export interface ListedKey {
  name: string
  level: string | undefined
  source: 'runtime' | 'config'
  createdAt: number | undefined
  expiresAt: number | undefined
  budget: string | undefined
  /** Epoch ms of the last request, as flushed by the instances (about once a second). */
  lastUsedAt: number | undefined
  requests: number
  tokens: number
  /** US dollars (priced exchanges). */
  costUsd: number
  /** The part of `costUsd` priced from usage the gateway counted (the upstream reported none). */
  estimatedCostUsd: number
}

/** What the `keys` plugin publishes of one config-declared key (names only). */
export interface ConfigKeyNote {
  name: string
  level: string
}

/** Usage added to one key since the last flush. */
export interface KeyUsageDelta {
  requests: number
  tokens: number
  nanoUsd: number
  /** The part of `nanoUsd` from estimated usage. */
  estimatedNanoUsd: number
  lastUsedAt: number
}

/** Counters live this long after their last change (they are cumulative, not windowed). */
const USAGE_TTL_MS = 400 * 86_400_000
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** The sha256 of a forward key, in hex: the only form a key is stored or looked up in. */
export function keyDigest(secret: string): string {
  return hash('sha256', secret, 'hex')
}

/** A new forward key: `fk-` and 32 random bytes, base64url. */
export function newForwardKeySecret(): string {
  return `fk-${randomBytes(32).toString('base64url')}`
}

const SECRET_SHAPE = /^fk-[A-Za-z0-9_-]{43}$/

/** Whether `key` has the shape of a runtime key's secret: anything else is never looked up in storage. */
export function mayBeRuntimeKey(key: string): boolean {
  return key.length === 46 && SECRET_SHAPE.test(key)
}

/** A problem with a key request the admin API answers 400/404/409 for. */
export class KeyStoreError extends Error {
  constructor(readonly status: 400 | 404 | 409, message: string) {
    super(message)
  }
}

/**
 * Forward keys made at run time, kept in the `keys` plugin's storage namespace by sha256 digest, so
 * every instance on one Redis shares them; and every key's use (requests, tokens, dollars, last use).
 * Both the `keys` plugin and the admin API work through this class, on the same namespace.
 *
 * Layout: `rk:<digest>` → record; `rn:<name>` → digest (find by name); `cfg:<name>` → a config key's
 * name and level (published by the plugin); `levels` → the plugin's level names; usage counters under
 * `u:<name>:*` and `lastUsed:<name>`.
 */
const droppedListeners = new Set<(digest: string) => void>()

function dropped(digest: string): void {
  for (const listener of droppedListeners) listener(digest)
}

export class ForwardKeyStore {
  constructor(readonly storage: PluginStorage) {}

  /** The record of a runtime key by digest, or `undefined` (unknown, revoked or expired). */
  async lookup(digest: string, now = Date.now()): Promise<RuntimeKeyRecord | undefined> {
    const record = await this.storage.get<RuntimeKeyRecord>(`rk:${digest}`)
    if (!record || (record.expiresAt !== undefined && record.expiresAt <= now)) return undefined
    return record
  }

  /** Creates a key; returns its secret (shown once: only its digest is stored). */
  async create(input: { name: unknown; level: unknown; expiresAt?: unknown; budget?: unknown }, validate: { levels: readonly string[]; budget?: (text: string) => string | undefined }): Promise<{ secret: string; record: RuntimeKeyRecord }> {
    const { name, level } = input
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw new KeyStoreError(400, 'name must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit')
    if (typeof level !== 'string' || !validate.levels.includes(level)) {
      throw new KeyStoreError(400, validate.levels.length ? `level must be one of ${validate.levels.map((l) => `"${l}"`).join(', ')}` : 'no keys plugin has published its levels yet: is keys({ runtimeKeys: true }) in the config, and has the gateway started?')
    }
    let expiresAt: number | undefined
    if (input.expiresAt !== undefined && input.expiresAt !== null && input.expiresAt !== '') {
      expiresAt = typeof input.expiresAt === 'number' ? input.expiresAt : Date.parse(String(input.expiresAt))
      if (!Number.isFinite(expiresAt) || expiresAt <= Date.now()) throw new KeyStoreError(400, 'expiresAt must be a time in the future (ISO 8601 or epoch ms)')
    }
    let budget: string | undefined
    if (input.budget !== undefined && input.budget !== null && input.budget !== '') {
      if (typeof input.budget !== 'string') throw new KeyStoreError(400, 'budget must be a string like "$20/month"')
      const problem = validate.budget?.(input.budget)
      if (problem) throw new KeyStoreError(400, `budget: ${problem}`)
      budget = input.budget
    }
    if ((await this.storage.get(`rn:${name}`)) || (await this.storage.get(`cfg:${name}`))) throw new KeyStoreError(409, `a key named "${name}" already exists`)
    const secret = newForwardKeySecret()
    const record: RuntimeKeyRecord = { name, level, createdAt: Date.now(), ...(expiresAt !== undefined && { expiresAt }), ...(budget !== undefined && { budget }) }
    await this.#write(keyDigest(secret), record)
    return { secret, record }
  }

  async #write(digest: string, record: RuntimeKeyRecord): Promise<void> {
    const ttl = record.expiresAt === undefined ? undefined : { ttl: Math.max(1, record.expiresAt - Date.now()) }
    await this.storage.set(`rk:${digest}`, record, ttl)
    await this.storage.set(`rn:${record.name}`, digest, ttl)
  }

  /** Revokes a runtime key by name: refused everywhere from the next lookup. */
  async revoke(name: string): Promise<RuntimeKeyRecord> {
    const digest = await this.storage.get<string>(`rn:${name}`)
    const record = digest ? await this.storage.get<RuntimeKeyRecord>(`rk:${digest}`) : null
    if (!digest || !record) throw new KeyStoreError(404, (await this.storage.get(`cfg:${name}`)) ? `"${name}" is declared in the config; remove it there` : `no runtime key named "${name}"`)
    await this.storage.remove(`rk:${digest}`)
    await this.storage.remove(`rn:${name}`)
    dropped(digest)
    return record
  }

  /** Gives a runtime key a new secret (the old one is refused from the next lookup); returns the new secret. */
  async rotate(name: string): Promise<{ secret: string; record: RuntimeKeyRecord }> {
    const digest = await this.storage.get<string>(`rn:${name}`)
    const record = digest ? await this.storage.get<RuntimeKeyRecord>(`rk:${digest}`) : null
    if (!digest || !record) throw new KeyStoreError(404, (await this.storage.get(`cfg:${name}`)) ? `"${name}" is declared in the config; change it there` : `no runtime key named "${name}"`)
    const secret = newForwardKeySecret()
    await this.#write(keyDigest(secret), record)
    await this.storage.remove(`rk:${digest}`)
    dropped(digest)
    return { secret, record }
  }

  /**
   * Calls `listener` with the digest of each key this process revokes or rotates away, so what
   * this process remembers of it goes at once (other instances see it within their memo's age).
   * Returns the unsubscriber.
   */
  static onDropped(listener: (digest: string) => void): () => void {
    droppedListeners.add(listener)
    return () => droppedListeners.delete(listener)
  }

  /**
   * Publishes the config's keys (names and levels only) and the level names, for the admin API. The
   * plugin repeats it every 30 s with a 90 s expiry, so a key taken out of the config drops out of
   * the list by itself.
   */
  async publishConfig(keys: readonly ConfigKeyNote[], levels: readonly string[]): Promise<void> {
    const ttl = { ttl: 90_000 }
    await Promise.all(keys.map((key) => this.storage.set(`cfg:${key.name}`, key, ttl)))
    const known = (await this.storage.get<string[]>('levels')) ?? []
    await this.storage.set('levels', [...new Set([...known, ...levels])], ttl)
  }

  /** The level names the `keys` plugin published. */
  async levels(): Promise<string[]> {
    return (await this.storage.get<string[]>('levels')) ?? []
  }

  /** Adds one flush of usage to a key's counters. */
  async addUsage(name: string, delta: KeyUsageDelta): Promise<void> {
    await Promise.all([
      this.storage.incr(`u:${name}:requests`, delta.requests, USAGE_TTL_MS),
      delta.tokens ? this.storage.incr(`u:${name}:tokens`, delta.tokens, USAGE_TTL_MS) : undefined,
      delta.nanoUsd ? this.storage.incr(`u:${name}:nano`, delta.nanoUsd, USAGE_TTL_MS) : undefined,
      delta.estimatedNanoUsd ? this.storage.incr(`u:${name}:estnano`, delta.estimatedNanoUsd, USAGE_TTL_MS) : undefined,
      this.storage.set(`lastUsed:${name}`, delta.lastUsedAt),
    ])
  }

  /** Every runtime and config key with its use, by name. */
  async list(): Promise<ListedKey[]> {
    const [runtimeKeys, configKeys] = await Promise.all([this.storage.keys('rk:'), this.storage.keys('cfg:')])
    const runtime = (await Promise.all(runtimeKeys.map((k) => this.storage.get<RuntimeKeyRecord>(k)))).filter((r): r is RuntimeKeyRecord => r !== null && (r.expiresAt === undefined || r.expiresAt > Date.now()))
    const config = (await Promise.all(configKeys.map((k) => this.storage.get<ConfigKeyNote>(k)))).filter((r): r is ConfigKeyNote => r !== null)
    const listed: ListedKey[] = [
      ...config.map((c) => ({ name: c.name, level: c.level, source: 'config' as const, createdAt: undefined, expiresAt: undefined, budget: undefined })),
      ...runtime.map((r) => ({ name: r.name, level: r.level, source: 'runtime' as const, createdAt: r.createdAt, expiresAt: r.expiresAt, budget: r.budget })),
    ].map((k) => ({ ...k, lastUsedAt: undefined, requests: 0, tokens: 0, costUsd: 0, estimatedCostUsd: 0 }))
    await Promise.all(listed.map(async (key) => {
      // incr by 0 reads a counter (and is atomic on every driver).
      const [requests, tokens, nano, estimated, lastUsed] = await Promise.all([
        this.storage.incr(`u:${key.name}:requests`, 0, USAGE_TTL_MS),
        this.storage.incr(`u:${key.name}:tokens`, 0, USAGE_TTL_MS),
        this.storage.incr(`u:${key.name}:nano`, 0, USAGE_TTL_MS),
        this.storage.incr(`u:${key.name}:estnano`, 0, USAGE_TTL_MS),
        this.storage.get<number>(`lastUsed:${key.name}`),
      ])
      Object.assign(key, { requests, tokens, costUsd: nano / 1e9, estimatedCostUsd: estimated / 1e9, lastUsedAt: lastUsed ?? undefined })
    }))
    return listed.sort((a, b) => a.name.localeCompare(b.name))
  }
}
