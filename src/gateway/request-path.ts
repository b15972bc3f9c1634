import type { IncomingMessage } from 'node:http'
import type { H3Event } from 'h3'
import { ForwardError } from './errors.ts'
import { nodeOf } from './h3-node.ts'
import { normalizePath } from './paths.ts'

/** The query of the raw request line, as the client sent it (`?…` or empty). */
export function queryOf(req: IncomingMessage): string {
  const raw = req.url ?? '/'
  const q = raw.indexOf('?')
  return q === -1 ? '' : raw.slice(q)
}

/** The normalised path, where it differs from the URL's (see normaliseRequestPath). */
const NORMALISED = Symbol('aifd.path')

/**
 * Routes on the path the gateway normalised from the raw request line (not on the URL parser's),
 * so `..` above the root is refused and encoded segments are kept as sent, exactly as forwarded.
 */
export function normaliseRequestPath(event: H3Event): void {
  const raw = nodeOf(event).req.url ?? '/'
  const q = raw.indexOf('?')
  const path = normalizePath(q === -1 ? raw : raw.slice(0, q))
  if (path === undefined) throw new ForwardError(400, 'Invalid request path', 'invalid_request_error', 'invalid_path')
  if (path === event.url.pathname) return
  // The URL's setter re-encodes what WHATWG would; the route forwards the path exactly as normalised.
  event.url.pathname = path
  ;(event.context as Record<symbol, unknown>)[NORMALISED] = path
}

/** The path a route forwards: the normalised one. */
export function requestPath(event: H3Event): string {
  return ((event.context as Record<symbol, unknown>)[NORMALISED] as string | undefined) ?? event.url.pathname
}

