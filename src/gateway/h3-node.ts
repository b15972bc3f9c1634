import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { H3, H3Event } from 'h3'
import { NodeRequest, sendNodeResponse } from 'srvx/node'
import type { ConsolaInstance } from 'consola'
import { refuseUpgrade } from './upgrade.ts'

/**
 * h3's "the response was written to Node directly" value (`kHandled`, a registered symbol): a
 * forwarded route writes its answer itself, chunk by chunk, and tells h3 so when it has ended.
 */
export const HANDLED = Symbol.for('h3.handled')

/** What `runtime.node` carries for a WebSocket handshake: the socket instead of a response. */
export interface NodeRuntime {
  req: IncomingMessage
  res?: ServerResponse
  upgrade?: { socket: Duplex; head: Buffer; taken: boolean }
  /**
   * Set by a route that answers on `res` itself, after it returned: h3 is told "handled" at once
   * (no promise for h3 to follow through its response chain), so what the app returns is not sent.
   */
  taken?: boolean
}

/**
 * Sends what the app answered, unless a route already wrote its answer to Node itself (a forwarded
 * response, a preflight): srvx's own sender would end it a second time, and Node builds an error
 * object with a stack trace for that (6% of the bare route's CPU in a profile).
 */
function send(node: NodeRuntime, response: Response): void {
  if (!node.taken) writeResponse(node.res!, response)
}

/** Writes a web `Response` to Node, unless an answer has begun on `res` already. */
export function writeResponse(res: ServerResponse, response: Response): void {
  if (res.headersSent || res.destroyed) return
  sendNodeResponse(res as never, response).catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(500).end()
    else res.destroy(error as Error)
  })
}

function fail(res: ServerResponse, error: unknown, log: ConsolaInstance): void {
  log.error('the gateway failed to answer a request:', error)
  if (!res.headersSent) res.writeHead(500).end()
  else res.destroy()
}

export function nodeOf(event: H3Event): NodeRuntime {
  return event.runtime!.node as NodeRuntime
}

/** The Node entry points of an h3 app: the request listener, and the `'upgrade'` listener. */
export function nodeEntry(app: H3, log: ConsolaInstance): {
  handler: (req: IncomingMessage, res: ServerResponse) => void
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
} {
  return {
    handler(req, res) {
      const node: NodeRuntime = { req, res, taken: false }
      const response = app.fetch(new NodeRequest(node as never) as unknown as Request)
      if (response instanceof Promise) response.then((r) => send(node, r), (error: unknown) => fail(res, error, log))
      else send(node, response)
    },
    upgrade(req, socket, head) {
      socket.on('error', () => {})
      // A handshake has no ServerResponse: the app sees `runtime.node.upgrade` and a route hands the
      // socket to the WebSocket forwarder; any other answer (404, a middleware's 403) is written raw.
      const upgrade = { socket, head, taken: false }
      const request = new NodeRequest({ req, upgrade } as never)
      Promise.resolve(app.fetch(request as unknown as Request))
        .then((response) => (upgrade.taken ? undefined : refuseUpgrade(socket, response)))
        .catch((error: unknown) => {
          log.error('WebSocket upgrade failed:', error)
          socket.destroy()
        })
    },
  }
}
