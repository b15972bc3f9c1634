import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CorsConfig } from '../config/types.ts'
import { tooLarge } from './context.ts'
import { corsHeaders } from './cors.ts'
import { closeAfterResponse } from './lingering-close.ts'
import type { RouteMatch } from './router.ts'
import { normalizePath } from './router.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * The server's `'checkContinue'` listener. Without one, Node answers `Expect: 100-continue` with
 * `100 Continue` at once, so a client (curl sends it for bodies over 1 MB) uploads a body the
 * gateway will refuse for its size. With it, a body announced larger than its route's `bodyLimit`
 * gets the 413 instead of the 100, and the client sends none of it; any other request gets its
 * 100 Continue and goes on as usual.
 */
export function checkContinue(current: () => { match: (path: string) => RouteMatch | undefined; cors: Required<CorsConfig> | false }, handle: Handler): Handler {
  return (req, res) => {
    const length = Number(req.headers['content-length'])
    const { match, cors } = current()
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = normalizePath(q === -1 ? url : url.slice(0, q))
    const route = path === undefined ? undefined : match(path)?.route
    if (route && length > route.bodyLimit) {
      const error = tooLarge(route.bodyLimit)
      const body = JSON.stringify(error.toJSON())
      closeAfterResponse(req, res, route.bodyLimit)
      res.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...corsHeaders(cors, req.headers.origin) })
      res.end(body)
      return
    }
    res.writeContinue()
    handle(req, res)
  }
}
