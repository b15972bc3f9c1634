// The client-side body deadline: a request body that stalls gets 408 in OpenAI's shape and its
// upstream call is cancelled; uploads that keep moving and long response streams are never cut.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { ConfigError, definePlugin, resolveConfig } from '../../src/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { RawSocket } from '../helpers/raw-socket.ts'
import { KEY, chat, expectOpenAIError, lastRecord, sdk, sleep, until } from './util.ts'

const readsBody = definePlugin(() => ({
  name: 'reads-body',
  async onRequest(ctx) {
    await ctx.json()
  },
}))

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    bodyTimeout: '400ms',
    routes: {
      openai: { path: '/', target: mock.url },
      json: { path: '/json', target: mock.url, plugins: [readsBody()] },
      patient: { path: '/patient', target: mock.url, bodyTimeout: 0 },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

function head(path: string, framing: 'length' | 'chunked', length: number, type = 'application/octet-stream'): string {
  const body = framing === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${length}`
  return `POST ${path} HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${KEY}\r\ncontent-type: ${type}\r\n${body}\r\n\r\n`
}

describe('bodyTimeout: a request body that stalls', () => {
  for (const [name, path, framing, length, type, piped] of [
    ['a large upload piped upstream', '/v1/files', 'length', 1_000_000, 'application/octet-stream', true],
    ['a small body (read whole before it goes upstream)', '/v1/echo/x', 'length', 1000, 'application/octet-stream', false],
    ['a chunked upload piped upstream', '/v1/files', 'chunked', 0, 'application/octet-stream', true],
    ['a JSON body a plugin reads', '/json/v1/chat/completions', 'length', 1000, 'application/json', false],
  ] as const) {
    it(`${name}: 408 body_timeout with Connection: close, and the upstream call is cancelled`, async () => {
      const client = new RawSocket(gw.url)
      await client.write(head(path, framing, length, type))
      await client.pump(100, { chunk: 100, chunked: framing === 'chunked' })
      const started = Date.now()
      const res = await client.response(5000)
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      expect(res.status).toBe(408)
      expect(res.headers.connection).toBe('close')
      const error = expectOpenAIError(res.json())
      expect(error.code).toBe('body_timeout')
      expect(error.type).toBe('invalid_request_error')
      // Nothing of it is left waiting upstream: a piped upload's call was cancelled, others were never made.
      expect(mock.requests).toHaveLength(piped ? 1 : 0)
      expect(await until(() => mock.requests.every((r) => r.aborted), 2000)).toBe(true)
      expect(mock.requests.some((r) => r.completed)).toBe(false)
      client.destroy()
    })
  }

  it('a client that sends headers and then nothing gets the 408 too', async () => {
    const client = new RawSocket(gw.url)
    await client.write(head('/v1/files', 'length', 5000))
    expect((await client.response(5000)).status).toBe(408)
    client.destroy()
  })

  it('an upload that keeps moving is never cut, however long it takes (a chunk every 100 ms for 2.5 s, timeout 400 ms)', async () => {
    const client = new RawSocket(gw.url)
    await client.write(head('/v1/echo/slow', 'length', 2500))
    void client.pump(2500, { chunk: 100, delayMs: 100 })
    const res = await client.response(10_000)
    expect(res.status).toBe(200)
    expect(res.json().bodyLength).toBe(2500)
    expect(res.headers.connection).toBe('keep-alive')
    client.destroy()
  })

  it('a long response stream is not cut by it (2 s of SSE, timeout 400 ms)', async () => {
    const stream = await sdk(gw.url).chat.completions.create(chat('slow', { stream: true }), { headers: { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '100' } })
    let content = ''
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? ''
    expect(content.length).toBeGreaterThan(0)
    expect(lastRecord(mock).aborted).toBe(false)
  })

  it('time the gateway spends before it reads the body does not count against the client', async () => {
    const slowHook = definePlugin(() => ({
      name: 'slow-hook',
      async onRequest(ctx) {
        await sleep(1000)
        await ctx.json()
      },
    }))
    const slow = await startTestGateway({ bodyTimeout: '300ms', routes: { openai: { path: '/', target: mock.url, plugins: [slowHook()] } } })
    try {
      const res = await fetch(`${slow.url}/v1/echo/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat('hi')) })
      expect(res.status).toBe(200)
    } finally {
      await slow.stop()
    }
  })

  it('a route with bodyTimeout: 0 waits for a stalled body', async () => {
    const client = new RawSocket(gw.url)
    await client.write(head('/patient/v1/echo/x', 'length', 200))
    await client.pump(100, { chunk: 100 })
    await sleep(1200)
    expect(client.received.length).toBe(0)
    await client.pump(100, { chunk: 100 })
    expect((await client.response()).status).toBe(200)
    client.destroy()
  })
})

describe('bodyTimeout config', () => {
  const route = { path: '/', target: 'http://127.0.0.1:1' }

  it('defaults to 30 s; top level sets every route, a route may set its own', () => {
    expect(resolveConfig({ routes: { a: route } }).routes[0]!.bodyTimeout).toBe(30_000)
    const config = resolveConfig({ bodyTimeout: '1m', routes: { a: route, b: { ...route, path: '/b', bodyTimeout: 5000 } } })
    expect(config.routes.map((r) => r.bodyTimeout)).toEqual([60_000, 5000])
  })

  it('refuses a malformed value, naming the field', () => {
    expect(() => resolveConfig({ bodyTimeout: 'soon', routes: { a: route } })).toThrow(ConfigError)
    expect(() => resolveConfig({ routes: { a: { ...route, bodyTimeout: 'soon' } } })).toThrow(/routes\.a\.bodyTimeout/)
  })
})
