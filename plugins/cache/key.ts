import { hash } from 'node:crypto'

/**
 * Which OpenAI endpoint a request is for. Only chat and legacy completions can be converted between
 * a streamed and a JSON answer; every other endpoint is replayed in the form it was stored.
 */
export type Endpoint = 'chat' | 'text' | 'other'

export function endpointOf(upstreamPath: string): Endpoint {
  const query = upstreamPath.indexOf('?')
  const path = query === -1 ? upstreamPath : upstreamPath.slice(0, query)
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path
  if (trimmed.endsWith('/chat/completions')) return 'chat'
  if (trimmed.endsWith('/completions')) return 'text'
  return 'other'
}

/**
 * Body fields of OpenAI requests that do not change the answer, so they are left out of the key:
 * the answer's form (`stream`, `stream_options`: a stream and a JSON request share an entry), this
 * plugin's own switch, and labels that only identify or store the request upstream.
 */
const IGNORED_FIELDS: ReadonlySet<string> = new Set(['stream', 'stream_options', 'caching', 'user', 'metadata', 'store', 'safety_identifier', 'prompt_cache_key'])

/** JSON with the keys of every object sorted, so `{a,b}` and `{b,a}` give the same text. */
export function canonicalJson(value: unknown, skip?: ReadonlySet<string>): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i])
    return out + ']'
  }
  const record = value as Record<string, unknown>
  let out = '{'
  for (const name of Object.keys(record).sort()) {
    if (skip?.has(name) || record[name] === undefined) continue
    out += (out.length > 1 ? ',' : '') + JSON.stringify(name) + ':' + canonicalJson(record[name])
  }
  return out + '}'
}

/** What identifies a request's answer. Never holds a credential: the scope is the caller's name. */
export interface KeyParts {
  route: string
  method: string
  /** Path and query after the route prefix. */
  path: string
  /** `''` when shared by everyone, else the caller's name. */
  scope: string
  /** The parsed JSON body, or `undefined` for a request without one. */
  body: unknown
  /** Drop the fields of OpenAI bodies that do not change the answer (openai routes). */
  openai: boolean
  /** Part of the key for endpoints whose stream and JSON forms cannot be converted into each other. */
  stream: boolean | undefined
}

/** The storage key of an answer: sha256 of the canonical request. */
export function cacheKey(parts: KeyParts): string {
  const body = parts.body === undefined ? '' : canonicalJson(parts.body, parts.openai ? IGNORED_FIELDS : undefined)
  const form = parts.stream === undefined ? '' : parts.stream ? 'sse' : 'json'
  return hash('sha256', `v1\n${parts.route}\n${parts.method}\n${parts.path}\n${parts.scope.length}:${parts.scope}\n${form}\n${body}`, 'hex')
}
