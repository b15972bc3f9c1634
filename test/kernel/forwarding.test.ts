// Forwarding through the kernel with no plugins: JSON, SSE, uploads, binary bodies, aborts,
// headers both ways, query strings, routing by longest prefix, gzip, and large streams.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, get as httpGet, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { toFile } from 'openai'
import { expectedReply, speechBytes, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { KEY, chat, lastRecord, raw, sdk, sleep, sseData, until } from './util.ts'

let mock: MockUpstream
let other: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  other = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      openai: { path: '/', target: mock.url },
      gemini: { path: '/gemini', target: `${other.url}/v1`, type: 'general' },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
  await other?.close()
})
beforeEach(() => {
  mock.reset()
  other.reset()
})

describe('JSON and streams', () => {
  it('forwards a JSON chat completion through the SDK', async () => {
    const client = sdk(gw.url)
    const completion = await client.chat.completions.create(chat('hi there'))
    expect(completion.object).toBe('chat.completion')
    expect(completion.choices[0].message.content).toBe(expectedReply('hi there'))
    const rec = lastRecord(mock)
    expect(rec.path).toBe('/v1/chat/completions')
    expect(rec.apiKey).toBe(KEY)
    expect(JSON.parse(rec.body.toString())).toEqual(chat('hi there'))
  })

  it('streams: the first chunk reaches the client before the upstream has finished', async () => {
    const client = sdk(gw.url)
    const stream = await client.chat.completions.create(chat('stream me', { stream: true }), {
      headers: { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '50' },
    })
    let firstAt = 0
    let upstreamDoneAtFirstChunk: boolean | undefined
    let content = ''
    for await (const chunk of stream) {
      if (!firstAt) {
        firstAt = Date.now()
        upstreamDoneAtFirstChunk = lastRecord(mock).completed
      }
      content += chunk.choices[0]?.delta?.content ?? ''
    }
    const lastAt = Date.now()
    expect(upstreamDoneAtFirstChunk).toBe(false)
    // 20 chunks 50 ms apart: a buffered stream would deliver everything at the end.
    expect(lastAt - firstAt).toBeGreaterThan(500)
    expect(content).toBe(expectedReply('stream me', { chunks: 20 }))
    expect(lastRecord(mock).completed).toBe(true)
  })

  it('does not buffer a large SSE stream: big events arrive while the upstream stalls', async () => {
    // A long user text gives three huge deltas (~130 KB each); the mock stalls after its first three
    // writes (role + two deltas), so a gateway that buffered would deliver nothing until the end.
    const words = Array.from({ length: 60_000 }, (_, i) => `w${i}`).join(' ')
    const controller = new AbortController()
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-chunks': '3', 'x-mock-stall-ms': '1500' },
      body: JSON.stringify(chat(words, { stream: true })),
      signal: controller.signal,
    })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = res.body!.getReader()
    let received = 0
    let text = ''
    const decoder = new TextDecoder()
    let sawBigPartWhileStalled = false
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      received += value.length
      text += decoder.decode(value, { stream: true })
      if (received > 200_000 && !lastRecord(mock).completed) sawBigPartWhileStalled = true
    }
    expect(sawBigPartWhileStalled).toBe(true)
    const content = sseData(text).filter((d) => d !== '[DONE]').map((d) => d.choices[0]?.delta?.content ?? '').join('')
    expect(content).toBe(expectedReply(words, { chunks: 3 }))
  })

  it('holds the upstream back while a client reads slowly, instead of buffering the body in memory', async () => {
    // 96 MB, sent only as fast as it is taken. Socket buffers on two loopback hops hold some MB;
    // a gateway that read on regardless of its client would take the whole body in a moment.
    const size = 96 * 1024 * 1024
    const piece = randomBytes(64 * 1024)
    let sent = 0
    const upstream = createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) })
      while (sent < size && !res.destroyed) {
        sent += piece.length
        if (!res.write(piece)) await once(res, 'drain')
      }
      res.end()
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const slow = await startTestGateway({ routes: { files: { path: '/', target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, type: 'general' } } })
    try {
      const response = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`${slow.url}/download`, resolve).on('error', reject))
      response.pause()
      await sleep(600)
      const sentWhilePaused = sent
      expect(sentWhilePaused).toBeLessThan(size / 2)
      const hash = createHash('sha256')
      let received = 0
      for await (const chunk of response) {
        hash.update(chunk as Buffer)
        received += (chunk as Buffer).length
      }
      expect(received).toBe(size)
      const expected = createHash('sha256')
      for (let i = 0; i < size / piece.length; i++) expected.update(piece)
      expect(hash.digest('hex')).toBe(expected.digest('hex'))
    } finally {
      await slow.stop()
      upstream.close()
    }
  })
})

describe('uploads and binary bodies', () => {
  it('passes a multipart upload through byte for byte', async () => {
    const bytes = randomBytes(48 * 1024)
    const client = sdk(gw.url)
    const result = await client.audio.transcriptions.create({ file: await toFile(bytes, 'clip.wav'), model: 'whisper-1' })
    const sha = createHash('sha256').update(bytes).digest('hex')
    expect(result.text).toBe(`Mock transcription of clip.wav: ${bytes.length} bytes, sha256 ${sha}.`)
    // The multipart body itself reached the upstream unchanged (same bytes as the client sent).
    const rec = lastRecord(mock)
    expect(rec.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(rec.body.includes(bytes)).toBe(true)
  })

  it('passes a binary response through unchanged', async () => {
    const client = sdk(gw.url)
    const input = 'Read this aloud, please.'
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input })
    const body = Buffer.from(await response.arrayBuffer())
    expect(body.equals(speechBytes(input))).toBe(true)
  })

  it('passes a chunked binary response through unchanged', async () => {
    const client = sdk(gw.url)
    const input = 'chunked audio'
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input }, { headers: { 'x-mock-chunks': '7', 'x-mock-chunk-delay-ms': '5' } })
    expect(Buffer.from(await response.arrayBuffer()).equals(speechBytes(input))).toBe(true)
  })

  it('passes a gzip body through; the SDK decodes it', async () => {
    const client = sdk(gw.url)
    const completion = await client.chat.completions.create(chat('zipped'), { headers: { 'x-mock-gzip': '1' } })
    expect(completion.choices[0].message.content).toBe(expectedReply('zipped'))
    // On the wire the gateway did not decode it: the client gets the upstream's gzip bytes.
    const res = await raw(gw.url, 'POST', '/v1/chat/completions', {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-gzip': '1', 'accept-encoding': 'gzip' },
      body: JSON.stringify(chat('zipped')),
    })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(gunzipSync(res.body).toString()).choices[0].message.content).toBe(expectedReply('zipped'))
  })
})

describe('aborts reach the upstream', () => {
  it('aborting an SDK stream mid-way aborts the upstream request', async () => {
    const client = sdk(gw.url)
    const controller = new AbortController()
    const stream = await client.chat.completions.create(chat('abort me', { stream: true }), {
      headers: { 'x-mock-chunks': '40', 'x-mock-chunk-delay-ms': '50' },
      signal: controller.signal,
    })
    let seen = 0
    // The SDK ends the iteration (or throws an abort error) once aborted; either way no more chunks come.
    await (async () => {
      for await (const _ of stream) {
        if (++seen === 3) controller.abort()
      }
    })().catch((error: Error) => expect(error.name).toMatch(/Abort/))
    expect(seen).toBe(3)
    expect(await until(() => lastRecord(mock).aborted, 1500)).toBe(true)
    expect(lastRecord(mock).completed).toBe(false)
  })

  it('aborting a request waiting for the upstream headers aborts the upstream request', async () => {
    const client = sdk(gw.url)
    const controller = new AbortController()
    const pending = client.chat.completions.create(chat('slow'), { headers: { 'x-mock-delay-ms': '5000' }, signal: controller.signal })
    expect(await until(() => mock.requests.length === 1, 2000)).toBe(true)
    controller.abort()
    await expect(pending).rejects.toThrow(/abort/i)
    expect(await until(() => lastRecord(mock).aborted, 1500)).toBe(true)
    expect(lastRecord(mock).status).toBeNull()
  })

  it('a client that leaves halfway through sending its body frees the request; nothing reaches the upstream', async () => {
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":')
    expect(await until(() => gw.gateway.inFlight === 1, 2000)).toBe(true)
    socket.destroy()
    // A body read whole (small bodies are sent upstream in one write) must not wait forever for the rest.
    expect(await until(() => gw.gateway.inFlight === 0, 2000)).toBe(true)
    expect(mock.requests).toHaveLength(0)
  })
})

describe('headers, query and paths', () => {
  it('forwards custom request headers but not hop-by-hop ones, and sets host to the upstream', async () => {
    const res = await raw(gw.url, 'GET', '/v1/echo/headers', {
      headers: {
        'x-custom': 'abc',
        'openai-organization': 'org-1',
        authorization: 'Bearer sk-xyz',
        connection: 'keep-alive, x-conn-only',
        'x-conn-only': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic cHJveHk6cHc=',
        te: 'trailers',
        host: 'gateway.example',
      },
    })
    expect(res.status).toBe(200)
    const seen = res.json().headers
    expect(seen['x-custom']).toBe('abc')
    expect(seen['openai-organization']).toBe('org-1')
    expect(seen.authorization).toBe('Bearer sk-xyz')
    expect(seen['proxy-authorization']).toBeUndefined()
    expect(seen['keep-alive']).toBeUndefined()
    expect(seen['x-conn-only']).toBeUndefined()
    expect(seen.te).toBeUndefined()
    expect(seen.host).toBe(new URL(mock.url).host)
  })

  it('returns the upstream response headers (request id, rate limits) to the client', async () => {
    const client = sdk(gw.url)
    const { response } = await client.chat.completions.create(chat('headers')).withResponse()
    const direct = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('headers')),
    })
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
    for (const name of ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-tokens', 'openai-version', 'openai-organization']) {
      expect(response.headers.get(name), name).toBe(direct.headers.get(name))
    }
    // The ids differ per request: the header is the upstream's, the last request it answered.
    expect(response.headers.get('x-request-id')).not.toBe(direct.headers.get('x-request-id'))
  })

  it('passes the query string through unchanged', async () => {
    const res = await fetch(`${gw.url}/v1/echo/q?a=1&a=2&b=x%20y&empty=`)
    const echo = (await res.json()) as any
    expect(echo.query).toEqual({ a: ['1', '2'], b: 'x y', empty: '' })
    expect(lastRecord(mock).path).toBe('/v1/echo/q?a=1&a=2&b=x%20y&empty=')
  })

  it('routes by longest prefix on whole segments and strips the prefix', async () => {
    const g = await fetch(`${gw.url}/gemini/echo/x?key=1`)
    expect(g.status).toBe(200)
    expect(other.requests.map((r) => r.path)).toEqual(['/v1/echo/x?key=1'])
    expect(mock.requests).toHaveLength(0)

    // /geminix is not under /gemini: it belongs to the "/" route, unchanged.
    const x = await fetch(`${gw.url}/geminix/echo/y`)
    await x.arrayBuffer()
    expect(mock.requests.map((r) => r.path)).toEqual(['/geminix/echo/y'])
    expect(other.requests).toHaveLength(1)

    // The prefix alone maps to the target's base.
    await (await fetch(`${gw.url}/gemini`)).arrayBuffer()
    expect(other.requests.at(-1)!.path).toBe('/v1')
  })
})
