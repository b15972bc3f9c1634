import { EventEmitter } from 'node:events'

/**
 * Ends a request's upstream work when its client leaves (or its total timeout fires). undici takes
 * an EventEmitter as its `signal`, which costs far less per request than an AbortController (an
 * EventTarget): the bench measured about 20 µs a request. Plugins still get a standard
 * `AbortSignal` from `ctx.signal`, made only when one asks.
 */
export class RequestAbort extends EventEmitter {
  aborted = false
  reason: unknown = undefined
  #controller: AbortController | undefined

  abort(reason: unknown = new DOMException('The client went away', 'AbortError')): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.#controller?.abort(reason)
    this.emit('abort')
  }

  /** A standard AbortSignal that follows this one, made on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.aborted) this.#controller.abort(this.reason)
    }
    return this.#controller.signal
  }
}
