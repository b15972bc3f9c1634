// A too-large upload gets a readable 413: `Connection: close`, then the rest of the body is read and
// dropped (bounded) before the connection closes, so clients that are still sending read the answer
// instead of a reset. Raw sockets send exactly what a client would, including clients that upload the
// whole body before reading anything.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import OpenAI, { toFile } from 'openai'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { definePlugin, errorResponse } from '../../src/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { RawSocket } from '../helpers/raw-socket.ts'
import { KEY, expectOpenAIError, sleep, until } from './util.ts'

const MB = 1024 * 1024

const readsBody = definePlugin(() => ({
  name: 'reads-body',
  async onRequest(ctx) {
    await ctx.json()
  },
}))

/** Refuses every request without reading its body, like an auth plugin facing an upload. */
const refuses = definePlugin(() => ({
  name: 'refuses',
  onRequest: () => errorResponse(401, 'No key', 'authentication_error', 'invalid_api_key'),
}))

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    bodyLimit: '10mb',
    routes: {
      openai: { path: '/', target: mock.url },
      small: { path: '/small', target: mock.url, bodyLimit: '1mb' },
      json: { path: '/json', target: mock.url, bodyLimit: '1mb', plugins: [readsBody()] },
      refuses: { path: '/refuses', target: mock.url, plugins: [refuses()] },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

const connections = () => new Promise<number>((resolve) => gw.server.getConnections((_e, n) => resolve(n)))

/** Resolves true when the gateway holds no more connections than `before` (other tests' keep-alive ones) within `ms`. */
const closedByServer = (before: number, ms: number) => until(async () => (await connections()) <= before, ms, 50)

function head(path: string, framing: 'length' | 'chunked', length: number, type = 'application/octet-stream'): string {
  const body = framing === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${length}`
  return `POST ${path} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${KEY}\r\ncontent-type: ${type}\r\n${body}\r\n\r\n`
}

describe('413 for a body over the limit, readable by clients that are still sending', () => {
  it('the OpenAI SDK uploading a 20 MB file over a 10 MB limit gets the 413 as an APIError, and its next call works', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 })
    const failure = await client.files.create({ file: await toFile(Buffer.alloc(20 * MB, 7), 'big.jsonl'), purpose: 'batch' }).catch((e) => e)
    expect(failure).toBeInstanceOf(OpenAI.APIError)
    expect(failure).not.toBeInstanceOf(OpenAI.APIConnectionError)
    expect(failure.status).toBe(413)
    expect(failure.code).toBe('body_too_large')
    expect(failure.headers.get('connection')).toBe('close')
    expect(mock.requests).toHaveLength(0)
    const small = await client.files.create({ file: await toFile(Buffer.from('{"a":1}\n'), 'small.jsonl'), purpose: 'batch' })
    expect(small.bytes).toBe(8)
  })

  it('curl gets the 413 JSON, with a length and chunked', async () => {
    const file = join(tmpdir(), `aifd-413-${process.pid}.bin`)
    await writeFile(file, Buffer.alloc(20 * MB, 1))
    for (const extra of [[], ['-H', 'transfer-encoding: chunked']]) {
      const { stdout } = await promisify(execFile)('curl', ['-sS', '-m', '20', '-w', '\n%{http_code}', ...extra, '--data-binary', `@${file}`, `${gw.url}/v1/files`])
      const [body, status] = stdout.split('\n')
      expect(status).toBe('413')
      expect(expectOpenAIError(JSON.parse(body!)).code).toBe('body_too_large')
    }
  })

  // A client that sends its whole body before reading (Python's httpx, many scripts): it must not be reset.
  for (const [name, path, framing] of [
    ['announced by content-length, piped route', '/small/v1/files', 'length'],
    ['announced by content-length, a plugin reads the body', '/json/v1/chat/completions', 'length'],
    ['chunked, a plugin reads the body (limit crossed while it reads)', '/json/v1/chat/completions', 'chunked'],
    ['chunked, piped upstream (limit crossed while piping)', '/small/v1/files', 'chunked'],
  ] as const) {
    it(`${name}: 413 with Connection: close, the whole body is drained, then the connection closes without a reset`, async () => {
      const before = await connections()
      const client = new RawSocket(gw.url)
      await client.write(head(path, framing, 20 * MB, 'application/json'))
      const sent = await client.pump(20 * MB, { chunked: framing === 'chunked' })
      if (framing === 'chunked') await client.write('0\r\n\r\n')
      expect(sent).toBe(20 * MB)
      const res = await client.response()
      expect(res.status).toBe(413)
      expect(res.headers.connection).toBe('close')
      expect(expectOpenAIError(res.json()).code).toBe('body_too_large')
      await client.serverEnded
      expect(await closedByServer(before, 3000)).toBe(true)
      expect(client.error).toBeUndefined()
      // The upstream never got the whole body.
      expect(mock.requests.some((r) => r.completed)).toBe(false)
      client.destroy()
    })
  }

  it('drains a bounded amount: a client that sends without end is cut off after 64 MB or so', async () => {
    const client = new RawSocket(gw.url)
    await client.write(head('/small/v1/files', 'length', 10 * 1024 * MB))
    const sent = await client.pump(1024 * MB)
    const res = await client.response()
    expect(res.status).toBe(413)
    // The drain's byte count is polled, and a loopback client writes ~1 GB/s: a busy event loop lets
    // some hundred MB more through. What matters is that it is cut off, long before the 1 GB it sends.
    expect(sent).toBeLessThan(512 * MB)
    expect(client.error?.code).toMatch(/ECONNRESET|EPIPE/)
  })

  it('drains for a bounded time: a client that stops sending mid-body is closed after 5 s of silence', async () => {
    const before = await connections()
    const client = new RawSocket(gw.url)
    await client.write(head('/small/v1/files', 'length', 20 * MB))
    await client.pump(2 * MB)
    expect((await client.response()).status).toBe(413)
    const started = Date.now()
    expect(await closedByServer(before, 9000)).toBe(true)
    expect(Date.now() - started).toBeGreaterThan(3000)
    client.destroy()
  }, 15_000)

  it('does not serve a request pipelined behind a body it answered with Connection: close', async () => {
    const client = new RawSocket(gw.url)
    await client.write(Buffer.concat([
      Buffer.from(head('/small/v1/files', 'length', 2 * MB)),
      Buffer.alloc(2 * MB, 0x61),
      Buffer.from(`GET /v1/models HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${KEY}\r\n\r\n`),
    ]))
    const res = await client.response()
    expect(res.status).toBe(413)
    await client.serverEnded
    await sleep(200)
    expect(client.received.toString('latin1').match(/HTTP\/1\.1 /g)).toHaveLength(1)
    expect(mock.requests).toHaveLength(0)
    client.destroy()
  })

  it('a plugin that answers an upload before it ended (401) is read by the client too, with Connection: close', async () => {
    const client = new RawSocket(gw.url)
    await client.write(head('/refuses/v1/files', 'length', 8 * MB))
    await client.pump(8 * MB)
    const res = await client.response()
    expect(res.status).toBe(401)
    expect(res.headers.connection).toBe('close')
    expect(expectOpenAIError(res.json()).code).toBe('invalid_api_key')
    await client.serverEnded
    expect(client.error).toBeUndefined()
    client.destroy()
  })

  it('Expect: 100-continue with a body announced over the limit: the 413 comes instead of 100 Continue, so nothing is sent', async () => {
    const client = new RawSocket(gw.url)
    await client.write(`POST /small/v1/files HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${KEY}\r\nexpect: 100-continue\r\ncontent-length: ${20 * MB}\r\n\r\n`)
    const res = await client.response()
    expect(res.status).toBe(413)
    expect(res.headers.connection).toBe('close')
    expect(expectOpenAIError(res.json()).code).toBe('body_too_large')
    // The client, told no, closes; the gateway closes too.
    client.socket.end()
    await client.closed
    expect(client.error).toBeUndefined()
    // Within the limit, the body is asked for and forwarded.
    const ok = new RawSocket(gw.url)
    await ok.write(`POST /small/v1/echo/up HTTP/1.1\r\nhost: gateway\r\nexpect: 100-continue\r\ncontent-length: 1000\r\n\r\n`)
    expect((await ok.response()).status).toBe(100)
    ok.received = Buffer.alloc(0)
    await ok.pump(1000)
    expect((await ok.response()).json().bodyLength).toBe(1000)
    ok.destroy()
  })

  it('a body within the limit keeps the connection open for the next request', async () => {
    const client = new RawSocket(gw.url)
    await client.write(head('/small/v1/echo/up', 'length', 1000))
    await client.pump(1000)
    const res = await client.response()
    expect(res.status).toBe(200)
    expect(res.headers.connection).toBe('keep-alive')
    expect(res.json().bodyLength).toBe(1000)
    client.destroy()
  })
})
