import type { ConsolaInstance } from 'consola'
import type { PluginStorage } from '../../src/index.ts'

/** How long this process trusts what it last read about a target before asking storage again. */
const CACHE_MS = 1000
/** A storage call slower than this counts as failed: health checks must not hold requests up. */
const STORAGE_TIMEOUT_MS = 250
/** After a storage failure, work from this process's view for this long before asking storage again. */
const STORAGE_PAUSE_MS = 5000
/** Open circuits are kept at most this long in storage, so targets removed from the config do not linger. */
const CIRCUIT_TTL_MS = 86_400_000

/** What storage holds for an open (or half-open) target. */
interface StoredCircuit {
  openedAt: number
}

/** This process's view of one target. */
interface TargetHealth {
  /** When the circuit opened; `undefined` while it is closed. */
  openedAt: number | undefined
  /** Failures in a row, as last seen. */
  failures: number
  checkedAt: number
  /** Bumped by every local change, so a storage read that started before one does not undo it. */
  version: number
  /** The `openedAt` this process claimed the trial for, when storage could not be asked. */
  localProbe: number | undefined
  refreshing: Promise<TargetHealth> | undefined
}

export interface BreakerSettings {
  failures: number
  coolDownMs: number
}

/**
 * A circuit breaker per target base URL, shared through plugin storage so every instance on the
 * same Redis agrees. Closed: traffic flows and failures in a row are counted. Open: the target is
 * skipped for `coolDownMs`. Half-open (cool-down over): one request, claimed with an atomic counter,
 * tries it; success closes the circuit, failure opens it again.
 */
export class TargetBreaker {
  #health = new Map<string, TargetHealth>()
  #storage: PluginStorage | undefined
  #log: ConsolaInstance | undefined
  /** Until when storage is not asked (it failed or was slow just before). */
  #storageDownUntil = 0

  constructor(readonly settings: BreakerSettings) {}

  /** Called from `setup`: the storage and logger of the loaded config. */
  attach(storage: PluginStorage, log: ConsolaInstance): void {
    this.#storage = storage
    this.#log = log
  }

  /**
   * The target an attempt should go to: `preferred` when its circuit lets it through, else the next
   * one in order that does. When every circuit is open, the one opened longest ago other than
   * `previous` (this request's last target), as a fail-safe: a request is never refused just
   * because every target looked down.
   */
  async choose(targets: readonly string[], preferred: string, previous?: string): Promise<string> {
    const start = Math.max(0, targets.indexOf(preferred))
    let fallback: string | undefined
    let fallbackOpenedAt = Infinity
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(start + i) % targets.length]
      const health = await this.#read(target)
      if (health.openedAt === undefined) return target
      if (Date.now() >= health.openedAt + this.settings.coolDownMs && (await this.#claimProbe(target, health, health.openedAt))) return target
      if (health.openedAt < fallbackOpenedAt && target !== previous) {
        fallback = target
        fallbackOpenedAt = health.openedAt
      }
    }
    return fallback ?? preferred
  }

  /** The target failed (unreachable, timed out before headers, or answered a retried 5xx). */
  async failed(target: string): Promise<void> {
    const health = this.#health.get(target) ?? (await this.#read(target))
    if (health.openedAt !== undefined) {
      // Failures while open come from fail-safe attempts and change nothing; a failed probe re-opens.
      if (Date.now() >= health.openedAt + this.settings.coolDownMs) await this.#open(target, health, 'its half-open trial failed')
      return
    }
    const failures = await this.#safely((storage) => storage.incr(failKey(target), 1, this.settings.coolDownMs), health.failures + 1)
    health.failures = failures
    health.version++
    if (failures >= this.settings.failures && health.openedAt === undefined) {
      await this.#open(target, health, `${failures} failures in a row`)
    }
  }

  /** The target answered with something other than a failure: it is alive. */
  async succeeded(target: string): Promise<void> {
    const health = this.#health.get(target)
    if (!health) return
    if (health.openedAt !== undefined) {
      health.openedAt = undefined
      health.failures = 0
      health.version++
      this.#log?.info(`circuit closed: ${displayTarget(target)} answers again`)
      await this.#safely((storage) => storage.remove(circuitKey(target)), undefined)
      await this.#resetFailures(target)
    } else if (health.failures > 0) {
      health.failures = 0
      health.version++
      await this.#resetFailures(target)
    }
  }

  async #open(target: string, health: TargetHealth, why: string): Promise<void> {
    const openedAt = Date.now()
    health.openedAt = openedAt
    health.failures = 0
    health.version++
    this.#log?.warn(`circuit opened: ${displayTarget(target)} is skipped for ${this.settings.coolDownMs} ms (${why})`)
    const circuit: StoredCircuit = { openedAt }
    await this.#safely((storage) => storage.set(circuitKey(target), circuit, { ttl: CIRCUIT_TTL_MS }), undefined)
    await this.#resetFailures(target)
  }

  async #resetFailures(target: string): Promise<void> {
    // Counters have no delete: subtract what is there (the window's TTL cleans up any leftover).
    await this.#safely(async (storage) => {
      const count = await storage.incr(failKey(target), 0, this.settings.coolDownMs)
      if (count !== 0) await storage.incr(failKey(target), -count, this.settings.coolDownMs)
    }, undefined)
  }

  /** Only one request, across every instance, gets to try a target whose cool-down is over. */
  async #claimProbe(target: string, health: TargetHealth, openedAt: number): Promise<boolean> {
    const claims = await this.#safely((storage) => storage.incr(`probe:${encodeURIComponent(target)}:${openedAt}`, 1, this.settings.coolDownMs), undefined)
    if (claims !== undefined) return claims === 1
    if (health.localProbe === openedAt) return false
    health.localProbe = openedAt
    return true
  }

  /** The cached view of a target, refreshed from storage at most once a second (one read in flight at a time). */
  #read(target: string): Promise<TargetHealth> | TargetHealth {
    let health = this.#health.get(target)
    if (!health) {
      health = { openedAt: undefined, failures: 0, checkedAt: 0, version: 0, localProbe: undefined, refreshing: undefined }
      this.#health.set(target, health)
    }
    if (Date.now() - health.checkedAt < CACHE_MS) return health
    return (health.refreshing ??= this.#refresh(target, health))
  }

  async #refresh(target: string, health: TargetHealth): Promise<TargetHealth> {
    const version = health.version
    try {
      const read = await this.#safely(async (storage) => Promise.all([
        storage.get<StoredCircuit>(circuitKey(target)),
        storage.incr(failKey(target), 0, this.settings.coolDownMs),
      ]), undefined)
      if (read && health.version === version) {
        const [circuit, failures] = read
        health.openedAt = typeof circuit?.openedAt === 'number' ? circuit.openedAt : undefined
        health.failures = failures
      }
    } finally {
      // Also after a storage error: keep the last view for a second rather than retrying on every request.
      health.checkedAt = Date.now()
      health.refreshing = undefined
    }
    return health
  }

  /**
   * Storage trouble (an error, or an answer slower than STORAGE_TIMEOUT_MS) must never fail or hold
   * up a request: the breaker then works from this process's view for STORAGE_PAUSE_MS.
   */
  async #safely<T>(operation: (storage: PluginStorage) => Promise<T>, fallback: T): Promise<T> {
    const storage = this.#storage
    if (!storage || Date.now() < this.#storageDownUntil) return fallback
    let timer: NodeJS.Timeout | undefined
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${STORAGE_TIMEOUT_MS} ms`)), STORAGE_TIMEOUT_MS)
    })
    try {
      return await Promise.race([operation(storage), slow])
    } catch (error) {
      if (Date.now() >= this.#storageDownUntil) {
        this.#log?.warn(`circuit breaker storage failed (${(error as Error)?.message ?? error}); using this process's view of target health for ${STORAGE_PAUSE_MS / 1000} s`)
      }
      this.#storageDownUntil = Date.now() + STORAGE_PAUSE_MS
      return fallback
    } finally {
      clearTimeout(timer)
    }
  }
}

function circuitKey(target: string): string {
  return `circuit:${encodeURIComponent(target)}`
}

function failKey(target: string): string {
  return `fails:${encodeURIComponent(target)}`
}

/** A target for logs: no credentials or query string, in case a URL carries them. */
function displayTarget(target: string): string {
  try {
    const url = new URL(target)
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    return '(invalid target URL)'
  }
}
