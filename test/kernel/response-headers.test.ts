// An upstream's response headers as the client gets them: repeated ones each kept, names in any
// case, values byte for byte, hop-by-hop and prototype-named ones dropped. The upstream writes raw
// bytes (node:http would normalise what it sends).
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/raw-socket.ts'

const HEAD = Buffer.concat([
  Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nSET-COOKIE: b=2\r\n'),
  Buffer.from('X-Mixed-Case: Yes\r\nx-latin: caf'), Buffer.from([0xe9]), Buffer.from('\r\n'),
  Buffer.from('__proto__: polluted\r\nKeep-Alive: timeout=5\r\nX-Custom-Thing: 1\r\nContent-Length: 2\r\n\r\n{}'),
])

let upstream: Server
let gw: TestGateway

beforeAll(async () => {
  upstream = createServer((socket) => {
    socket.on('error', () => {})
    // One response per request head; the body-less GETs here end at the blank line.
    let pending = ''
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1')
      while (pending.includes('\r\n\r\n')) {
        pending = pending.slice(pending.indexOf('\r\n\r\n') + 4)
        socket.write(HEAD)
      }
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  gw = await startTestGateway({ routes: { raw: { path: '/', target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, type: 'general' } } })
})
afterAll(async () => {
  await gw?.stop()
  await new Promise<void>((resolve) => upstream.close(() => resolve()))
})

describe('upstream response headers', () => {
  it('reach the client as the upstream sent them', async () => {
    const res = await rawRequest(gw.url, 'GET /v1/anything HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(res.status).toBe(200)
    expect(res.text).toBe('{}')
    const head = res.socket.received.subarray(0, res.socket.received.indexOf('\r\n\r\n')).toString('latin1')
    // Each Set-Cookie is its own line (joining them would break cookies), with lowercase names.
    expect(head.match(/^set-cookie: .*$/gim)).toEqual(['set-cookie: a=1', 'set-cookie: b=2'])
    expect(head).toMatch(/^x-mixed-case: Yes$/m)
    expect(head).toMatch(/^x-custom-thing: 1$/m)
    // A byte over 0x7f comes back as that byte, not re-encoded as UTF-8.
    expect(res.socket.received.includes(Buffer.concat([Buffer.from('x-latin: caf'), Buffer.from([0xe9]), Buffer.from('\r\n')]))).toBe(true)
    expect(head).not.toMatch(/__proto__/)
    expect(head).not.toMatch(/timeout=5/)
  })
})
