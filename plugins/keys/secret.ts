import { hash } from 'node:crypto'

/**
 * The sha256 digest of a key, in hex. Keys are looked up and stored by digest only: a Map lookup
 * by digest takes no time that depends on how much of a secret matched, and storage and logs
 * never hold a key. The one-shot `hash` costs a third of a `createHash` chain.
 */
export function digestOf(key: string): string {
  return hash('sha256', key, 'hex')
}
