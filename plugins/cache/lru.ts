/**
 * The keys this process stored, least recently used first, to cap how many entries are kept.
 * A Map keeps insertion order, so re-inserting a key on use makes it the newest.
 */
export class RecentKeys {
  readonly #keys = new Map<string, true>()

  constructor(readonly limit: number) {}

  /** Marks a key as just used (no-op for keys this process does not know). */
  touch(key: string): void {
    if (this.#keys.delete(key)) this.#keys.set(key, true)
  }

  /** Records a stored key; returns the keys that no longer fit, oldest first, for removal. */
  add(key: string): string[] {
    this.#keys.delete(key)
    this.#keys.set(key, true)
    const evicted: string[] = []
    for (const oldest of this.#keys.keys()) {
      if (this.#keys.size <= this.limit) break
      this.#keys.delete(oldest)
      evicted.push(oldest)
    }
    return evicted
  }
}
