import type { ForwardContext, ResolvedRoute, UpstreamAttempt } from '../../src/index.ts'

/** Where a credential travels on one route: headers (first preferred) and an optional query parameter. */
export interface Locations {
  readonly headers: readonly string[]
  readonly query: string | false
  /** OpenAI Realtime: browsers send the key as the WebSocket subprotocol `openai-insecure-api-key.<key>`. */
  readonly subprotocol: boolean
}

/** Where the client's credential was found. */
export type Spot = { kind: 'header'; name: string } | { kind: 'query'; name: string } | { kind: 'subprotocol' }

const SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.'

/** Each API's own place for a key, unless the options name one. */
export function locationsFor(route: ResolvedRoute, headers: readonly string[] | undefined, query: string | false | undefined): Locations {
  const gemini = route.type === 'general' && route.dialect === 'gemini'
  const anthropic = route.type === 'general' && route.dialect === 'anthropic'
  return {
    headers: headers ?? (gemini ? ['x-goog-api-key'] : anthropic ? ['x-api-key', 'authorization'] : ['authorization']),
    query: query ?? (gemini ? 'key' : false),
    subprotocol: route.type === 'openai',
  }
}

function bearer(value: string): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value)
  return match ? match[1] : undefined
}

function queryOf(path: string): string {
  const q = path.indexOf('?')
  return q === -1 ? '' : path.slice(q + 1)
}

/** The credential the client sent, and where; `undefined` when it sent none. */
export function readCredential(ctx: ForwardContext, where: Locations): { key: string; spot: Spot } | undefined {
  for (const name of where.headers) {
    const value = ctx.headers[name]
    if (typeof value !== 'string' || value === '') continue
    const key = name === 'authorization' ? bearer(value) : value.trim()
    if (key) return { key, spot: { kind: 'header', name } }
  }
  if (where.query) {
    const key = new URLSearchParams(queryOf(ctx.upstreamPath)).get(where.query)
    if (key) return { key, spot: { kind: 'query', name: where.query } }
  }
  const protocols = ctx.headers['sec-websocket-protocol']
  if (where.subprotocol && typeof protocols === 'string') {
    const entry = protocols.split(',').map((p) => p.trim()).find((p) => p.startsWith(SUBPROTOCOL_PREFIX))
    if (entry && entry.length > SUBPROTOCOL_PREFIX.length) return { key: entry.slice(SUBPROTOCOL_PREFIX.length), spot: { kind: 'subprotocol' } }
  }
  return undefined
}

/** `path` with the query parameter `name` set to `value` (or removed), other parameters byte for byte as they were. */
function withQueryParam(path: string, name: string, value: string | undefined): string {
  const q = path.indexOf('?')
  const base = q === -1 ? path : path.slice(0, q)
  const parts = q === -1 ? [] : path.slice(q + 1).split('&')
  const kept = parts.filter((part) => {
    const eq = part.indexOf('=')
    const raw = eq === -1 ? part : part.slice(0, eq)
    let decoded = raw
    try {
      decoded = decodeURIComponent(raw.replace(/\+/g, ' '))
    } catch {}
    return decoded !== name && part !== ''
  })
  if (value !== undefined) kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
  return kept.length > 0 ? `${base}?${kept.join('&')}` : base
}

/**
 * Puts `key` on the attempt where the client's credential was (or at the route's preferred place
 * when it sent none), and removes the client's credential from every other place, so no forward
 * key travels upstream.
 */
export function writeCredential(attempt: UpstreamAttempt, where: Locations, spot: Spot | undefined, key: string): void {
  const target: Spot = spot ?? (where.headers.length > 0 ? { kind: 'header', name: where.headers[0] } : { kind: 'query', name: where.query as string })
  for (const name of where.headers) {
    // Only headers that are there: `delete` turns the headers object into a slow dictionary, and
    // the target header is overwritten below anyway.
    if (attempt.headers[name] !== undefined && !(target.kind === 'header' && name === target.name)) delete attempt.headers[name]
  }
  if (where.query) attempt.path = withQueryParam(attempt.path, where.query, target.kind === 'query' ? key : undefined)
  if (target.kind === 'header') attempt.headers[target.name] = target.name === 'authorization' ? `Bearer ${key}` : key
  const protocols = attempt.headers['sec-websocket-protocol']
  if (where.subprotocol && typeof protocols === 'string' && protocols.includes(SUBPROTOCOL_PREFIX)) {
    // Kept in place (the gateway answers the client with the upstream's pick by position).
    attempt.headers['sec-websocket-protocol'] = protocols.split(',').map((p) => p.trim())
      .map((p) => (p.startsWith(SUBPROTOCOL_PREFIX) ? `${SUBPROTOCOL_PREFIX}${key}` : p)).join(', ')
    if (target.kind === 'subprotocol') return
  }
  if (target.kind === 'subprotocol') attempt.headers.authorization = `Bearer ${key}`
}
