/**
 * The entries of one moving window, oldest first, with their running sum: a check drops what
 * expired from the front and reads the sum, so it costs O(expired entries), not O(entries).
 * Entries of the same millisecond merge into one.
 */
export class SlidingLog {
  #times: number[] = []
  #costs: number[] = []
  #head = 0
  #sum = 0
  /** The longest window this log was used with: entries older than that can never count again. */
  windowMs: number

  constructor(windowMs: number) {
    this.windowMs = windowMs
  }

  /** Units counted after `start` (exclusive), dropping older entries. */
  usedSince(start: number): number {
    this.#expire(start)
    return this.#sum
  }

  /** Time of the oldest entry that still counts, if any. */
  get oldest(): number | undefined {
    return this.#head < this.#times.length ? this.#times[this.#head] : undefined
  }

  /** The newest entry's time, if any. */
  get newest(): number | undefined {
    return this.#head < this.#times.length ? this.#times[this.#times.length - 1] : undefined
  }

  add(at: number, cost: number): void {
    const times = this.#times
    const last = times.length - 1
    this.#sum += cost
    if (last >= this.#head && times[last] === at) {
      this.#costs[last] += cost
    } else if (last < this.#head || times[last] < at) {
      times.push(at)
      this.#costs.push(cost)
    } else {
      // A settlement for an earlier time: merge it into that time's entry (tokenLimit settles at the
      // time it reserved), else insert it in order so expiry can go on dropping from the front.
      let index = last
      while (index > this.#head && times[index - 1] > at) index--
      if (index > this.#head && times[index - 1] === at) this.#costs[index - 1] += cost
      else {
        times.splice(index, 0, at)
        this.#costs.splice(index, 0, cost)
      }
    }
  }

  /** Entries oldest first (for computing how long until a cost fits). */
  *entries(): Generator<{ at: number; cost: number }> {
    for (let i = this.#head; i < this.#times.length; i++) yield { at: this.#times[i], cost: this.#costs[i] }
  }

  #expire(start: number): void {
    const times = this.#times
    let head = this.#head
    while (head < times.length && times[head] <= start) this.#sum -= this.#costs[head++]
    if (head === times.length) {
      // Empty: start afresh (also clears rounding left in the sum).
      this.#times = []
      this.#costs = []
      this.#head = 0
      this.#sum = 0
      return
    }
    // Drop the consumed front now and then, not on every call (shift() on a big array copies it).
    if (head > 1024 && head * 2 > times.length) {
      this.#times = times.slice(head)
      this.#costs = this.#costs.slice(head)
      head = 0
    }
    this.#head = head
  }
}
