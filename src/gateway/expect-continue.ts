import type { IncomingMessage, ServerResponse } from 'node:http'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const EXPECTS_CONTINUE = Symbol('aifd.expects-continue')

type ContinuingRequest = IncomingMessage & { [EXPECTS_CONTINUE]?: boolean }

/**
 * Wraps the request handler for the server's `'checkContinue'` event. Without a listener there,
 * Node answers `Expect: 100-continue` with `100 Continue` at once, so a client (curl sends it for
 * bodies over 1 MB) uploads a body the gateway will refuse for its size. Marked here, the request
 * goes through the app as usual and its route decides (`continueIfFits`).
 */
export function expectsContinue(handle: Handler): Handler {
  return (req, res) => {
    ;(req as ContinuingRequest)[EXPECTS_CONTINUE] = true
    handle(req, res)
  }
}

/**
 * Sends `100 Continue` to a request that asked for it, once its route is known, unless the body it
 * announced is over the route's `limit`: the 413 is then the answer and the client sends no body.
 * An answer given without it (a 404, a plugin's 401) tells the client not to send the body either.
 */
export function continueIfFits(req: IncomingMessage, res: ServerResponse, limit: number): void {
  const continuing = req as ContinuingRequest
  if (!continuing[EXPECTS_CONTINUE]) return
  continuing[EXPECTS_CONTINUE] = false
  if (Number(req.headers['content-length']) > limit) return
  res.writeContinue()
}
