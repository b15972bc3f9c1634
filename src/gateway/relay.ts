import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { EventTap } from './sse.ts'

/**
 * Returns `hold()`: corks `res` until the end of the event loop's turn (once per turn, however often
 * it is called). A chunked response's terminator, written by `end()` usually in the same turn as the
 * last data, then leaves with it in one syscall instead of one of its own. Chunks that arrive over
 * time are each sent at the end of their turn: nothing is held longer.
 */
export function corkPerTurn(res: ServerResponse): () => void {
  let corked = false
  const uncork = () => {
    corked = false
    res.uncork()
  }
  return () => {
    if (corked) return
    corked = true
    res.cork()
    setImmediate(uncork)
  }
}

/**
 * Copies an upstream body to the client, chunk by chunk as it comes, with backpressure: what
 * `pipe()` does, without its per-request closures and listeners, and with the SSE tap and the
 * body's observers called in the same step instead of through a Transform and more listeners.
 *
 * A chunked body is corked per turn (`corkPerTurn`).
 */
export class Relay {
  #stopped = false
  readonly #hold: (() => void) | undefined

  constructor(
    private readonly source: Readable,
    private readonly res: ServerResponse,
    private readonly tap: EventTap | undefined,
    /** Called with each chunk as it came from the upstream, before it is written. */
    private readonly observe: ((chunk: Buffer) => void) | undefined,
    chunked: boolean,
  ) {
    this.#hold = chunked ? corkPerTurn(res) : undefined
    source.on('data', this.#onData)
    source.once('end', this.#onEnd)
  }

  /** Stops writing to the client (the caller ends the response its own way). */
  stop(): void {
    this.#stopped = true
    this.source.off('data', this.#onData)
    this.source.off('end', this.#onEnd)
  }

  #onData = (chunk: Buffer): void => {
    this.observe?.(chunk)
    const out = this.tap ? this.tap.write(chunk) : chunk
    const { res } = this
    if (out === undefined || res.destroyed) return
    this.#hold?.()
    if (!res.write(out)) {
      this.source.pause()
      res.once('drain', this.#resume)
    }
  }

  #onEnd = (): void => {
    if (this.#stopped || this.res.destroyed) return
    this.res.end(this.tap?.end())
  }

  #resume = (): void => {
    this.source.resume()
  }
}
