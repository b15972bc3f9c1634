import type { IncomingMessage } from 'node:http'
import type { RequestAbort } from './abort.ts'
import { ForwardError } from './errors.ts'

interface Watched {
  req: IncomingMessage
  abort: RequestAbort
  ms: number
  bytes: number
  at: number
}

/** The 408 a request gets when its body stalls. */
export function bodyTimeout(ms: number): ForwardError {
  return new ForwardError(408, `The request body stalled: nothing was received for ${ms} ms`, 'invalid_request_error', 'body_timeout')
}

/**
 * Request bodies being received, looked at together by one timer: few requests are ever watched
 * (only bodies still arriving when the gateway asks for them: uploads, slow clients), and one timer
 * for all of them costs nothing per request.
 */
const watched = new Set<Watched>()
let sweeper: NodeJS.Timeout | undefined
let sweepEvery = 1000

/**
 * Aborts the request with a 408 (`bodyTimeout(ms)`) when the client sends nothing for `ms` while its
 * request body is unfinished: a client that trickles or stalls its upload must not hold a connection
 * and an upstream request forever. Silence is measured on the socket, so an upload that keeps moving is never cut, however
 * long it takes; time the gateway itself spends not reading (a hook that has not asked for the body
 * yet, an upstream that applies backpressure) does not count, because the client's bytes then wait
 * in the request's buffer. Call it when the gateway starts waiting for the body; watching ends when
 * the body is complete or the request is aborted. Precision is a quarter of `ms` (at most a second).
 */
export function watchBodyIdle(req: IncomingMessage, ms: number, abort: RequestAbort): BodyWatch | undefined {
  if (!(ms > 0) || req.complete || abort.aborted || !hasBody(req)) return undefined
  const entry: Watched = { req, abort, ms, bytes: req.socket?.bytesRead ?? 0, at: performance.now() }
  watched.add(entry)
  const every = Math.min(1000, Math.max(10, ms / 4))
  if (sweeper === undefined || every < sweepEvery) {
    clearInterval(sweeper)
    sweepEvery = every
    sweeper = setInterval(sweep, every).unref()
  }
  return entry
}

/** What `watchBodyIdle` watches, for `stopWatching`. */
export type BodyWatch = object

/**
 * Stops watching a body that has arrived whole. Call it where the end is seen: left to the sweep,
 * each entry would keep its request (and all it holds) alive for up to a second, which under load
 * is thousands of requests promoted to the old heap (measured: +4.8 µs of GC per request, +40 MB RSS).
 */
export function stopWatching(watch: BodyWatch | undefined): void {
  if (watch !== undefined) watched.delete(watch as Watched)
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

function sweep(): void {
  const now = performance.now()
  for (const entry of watched) {
    const { req } = entry
    if (req.complete || req.destroyed || entry.abort.aborted) {
      watched.delete(entry)
      continue
    }
    const bytes = req.socket?.bytesRead ?? entry.bytes
    // Bytes came, or the gateway has not read what came: the client is not the one that is idle.
    if (bytes !== entry.bytes || req.readableLength > 0) {
      entry.bytes = bytes
      entry.at = now
    } else if (now - entry.at >= entry.ms) {
      watched.delete(entry)
      entry.abort.abort(bodyTimeout(entry.ms))
    }
  }
  if (watched.size === 0) {
    clearInterval(sweeper)
    sweeper = undefined
    sweepEvery = 1000
  }
}
