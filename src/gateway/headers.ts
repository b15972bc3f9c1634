import type { IncomingHttpHeaders } from 'node:http'

/** Headers that describe one connection, not the message; never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'expect', 'http2-settings',
])

type HeaderRecord = Record<string, string | string[] | undefined>

/** The client's headers as they go upstream: without hop-by-hop ones, `host` and `expect`. */
export function outgoingHeaders(incoming: IncomingHttpHeaders): HeaderRecord {
  const out: HeaderRecord = {}
  const listed = incoming.connection
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name)) continue
    out[name] = incoming[name]
  }
  // Headers the client marked as connection-specific go no further either.
  if (listed && listed !== 'keep-alive' && listed !== 'close') {
    for (const name of listed.split(',')) delete out[name.trim().toLowerCase()]
  }
  return out
}

/**
 * The upstream's headers as they go to the client, flattened for `writeHead`:
 * hop-by-hop ones dropped, everything else (x-request-id, rate-limit headers) unchanged, except
 * where a plugin set the same header in `extra` (lowercase names): the plugin's wins.
 */
export function responseHeaderList(headers: HeaderRecord, extra: Record<string, string>, dropLength: boolean): string[] {
  // A flat [name, value, name, value…] list: what writeHead takes with the least work.
  const list: string[] = []
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || (dropLength && name === 'content-length') || name in extra) continue
    const value = headers[name]
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) list.push(name, v)
    else list.push(name, value)
  }
  for (const name in extra) list.push(name, extra[name])
  return list
}

const kEventRes = Symbol.for('h3.internal.event.res')
const kEventResHeaders = Symbol.for('h3.internal.event.res.headers')

/**
 * Copies the headers a plugin or middleware set with h3's `setResponseHeader(event, …)` into
 * `extra`. h3 keeps them on the event until it sends a response itself, which it never does for a
 * forwarded one; read through h3's own (registered) symbols so an untouched event costs nothing.
 */
export function addEventHeaders(event: object, extra: Record<string, string>): void {
  const headers = (event as Record<symbol, Record<symbol, Headers | undefined> | undefined>)[kEventRes]?.[kEventResHeaders]
  if (headers) headers.forEach((value, name) => (extra[name] = value))
}
