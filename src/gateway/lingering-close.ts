import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** How long a lingering close may read after the response, in all. nginx's `lingering_time` is 30 s. */
const LINGER_MS = 30_000
/** How long it waits for more of the body before it gives up. nginx's `lingering_timeout` is 5 s. */
const LINGER_IDLE_MS = 5_000
/** The least it reads and drops, whatever the route's body limit. */
const MIN_LINGER_BYTES = 64 * 1024 * 1024

const LINGERING = Symbol('aifd.lingering')

type LingeringSocket = Socket & { [LINGERING]?: true }

/**
 * Answers a request whose body has not been read in full (a 413, a 408, a plugin's 401 given before
 * the upload ended) without resetting the connection: call it before the response's headers are
 * written.
 *
 * The response gets `Connection: close`. Node would then destroy the socket as soon as the response
 * is written; with body bytes still unread that sends a TCP reset, and a client still uploading
 * (curl, the OpenAI SDK's `files.create`, Python's httpx) sees ECONNRESET or EPIPE instead of the
 * answer. Like nginx's lingering close, the socket is instead half-closed after the response and the
 * rest of the body read and dropped, for at most `LINGER_MS`, `LINGER_IDLE_MS` of silence and
 * `2 × bodyLimit` bytes (at least 64 MB), then closed. Without `Connection: close` Node would keep
 * the connection and read the rest of the body however large it is.
 */
export function closeAfterResponse(req: IncomingMessage, res: ServerResponse, bodyLimit: number): void {
  if (res.headersSent || req.complete) return
  // undici unsets `req.socket` when it gives up on a piped body; the response keeps it.
  const socket = (res.socket ?? req.socket) as LingeringSocket | null
  if (!socket || socket.destroyed || socket[LINGERING]) return
  socket[LINGERING] = true
  // Node writes `Connection: close` for this and calls `socket.destroySoon()` once the response is written.
  res.shouldKeepAlive = false
  socket.destroySoon = () => linger(req, socket, Math.max(2 * bodyLimit, MIN_LINGER_BYTES))
}

/**
 * Whether the request came on a connection that is being closed: the server said `Connection: close`
 * and must not serve another request from it (RFC 9112 §9.6), even one the client sent already.
 */
export function isClosing(req: IncomingMessage): boolean {
  return (req.socket as LingeringSocket | null)?.[LINGERING] === true
}

/**
 * How often a lingering socket is looked at. Node's parser reads the socket natively, so the byte
 * count is polled: a loopback client sends ~1 GB/s, so the bound is passed by up to this many ms of it.
 */
const LINGER_CHECK_MS = 20

/** Closes once what was written is flushed: with nothing left unread, that sends no reset. */
function closeGently(socket: Socket): void {
  if (socket.writableFinished) socket.destroy()
  else socket.once('finish', () => socket.destroy())
}

type DumpableRequest = IncomingMessage & { _dump?: () => void }

function linger(req: DumpableRequest, socket: Socket, maxBytes: number): void {
  if (socket.writable) socket.end()
  if (req.complete) return closeGently(socket)
  // Drop the rest at the parser, as Node does for a body nobody read: no 'data' events, and it keeps
  // reading even when the request stream was destroyed (undici destroys a piped body it gave up on).
  if (typeof req._dump === 'function') req._dump()
  else req.removeAllListeners('data').resume()
  socket.resume()
  const startedAt = performance.now()
  const startBytes = socket.bytesRead
  let seenBytes = startBytes
  let seenAt = startedAt
  const check = setInterval(() => {
    const now = performance.now()
    const bytes = socket.bytesRead
    if (bytes !== seenBytes) {
      seenBytes = bytes
      seenAt = now
    }
    if (req.complete) finish(true)
    else if (bytes - startBytes > maxBytes || now - seenAt > LINGER_IDLE_MS || now - startedAt > LINGER_MS) finish(false)
    // A request stream that was destroyed stops the socket's reading each time it gets data.
    else if (socket.isPaused()) socket.resume()
  }, LINGER_CHECK_MS).unref()
  const finish = (gently: boolean) => {
    clearInterval(check)
    if (gently) closeGently(socket)
    else socket.destroy()
  }
  // The whole body came, or the client closed its side: it has stopped sending.
  req.once('end', () => finish(true))
  socket.once('end', () => finish(true))
  socket.once('close', () => clearInterval(check))
}
