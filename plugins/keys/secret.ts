import { createHash } from 'node:crypto'

/**
 * The sha256 digest of a key, in hex. Keys are looked up and stored by digest only: a Map lookup
 * by digest takes no time that depends on how much of a secret matched, and storage and logs
 * never hold a key.
 */
export function digestOf(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}
