import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/** The page's files by URL path: a fixed list, so no path from a request ever reaches the file system. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/charts.js': { file: 'charts.js', type: 'text/javascript; charset=utf-8' },
  '/markdown.js': { file: 'markdown.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
}

/**
 * The package's `webui/` folder: two levels up from `src/admin/` (tests, `node --experimental-strip-types`),
 * three from `dist/src/admin/` (the built package).
 */
function webuiFolder(): string {
  for (const relative of ['../../webui/', '../../../webui/']) {
    const folder = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(`${folder}index.html`)) return folder
  }
  throw new Error('aifd: the dashboard files (webui/) are missing from the package')
}

/**
 * Headers for every page file: only this origin's scripts and styles run (no inline script, no
 * CDN), the page is not framed, and the `?token=` a page URL may carry is never sent as a referrer.
 */
export const PAGE_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

/** Serves the dashboard's static files. */
export class StaticFiles {
  readonly folder = webuiFolder()

  has(path: string): boolean {
    return Object.hasOwn(FILES, path)
  }

  async response(path: string): Promise<Response> {
    const entry = FILES[path]
    try {
      const body = await readFile(this.folder + entry.file)
      return new Response(body, { headers: { 'content-type': entry.type, 'cache-control': 'no-cache', ...PAGE_SECURITY_HEADERS } })
    } catch {
      return new Response('not found', { status: 404 })
    }
  }
}
