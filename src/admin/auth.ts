import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A new admin token: 24 random bytes, URL-safe. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url')
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Constant-time comparison (hashing first makes the lengths equal, so not even the length leaks). */
export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false
  return timingSafeEqual(digest(expected), digest(given))
}

/**
 * The token a request presents: `Authorization: Bearer …`, or `?token=` where a header cannot be
 * set (EventSource, for the live stream).
 */
export function presentedToken(request: Request, url: URL, allowQuery: boolean): string | undefined {
  const header = request.headers.get('authorization')
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim()
  if (allowQuery) return url.searchParams.get('token') ?? undefined
  return undefined
}
