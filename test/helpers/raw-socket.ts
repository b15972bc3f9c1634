// A raw TCP client for HTTP/1.1 tests: writes exactly the bytes given (request lines, headers,
// bodies node:http would refuse to send) and reads what the server really answers.
import { connect, type Socket } from 'node:net'

export interface ParsedResponse {
  status: number
  /** Lowercase names; repeated headers joined with ", ". */
  headers: Record<string, string>
  body: Buffer
  text: string
  json(): any
}

/**
 * One connection to a server, read in full as it arrives. Half-open: the server closing its side does
 * not stop this client from sending, like a client that uploads its whole body before it reads.
 */
export class RawSocket {
  readonly socket: Socket
  /** Every byte the server sent. */
  received = Buffer.alloc(0)
  /** Body bytes this client managed to write. */
  sent = 0
  /** The socket error, if any (ECONNRESET, EPIPE). */
  error: NodeJS.ErrnoException | undefined
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>
  /** Resolves when the server ended its side (FIN), or the connection closed. */
  readonly serverEnded: Promise<void>
  readonly #connected: Promise<void>
  #onData: Array<() => void> = []

  constructor(url: string) {
    const { hostname, port } = new URL(url)
    this.socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true })
    this.#connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve)
      this.socket.once('error', reject)
    })
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk])
      for (const wake of this.#onData.splice(0)) wake()
    })
    this.socket.on('error', (error) => {
      this.error = error
    })
    this.serverEnded = new Promise((resolve) => {
      this.socket.once('end', resolve)
      this.socket.once('close', resolve)
    })
    this.closed = new Promise((resolve) => this.socket.once('close', () => {
      for (const wake of this.#onData.splice(0)) wake()
      resolve()
    }))
  }

  get isClosed(): boolean {
    return this.socket.destroyed
  }

  async write(data: string | Buffer): Promise<void> {
    await this.#connected
    if (this.socket.destroyed) return
    await new Promise<void>((resolve) => this.socket.write(data, () => resolve()))
  }

  /**
   * Writes `total` bytes of `fill` in chunks of `chunk` bytes, `delayMs` apart (0: as fast as the
   * socket takes them), optionally each wrapped as an HTTP chunk. Stops early when the socket breaks
   * or closes; resolves with the number of bytes written.
   */
  async pump(total: number, options: { chunk?: number; delayMs?: number; chunked?: boolean; fill?: number } = {}): Promise<number> {
    await this.#connected
    const size = options.chunk ?? 64 * 1024
    const piece = Buffer.alloc(size, options.fill ?? 0x61)
    let written = 0
    while (written < total && !this.socket.destroyed && !this.socket.writableEnded) {
      const n = Math.min(size, total - written)
      const part = n === size ? piece : piece.subarray(0, n)
      const out = options.chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part
      const ok = this.socket.write(out)
      written += n
      this.sent += n
      if (options.delayMs) await sleep(options.delayMs)
      else if (!ok) await new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off('drain', done)
          this.socket.off('close', done)
          resolve()
        }
        this.socket.once('drain', done)
        this.socket.once('close', done)
      })
    }
    return written
  }

  /** Resolves with the first complete response, or rejects when the connection closes without one. */
  async response(timeoutMs = 10_000): Promise<ParsedResponse> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const parsed = parseResponse(this.received, this.socket.destroyed || this.socket.readableEnded)
      if (parsed) return parsed
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`connection closed without a complete response (${this.error?.code ?? 'no error'}); got ${JSON.stringify(this.received.toString('latin1').slice(0, 200))}`)
      if (Date.now() > end) throw new Error(`no complete response in ${timeoutMs} ms; got ${JSON.stringify(this.received.toString('latin1').slice(0, 200))}`)
      await new Promise<void>((resolve) => {
        this.#onData.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }

  /** Resolves true when the server closed the connection within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)])
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** Sends one raw request (head and optional body) on a fresh connection and reads the response. */
export async function rawRequest(url: string, request: string | Buffer, timeoutMs = 10_000): Promise<ParsedResponse & { socket: RawSocket }> {
  const client = new RawSocket(url)
  try {
    await client.write(request)
    return Object.assign(await client.response(timeoutMs), { socket: client })
  } finally {
    client.destroy()
  }
}

/** Parses one HTTP/1.1 response from the bytes so far; undefined while incomplete. */
export function parseResponse(bytes: Buffer, closed: boolean): ParsedResponse | undefined {
  const split = bytes.indexOf('\r\n\r\n')
  if (split === -1) return undefined
  const lines = bytes.subarray(0, split).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1])
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  const rest = bytes.subarray(split + 4)
  let body: Buffer | undefined
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) body = Buffer.alloc(0)
  else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    if (rest.length >= length) body = rest.subarray(0, length)
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    body = dechunk(rest)
  } else if (closed) body = rest
  if (body === undefined) return undefined
  const text = body.toString('utf8')
  return { status, headers, body, text, json: () => JSON.parse(text) }
}

/** The body of a complete chunked message, or undefined while the last chunk has not come. */
function dechunk(bytes: Buffer): Buffer | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = bytes.indexOf('\r\n', at)
    if (eol === -1) return undefined
    const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16)
    if (Number.isNaN(size)) return undefined
    if (size === 0) return Buffer.concat(parts)
    if (bytes.length < eol + 2 + size + 2) return undefined
    parts.push(bytes.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
