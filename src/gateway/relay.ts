import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { EventTap } from './sse.ts'

/**
 * Copies an upstream body to the client, chunk by chunk as it comes, with backpressure: what
 * `pipe()` does, without its per-request closures and listeners, and with the SSE tap and the
 * body's observers called in the same step instead of through a Transform and more listeners.
 *
 * A chunked body is corked until the end of the event loop's turn: the last data and the chunked
 * terminator (written by `end()`, usually in the same turn) then leave in one syscall, not two.
 */
export class Relay {
  #stopped = false
  #corked = false

  constructor(
    private readonly source: Readable,
    private readonly res: ServerResponse,
    private readonly tap: EventTap | undefined,
    /** Called with each chunk as it came from the upstream, before it is written. */
    private readonly observe: ((chunk: Buffer) => void) | undefined,
    private readonly chunked: boolean,
  ) {
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
    if (this.chunked && !this.#corked) {
      this.#corked = true
      res.cork()
      setImmediate(this.#uncork)
    }
    if (!res.write(out)) {
      this.source.pause()
      res.once('drain', this.#resume)
    }
  }

  #onEnd = (): void => {
    if (this.#stopped || this.res.destroyed) return
    this.res.end(this.tap?.end())
  }

  #uncork = (): void => {
    this.#corked = false
    this.res.uncork()
  }

  #resume = (): void => {
    this.source.resume()
  }
}
