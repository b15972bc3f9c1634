import type { IncomingMessage } from 'node:http'
import { Readable, Transform } from 'node:stream'
import { watchBodyIdle } from './body-timeout.ts'
import { tooLarge, type RequestContext } from './context.ts'
import { outgoingHeaders } from './headers.ts'

type HeaderRecord = Record<string, string | string[] | undefined>

function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

/** Counts a streamed upload and fails it once it passes the limit (only for bodies without a length). */
function limitStream(req: IncomingMessage, limit: number): Readable {
  let size = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length
      callback(size > limit ? tooLarge(limit) : null, chunk)
    },
  })
  req.pipe(counter)
  return counter
}

/**
 * Bodies up to this size are read whole and sent in one write: cheaper than piping a stream for the
 * small JSON bodies most API calls carry. Larger ones (uploads) are piped, never held whole.
 */
const WHOLE_BODY_BYTES = 64 * 1024

export type OutgoingBody = string | Buffer | Readable | null

/**
 * What goes upstream: the body as read when a hook read or changed it, small bodies (or any that
 * must be re-sendable) read whole, otherwise the client's bytes piped through untouched.
 */
export async function outgoingRequest(ctx: RequestContext, resendable: boolean): Promise<{ headers: HeaderRecord; body: OutgoingBody }> {
  const { req } = ctx
  const headers = outgoingHeaders(req.headers)
  const length = req.headers['content-length']
  const hasBody = hasRequestBody(req)
  if (hasBody && ((length !== undefined && Number(length) <= WHOLE_BODY_BYTES) || (resendable && ctx.hasJsonBody))) await ctx.readBytes()
  const body = ctx.outgoingBody()
  if (body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(body))
    return { headers, body }
  }
  if (!hasBody) return { headers, body: null }
  watchBodyIdle(req, ctx.route.bodyTimeout, ctx.abort)
  return { headers, body: length === undefined ? limitStream(req, ctx.route.bodyLimit) : req }
}

/** Whether a piped upload can still be sent: undici destroys a stream body when an attempt fails, even one it never read. */
export function canResend(body: OutgoingBody, req: IncomingMessage): boolean {
  return !(body instanceof Readable) || (body === req && !req.readableDidRead && !req.destroyed)
}
