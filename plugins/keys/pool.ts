import type { Level } from './options.ts'
import type { KeyHealth } from './health.ts'
import { digestOf } from './secret.ts'

/** A real key as the hooks handle it: the secret, its digest, and a label that is safe to log. */
export interface PooledKey {
  readonly key: string
  readonly digest: string
  /** `<level>#<n>`: names the key in logs without revealing any of it. */
  readonly label: string
}

/** One level's real keys, handed out round-robin, skipping keys that are set aside. */
export class KeyPool {
  readonly keys: readonly PooledKey[]
  #next = 0

  constructor(level: Level, private readonly health: KeyHealth) {
    this.keys = level.keys.map((key, i) => ({ key, digest: digestOf(key), label: `${level.name}#${i + 1}` }))
  }

  /** The next usable key; when every key is set aside, the one that comes back first. */
  pick(now = Date.now()): PooledKey {
    const { keys } = this
    let soonest = keys[0]
    for (let i = 0; i < keys.length; i++) {
      const index = (this.#next + i) % keys.length
      const candidate = keys[index]
      const until = this.health.until(candidate.digest)
      if (until <= now) {
        this.#next = index + 1
        return candidate
      }
      if (until < this.health.until(soonest.digest)) soonest = candidate
    }
    return soonest
  }
}
