// A WebSocket test client (the `ws` package) with an inbox, for the Realtime tests (not a test file itself).
import type { IncomingMessage } from 'node:http'
import { WebSocket, type ClientOptions, type RawData } from 'ws'

export interface Received {
  binary: boolean
  data: Buffer
  /** The text parsed as JSON (text frames only). */
  json?: any
}

export interface TestSocket {
  ws: WebSocket
  inbox: Received[]
  /** Waits for the next message matching `pred` (messages already received count), or fails after `ms`. */
  next(pred?: (m: Received) => boolean, ms?: number): Promise<Received>
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>
  send(event: unknown): void
}

/** Why an upgrade was refused: the HTTP answer the client got instead of 101. */
export class Refused extends Error {
  constructor(readonly status: number, readonly headers: IncomingMessage['headers'], readonly body: string) {
    super(`upgrade refused with ${status}: ${body}`)
  }
  json(): any {
    return JSON.parse(this.body)
  }
}

/** Opens a WebSocket; rejects with `Refused` when the server answers the upgrade with a status. */
export function connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options)
    const inbox: Received[] = []
    const waiters: Array<() => void> = []
    ws.on('message', (data: RawData, binary: boolean) => {
      const bytes = data as Buffer
      const message: Received = { binary, data: bytes }
      if (!binary) {
        try {
          message.json = JSON.parse(bytes.toString('utf8'))
        } catch {}
      }
      inbox.push(message)
      for (const wake of waiters.splice(0)) wake()
    })
    const closed = new Promise<{ code: number; reason: string }>((done) => ws.once('close', (code, reason) => done({ code, reason: reason.toString('utf8') })))
    ws.once('unexpected-response', (_req, res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        reject(new Refused(res.statusCode ?? 0, res.headers, Buffer.concat(parts).toString('utf8')))
        ws.terminate()
      })
    })
    ws.once('error', reject)
    ws.once('open', () => {
      ws.off('error', reject)
      ws.on('error', () => {})
      let seen = 0
      resolve({
        ws,
        inbox,
        closed,
        send: (event) => ws.send(JSON.stringify(event)),
        async next(pred = () => true, ms = 3000) {
          const deadline = Date.now() + ms
          for (;;) {
            while (seen < inbox.length) {
              const message = inbox[seen++]
              if (pred(message)) return message
            }
            const left = deadline - Date.now()
            if (left <= 0) throw new Error('no matching message arrived')
            await new Promise<void>((wake) => {
              const timer = setTimeout(wake, left)
              waiters.push(() => {
                clearTimeout(timer)
                wake()
              })
            })
          }
        },
      })
    })
  })
}

/** Matches a JSON event by its `type`. */
export const ofType = (type: string) => (m: Received) => m.json?.type === type
