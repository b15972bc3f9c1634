/** `http://host` at the start of an absolute-form request target (`GET http://host/v1/models`). */
const ABSOLUTE_FORM = /^https?:\/\/[^/]*/i

/**
 * Normalises a request path before it is matched: collapses repeated slashes and resolves `.` and
 * `..` segments (also percent-encoded ones), so that no request reaches a route its path does not
 * name. Returns `undefined` when the path climbs above the root, or is not a path (`*`).
 *
 * An absolute-form target (`GET http://other/v1/models`, what clients send to a proxy) is served by
 * its path, as RFC 9112 §3.2.2 asks: the host it names is ignored, never connected to.
 */
export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47 /* / */) {
    const authority = ABSOLUTE_FORM.exec(path)
    if (!authority) return undefined
    path = path.slice(authority[0].length) || '/'
  }
  if (!path.includes('//') && !path.includes('.') && !path.includes('%2') && !path.includes('\\')) return path
  const out: string[] = []
  for (const segment of path.split(/[/\\]+/)) {
    const plain = segment.includes('%') ? safeDecode(segment) : segment
    if (plain === '' || plain === '.') continue
    if (plain === '..') {
      if (out.length === 0) return undefined
      out.pop()
      continue
    }
    if (plain.includes('/') || plain.includes('\\')) return undefined
    out.push(segment)
  }
  const trailing = path.length > 1 && path.endsWith('/') && out.length > 0 ? '/' : ''
  return `/${out.join('/')}${trailing}`
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** A path for logs: without its query, which may carry a key (`?key=` on Gemini-style APIs). */
export function withoutQuery(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
