import type { RouteDialect } from '../../src/index.ts'
import type { ChatLogKind } from './types.ts'

/** The path without its query string. */
function pathOnly(path: string): string {
  const query = path.indexOf('?')
  return query < 0 ? path : path.slice(0, query)
}

/**
 * What a request is, from the path after the route's prefix. OpenAI paths first; Anthropic's
 * `/v1/messages` only on anthropic routes (OpenAI's Assistants API has `…/threads/{id}/messages`).
 */
export function kindOfPath(upstreamPath: string, dialect: RouteDialect | undefined): ChatLogKind {
  const path = pathOnly(upstreamPath)
  if (path.endsWith('/chat/completions')) return 'chat'
  if (path.endsWith('/completions')) return 'completion'
  if (path.endsWith('/embeddings')) return 'embedding'
  if (path.includes('/audio/')) return 'audio'
  if (path.includes('/images/')) return 'image'
  if (/\/responses(\/|$)/.test(path)) return 'response'
  if (dialect === 'anthropic' && path.endsWith('/messages')) return 'chat'
  if (dialect === 'gemini') {
    if (/:(stream)?generateContent$/i.test(path)) return 'chat'
    if (/:(batchEmbedContents|embedContent)$/i.test(path)) return 'embedding'
  }
  return 'other'
}

/** Gemini names the model in the path: `/v1beta/models/{model}:generateContent`. */
export function modelOfPath(upstreamPath: string): string | undefined {
  return /\/models\/([^/:?]+):/.exec(upstreamPath)?.[1]
}

/** Query parameters that carry credentials (Gemini's `?key=`), masked in recorded paths. */
const SECRET_PARAMS = /([?&](?:key|api[-_]?key|access[-_]?token|token|auth|signature|sig)=)[^&#]*/gi

/** The path with credential-bearing query values replaced by `***`. */
export function safePath(path: string): string {
  return path.includes('?') ? path.replace(SECRET_PARAMS, '$1***') : path
}

/** Targets come from the config, so they are few: each is made safe once. */
const safeTargets = new Map<string, string | null>()

/** A target URL without userinfo, query or fragment: safe to log. */
export function safeTarget(target: string | undefined): string | null {
  if (!target) return null
  let safe = safeTargets.get(target)
  if (safe === undefined) {
    // Plugins may point an attempt anywhere: keep the memo bounded all the same.
    if (safeTargets.size >= 1000) safeTargets.clear()
    safe = withoutSecrets(target)
    safeTargets.set(target, safe)
  }
  return safe
}

function withoutSecrets(target: string): string | null {
  try {
    const url = new URL(target)
    url.username = ''
    url.password = ''
    url.search = ''
    url.hash = ''
    return url.toString().replace(/\/$/, '')
  } catch {
    return null
  }
}
