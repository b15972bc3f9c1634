import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResolvedConfig, ResolvedCors } from '../config/types.ts'

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

/**
 * The warning for routes that any web page may use: CORS allows every origin (the default, as the
 * original had it) and no plugin on the route checks callers. A page a visitor opens can then call
 * the route from the visitor's browser (which may reach a gateway on localhost or the LAN) and read
 * the answers: spending the gateway's own keys where `keys` runs in `open` mode, and using upstreams
 * that need no key at all. `undefined` when there is nothing to warn about.
 */
export function openCorsWarning(config: ResolvedConfig): string | undefined {
  if (!config.cors || config.cors.origin !== '*') return undefined
  const guarded = config.globalPlugins.some((plugin) => plugin.checksCallers)
  if (guarded) return undefined
  const open = config.routes.filter((route) => !route.plugins.some((plugin) => plugin.checksCallers)).map((route) => route.name)
  if (open.length === 0) return undefined
  return `CORS allows any origin and no plugin checks callers on ${open.length === 1 ? 'route' : 'routes'} ${open.join(', ')}: ` +
    'any web page can call them from its visitors\' browsers and read the answers (on the gateway\'s keys with keys() in open mode). ' +
    'Set cors: { origin: [\'https://your.app\'] } or cors: false, or guard them with keys({ forwardKeys }).'
}
