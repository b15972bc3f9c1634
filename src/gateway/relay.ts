import type { ServerResponse } from 'node:http'
import type { EventTap } from './sse.ts'
import type { BodySink, BodySource } from './upstream-body.ts'

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
 * Copies a body to the client, chunk by chunk as it comes, with backpressure: what `pipe()` does,
 * without a stream on either side of it, and with the SSE tap and the body's observer called in the
 * same step instead of through a Transform and more listeners.
 *
 * A chunked body is corked per turn (`corkPerTurn`).
 */
export class Relay implements BodySink {
  #stopped = false
  readonly #hold: (() => void) | undefined

  constructor(
    private readonly source: BodySource,
    private readonly res: ServerResponse,
    private readonly tap: EventTap | undefined,
    /** Called with each chunk as it came from the upstream, before it is written. */
    private readonly observe: ((chunk: Buffer) => void) | undefined,
    chunked: boolean,
    /** The body broke; the relay has written nothing about it. */
    private readonly onError: (error: unknown) => void,
  ) {
    this.#hold = chunked ? corkPerTurn(res) : undefined
  }

  /** Starts copying (chunks that came already are written at once). */
  start(): void {
    this.source.start(this)
  }

  /** Stops writing to the client (the caller ends the response its own way). */
  stop(): void {
    this.#stopped = true
    this.source.stop()
  }

  data(chunk: Buffer): void {
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

  end(): void {
    if (this.#stopped || this.res.destroyed) return
    this.res.end(this.tap?.end())
  }

  error(error: unknown): void {
    this.onError(error)
  }

  #resume = (): void => {
    this.source.resume()
  }
}
