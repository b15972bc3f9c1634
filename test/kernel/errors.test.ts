// Every failure the gateway answers itself comes in OpenAI's error shape with a stable code,
// upstream errors pass through untouched, and no failure takes the process down.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { definePlugin } from '../../src/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { freePort } from '../helpers/redis.ts'
import { KEY, chat, expectOpenAIError, lastRecord, raw, sdk, sseData, until } from './util.ts'

let mock: MockUpstream
let gw: TestGateway
let closedPort: number

const readsBody = definePlugin(() => ({
  name: 'reads-body',
  async onRequest(ctx) {
    await ctx.json()
  },
}))

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  closedPort = await freePort()
  gw = await startTestGateway({
    routes: {
      openai: { path: '/', target: mock.url },
      refused: { path: '/refused', target: `http://127.0.0.1:${closedPort}` },
      slow: { path: '/slow', target: mock.url, timeout: 200 },
      idle: { path: '/idle', target: mock.url, timeout: { idle: 200 } },
      total: { path: '/total', target: mock.url, timeout: { total: 600 } },
      small: { path: '/small', target: mock.url, bodyLimit: 1024 },
      smalljson: { path: '/smalljson', target: mock.url, bodyLimit: '1kb', plugins: [readsBody()] },
      parsing: { path: '/parsing', target: mock.url, plugins: [readsBody()] },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

describe('errors the gateway answers', () => {
  it('502 upstream_unreachable when the upstream refuses the connection', async () => {
    const res = await post('/refused/v1/chat/completions', chat('hi'))
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toMatch(/application\/json/)
    const error = expectOpenAIError(await res.json())
    expect(error.code).toBe('upstream_unreachable')
    expect(error.type).toBe('upstream_error')
    // The SDK reads it as an API error with the gateway's message.
    const client = new OpenAI({ baseURL: `${gw.url}/refused/v1`, apiKey: KEY, maxRetries: 0 })
    const failure = await client.chat.completions.create(chat('hi')).catch((e) => e)
    expect(failure).toBeInstanceOf(OpenAI.APIError)
    expect(failure.status).toBe(502)
    expect(failure.code).toBe('upstream_unreachable')
  })

  it('504 upstream_headers_timeout when the upstream answers too late, and the upstream call is cancelled', async () => {
    const res = await post('/slow/v1/chat/completions', chat('hi'), { 'x-mock-delay-ms': '2000' })
    expect(res.status).toBe(504)
    const error = expectOpenAIError(await res.json())
    expect(error.code).toBe('upstream_headers_timeout')
    expect(error.type).toBe('timeout_error')
    expect(await until(() => lastRecord(mock).aborted, 1000)).toBe(true)
  })

  it('ends a stream that goes idle with the chunks so far and a final error event', async () => {
    const res = await post('/idle/v1/chat/completions', chat('idle', { stream: true }), { 'x-mock-stall-ms': '2000' })
    expect(res.status).toBe(200)
    const events = sseData(await res.text())
    const last = events.at(-1)
    expect(last).not.toBe('[DONE]')
    expect(expectOpenAIError(last).code).toBe('upstream_idle_timeout')
    const chunks = events.slice(0, -1)
    // The mock stalls after 3 writes: role delta and two content deltas got through.
    expect(chunks).toHaveLength(3)
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true)
    expect(await until(() => lastRecord(mock).aborted, 1000)).toBe(true)
  })

  it('the SDK surfaces the idle-timeout event as an error after the chunks so far', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/idle/v1`, apiKey: KEY, maxRetries: 0 })
    const stream = await client.chat.completions.create(chat('idle', { stream: true }), { headers: { 'x-mock-stall-ms': '2000' } })
    let seen = 0
    const failure = await (async () => {
      for await (const _ of stream) seen++
    })().catch((e) => e)
    expect(seen).toBe(3)
    expect(failure).toBeInstanceOf(OpenAI.APIError)
    expect(String(failure.message)).toMatch(/idle timeout/i)
  })

  it('504 upstream_total_timeout for a request over its total time, before or during the response', async () => {
    const before = await post('/total/v1/chat/completions', chat('hi'), { 'x-mock-delay-ms': '3000' })
    expect(before.status).toBe(504)
    expect(expectOpenAIError(await before.json()).code).toBe('upstream_total_timeout')

    mock.reset()
    const during = await post('/total/v1/chat/completions', chat('hi', { stream: true }), { 'x-mock-chunks': '30', 'x-mock-chunk-delay-ms': '50' })
    expect(during.status).toBe(200)
    const events = sseData(await during.text())
    expect(events.length).toBeGreaterThan(2)
    expect(expectOpenAIError(events.at(-1)).code).toBe('upstream_total_timeout')
    expect(await until(() => lastRecord(mock).aborted, 1000)).toBe(true)
  })

  it('413 for a body over the route limit, announced by content-length', async () => {
    const big = 'x'.repeat(4096)
    const res = await raw(gw.url, 'POST', '/small/v1/echo/upload', { headers: { 'content-type': 'application/octet-stream' }, body: big })
    expect(res.status).toBe(413)
    expect(expectOpenAIError(res.json()).code).toBe('body_too_large')
    expect(mock.requests).toHaveLength(0)
  })

  it('413 for a chunked JSON body over the limit when a plugin reads it', async () => {
    const chunks = Array.from({ length: 8 }, (_, i) => (i === 0 ? '{"a":"' : 'y'.repeat(512)))
    const res = await raw(gw.url, 'POST', '/smalljson/v1/chat/completions', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'transfer-encoding': 'chunked' },
      chunks,
    })
    expect(res.status).toBe(413)
    expect(expectOpenAIError(res.json()).code).toBe('body_too_large')
    expect(mock.requests).toHaveLength(0)
  })

  it('413 for a chunked upload over the limit that streams straight through (no plugin reads it)', async () => {
    const chunks = Array.from({ length: 8 }, () => 'z'.repeat(512))
    const res = await raw(gw.url, 'POST', '/small/v1/echo/upload', {
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      chunks,
    })
    expect(res.status).toBe(413)
    expect(expectOpenAIError(res.json()).code).toBe('body_too_large')
    // The upload is cut at the limit: the upstream never gets the whole body.
    expect(mock.requests.some((r) => r.completed && r.body.length === 4096)).toBe(false)
  })

  it('404 route_not_found when no route matches', async () => {
    const only = await startTestGateway({ routes: { gemini: { path: '/gemini', target: mock.url } } })
    try {
      const res = await fetch(`${only.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })
      expect(res.status).toBe(404)
      const error = expectOpenAIError(await res.json())
      expect(error.code).toBe('route_not_found')
      expect(error.message).toContain('/v1/models')
      expect(mock.requests).toHaveLength(0)
    } finally {
      await only.stop()
    }
  })

  it('400 invalid_json when a plugin reads a body that is not JSON', async () => {
    const res = await post('/parsing/v1/chat/completions', '{"model": "gpt-4o", ')
    expect(res.status).toBe(400)
    const error = expectOpenAIError(await res.json())
    expect(error.code).toBe('invalid_json')
    expect(error.type).toBe('invalid_request_error')
    expect(mock.requests).toHaveLength(0)
  })

  it('forwards a non-JSON body untouched when no plugin reads it', async () => {
    const res = await post('/v1/echo/bad', '{"model": "gpt-4o", ')
    expect(res.status).toBe(200)
    expect((await res.json() as any).bodyLength).toBe('{"model": "gpt-4o", '.length)
  })
})

describe('upstream errors', () => {
  it('pass through unchanged: status, body and headers', async () => {
    const direct = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-status': '429', 'x-mock-retry-after': '7' },
      body: JSON.stringify(chat('hi')),
    })
    const expected = await direct.json()
    const res = await post('/v1/chat/completions', chat('hi'), { 'x-mock-status': '429', 'x-mock-retry-after': '7' })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(await res.json()).toEqual(expected)

    const failure = await sdk(gw.url).chat.completions.create(chat('hi'), { headers: { 'x-mock-status': '429' } }).catch((e) => e)
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError)
    expect(failure.error).toEqual((expected as any).error)
  })

  it('the process survives all of the above and still forwards normally', async () => {
    // A connection reset by the upstream, on top of the failures above.
    const reset = await post('/v1/chat/completions', chat('hi'), { 'x-mock-reset': '1' })
    expect(reset.status).toBe(502)
    expect(expectOpenAIError(await reset.json()).code).toBe('upstream_unreachable')
    const completion = await sdk(gw.url).chat.completions.create(chat('still alive'))
    expect(completion.choices[0].message.content).toBe(expectedReply('still alive'))
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200)
  })
})
