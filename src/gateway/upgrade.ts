import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { ForwardError } from './errors.ts'

/** Writes a plain HTTP answer on a socket whose upgrade is refused, then closes it. */
export function refuse(socket: Duplex, status: number, headers: Record<string, string | string[] | undefined>, body: Buffer | string): void {
  if (socket.destroyed) return
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`]
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue
    for (const v of Array.isArray(value) ? value : [value]) {
      // A header value must not be able to end the head early.
      if (!/[\r\n]/.test(v)) lines.push(`${name}: ${v}`)
    }
  }
  lines.push(`content-length: ${Buffer.byteLength(body)}`, 'connection: close')
  socket.end(`${lines.join('\r\n')}\r\n\r\n${typeof body === 'string' ? body : body.toString('latin1')}`, 'latin1')
}

/** Refuses an upgrade with an error in OpenAI's shape. */
export function refuseWith(socket: Duplex, error: ForwardError, extra: Record<string, string> = {}): void {
  refuse(socket, error.status, { 'content-type': 'application/json', ...error.headers, ...extra }, Buffer.from(JSON.stringify(error.toJSON())))
}

/** Writes what the h3 app answered to a handshake it did not hand to a route (404, a middleware's 403, …). */
export async function refuseUpgrade(socket: Duplex, response: Response): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => (headers[name] = value))
  refuse(socket, response.status, headers, Buffer.from(await response.arrayBuffer()))
}
