import type { IncomingMessage } from 'node:http'
import { Readable, Transform } from 'node:stream'
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
 * What goes upstream: the JSON text when a hook read or changed the body (or it must be re-sendable),
 * otherwise the client's bytes piped through untouched, never held whole.
 */
export async function outgoingRequest(ctx: RequestContext, resendable: boolean): Promise<{ headers: HeaderRecord; body: string | Readable | null }> {
  const { req } = ctx
  if (resendable) await ctx.readText()
  const text = ctx.outgoingText()
  const headers = outgoingHeaders(req.headers)
  if (text !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(text))
    return { headers, body: text }
  }
  if (!hasRequestBody(req)) return { headers, body: null }
  return { headers, body: req.headers['content-length'] === undefined ? limitStream(req, ctx.route.bodyLimit) : req }
}

/** Whether a piped upload can still be sent: undici destroys a stream body when an attempt fails, even one it never read. */
export function canResend(body: string | Readable | null, req: IncomingMessage): boolean {
  return !(body instanceof Readable) || (body === req && !req.readableDidRead && !req.destroyed)
}
