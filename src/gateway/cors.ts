import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResolvedCors } from '../config/types.ts'

/** CORS headers for a response to a request from `origin` (none when CORS is off or the origin is not allowed). */
export function corsHeaders(cors: ResolvedCors | false, origin: string | undefined): Record<string, string> {
  if (!cors || !origin) return {}
  if (cors.origin === '*') {
    return cors.exposeHeaders.length > 0
      ? { 'access-control-allow-origin': '*', 'access-control-expose-headers': cors.exposeHeaders.join(', ') }
      : { 'access-control-allow-origin': '*' }
  }
  if (!cors.origin.includes(origin)) return {}
  const headers: Record<string, string> = { 'access-control-allow-origin': origin, vary: 'origin' }
  if (cors.exposeHeaders.length > 0) headers['access-control-expose-headers'] = cors.exposeHeaders.join(', ')
  return headers
}

/** Is this a browser's CORS preflight? */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined
}

/** Answers a preflight: the gateway decides, the upstream is never asked. */
export function answerPreflight(cors: ResolvedCors | false, req: IncomingMessage, res: ServerResponse): void {
  const headers = corsHeaders(cors, req.headers.origin)
  if (headers['access-control-allow-origin']) {
    headers['access-control-allow-methods'] = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'
    headers['access-control-allow-headers'] = req.headers['access-control-request-headers'] ?? '*'
    headers['access-control-max-age'] = String(cors ? cors.maxAge : 0)
  }
  res.writeHead(204, headers)
  res.end()
}
