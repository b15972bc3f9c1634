import { hash } from 'node:crypto'

/**
 * The sha256 digest of a key, in hex. Keys are looked up and stored by digest only: a Map lookup
 * by digest takes no time that depends on how much of a secret matched, and storage and logs
 * never hold a key. The one-shot `hash` costs a third of a `createHash` chain.
 */
export function digestOf(key: string): string {
  return hash('sha256', key, 'hex')
}

/** Distinct sent keys remembered; past this the memo starts over (anyone can send any key). */
const SENT_KEPT = 1024

/**
 * `digestOf` for keys clients send, remembered: a hash read a few µs per request in the server's
 * profiles (ten times its cost in a hot loop), a Map lookup far less. A lookup by the sent string
 * compares contents only after the string hashes (seeded per process) are equal, so its time says
 * nothing about how much of a real key a guess matched.
 */
export class SentKeyDigests {
  readonly #digests = new Map<string, string>()

  of(key: string): string {
    let digest = this.#digests.get(key)
    if (digest === undefined) {
      if (this.#digests.size >= SENT_KEPT) this.#digests.clear()
      this.#digests.set(key, (digest = digestOf(key)))
    }
    return digest
  }
}
