import { PassThrough, Transform } from 'node:stream'
import { sseErrorEvent } from '../../src/index.ts'
import type { CacheEntry } from './entry.ts'

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** `promise`'s value, or `undefined` as soon as `signal` aborts (a waiter's client went away). */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then((value) => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    })
  })
}

/**
 * One upstream request that identical concurrent requests wait for, in this process. The request
 * that missed first (the leader) goes upstream; the others wait. A streamed answer is shared as it
 * arrives: the leader's response passes through `tap()`, which keeps every chunk and copies it to
 * each subscriber, so a waiter that joins mid-stream gets the bytes so far and then the rest.
 */
export class Flight {
  #live: { status: number; contentType: string } | undefined
  readonly #chunks: Buffer[] = []
  readonly #subscribers = new Set<PassThrough>()
  #streamEnded = false
  #failure: string | undefined
  #over = false
  readonly #headed = deferred<void>()
  readonly #settled = deferred<CacheEntry | undefined>()

  /** @param variant the form the leader asked for; a waiter asking the same can share its stream. */
  constructor(readonly variant: string) {}

  /** Resolves once the leader's response head is known, or the flight is over. */
  get headed(): Promise<void> {
    return this.#headed.promise
  }

  /** Resolves with the entry when the leader's answer was stored, or `undefined` when it failed. */
  get settled(): Promise<CacheEntry | undefined> {
    return this.#settled.promise
  }

  /** The shared stream's status and type, when the leader's answer is a stream being shared. */
  get live(): { status: number; contentType: string } | undefined {
    return this.#live
  }

  /** Whether the leader failed before its stream (if any) ended. */
  get failed(): boolean {
    return this.#failure !== undefined
  }

  /** The leader's answer streams: returns the Transform that shares its bytes. */
  tap(status: number, contentType: string): Transform {
    this.#live = { status, contentType }
    this.#headed.resolve()
    const share = (chunk: Buffer) => {
      this.#chunks.push(chunk)
      for (const out of this.#subscribers) out.write(chunk)
    }
    const end = () => {
      this.#streamEnded = true
      for (const out of this.#subscribers) out.end()
      this.#subscribers.clear()
    }
    return new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        share(chunk)
        callback(null, chunk)
      },
      flush(callback) {
        end()
        callback()
      },
    })
  }

  /** The leader's answer is not shared as a stream; waiters wait for the stored entry. */
  notLive(): void {
    this.#headed.resolve()
  }

  /** A copy of the shared stream: everything so far, then the rest as it arrives. */
  subscribe(): PassThrough {
    const out = new PassThrough()
    for (const chunk of this.#chunks) out.write(chunk)
    if (this.#streamEnded) out.end()
    else if (this.#failure !== undefined) out.end(this.#failure)
    else this.#subscribers.add(out)
    return out
  }

  /** The leader's answer is complete and storable. */
  complete(entry: CacheEntry): void {
    if (this.#over) return
    this.#over = true
    for (const out of this.#subscribers) out.end()
    this.#subscribers.clear()
    this.#headed.resolve()
    this.#settled.resolve(entry)
  }

  /**
   * The leader failed (error, abort, non-2xx, not storable). Waiters still waiting go upstream
   * themselves; those already reading the shared stream get it ended with an error event, as the
   * leader's own client did.
   */
  fail(message: string, code: string): void {
    if (this.#over) return
    this.#over = true
    if (!this.#streamEnded) {
      this.#failure = sseErrorEvent(message, code)
      for (const out of this.#subscribers) out.end(this.#failure)
    }
    this.#subscribers.clear()
    this.#headed.resolve()
    this.#settled.resolve(undefined)
  }
}
