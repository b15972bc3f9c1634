import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { ForwardError } from '../../src/index.ts'

/**
 * Failures that happen before the upstream answered anything: the request can be sent again
 * without risking a duplicate answer to the client.
 */
const RETRYABLE_CODES = new Set(['upstream_unreachable', 'upstream_connect_timeout', 'upstream_headers_timeout'])

/** Is this a failure worth another attempt (and one that counts against the target's health)? */
export function isRetryableError(error: unknown): error is ForwardError {
  return error instanceof ForwardError && error.code !== null && RETRYABLE_CODES.has(error.code)
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * How long the upstream asks to wait, in ms: OpenAI's `retry-after-ms`, else `Retry-After` in
 * seconds or as an HTTP date. `undefined` when it says nothing usable.
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms')?.trim()
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Number(ms)
  const value = header(headers, 'retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  // An HTTP date names its month; Date.parse alone would also take "-3" as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Full jitter (AWS's "exponential backoff and jitter"): spreads retries of many clients apart. */
export function backoffMs(retry: number, baseMs: number, maxMs: number): number {
  return Math.random() * Math.min(maxMs, baseMs * 2 ** (retry - 1))
}

function abortError(): DOMException {
  // An AbortError, whatever the signal's reason: the kernel reads it as the client leaving (or the
  // total timeout firing), never as an upstream failure.
  return new DOMException('The request was aborted during a retry backoff', 'AbortError')
}

/** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError())
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError())
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Lets go of a response that will not be used. undici's `dump()` reads a small error body to the
 * end so the connection goes back to the pool; anything else is destroyed.
 */
export function discard(body: Readable): void {
  const dumpable = body as Readable & { dump?: (options?: { limit: number }) => Promise<void> }
  if (typeof dumpable.dump === 'function') dumpable.dump({ limit: 64 * 1024 }).catch(() => {})
  else body.destroy()
}

/**
 * Whether the request body is piped to the upstream rather than kept (uploads: multipart, binary).
 * Once an upstream has read it, it cannot be sent again.
 */
export function hasPipedBody(hasJsonBody: boolean, headers: IncomingHttpHeaders): boolean {
  if (hasJsonBody) return false
  const length = headers['content-length']
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined
}
