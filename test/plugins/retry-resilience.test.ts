// The retry plugin against a real gateway and the mock upstream, with the official SDK as client
// (maxRetries: 0, so every retry seen here is the gateway's).
import { createHash, randomUUID } from 'node:crypto'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ForwardPlugin, ForwardResult } from '../../src/index.ts'
import { retry } from '../../plugins/index.ts'
import { expectedReply, startMockUpstream, transcriptText, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { freePort } from '../helpers/redis.ts'

let mock: MockUpstream
let gw: TestGateway
let client: OpenAI
/** What `onResponse` hooks saw, by test id (a chatLog-style consumer). */
const results = new Map<string, ForwardResult>()
/** Every attempt's status, as an `afterUpstream` hook after the retry plugin saw them. */
const attemptStatuses = new Map<string, number[]>()

const recorder: ForwardPlugin = {
  name: 'recorder',
  afterUpstream(ctx, response) {
    const id = ctx.headers['x-test-id']
    if (typeof id === 'string') attemptStatuses.set(id, [...(attemptStatuses.get(id) ?? []), response.status])
  },
  onResponse(ctx, result) {
    const id = ctx.headers['x-test-id']
    if (typeof id === 'string') results.set(id, result)
  },
}

const fast = () => retry({ backoff: { base: '10ms', max: '50ms' } })

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  const closed = await freePort()
  gw = await startTestGateway({
    plugins: [recorder],
    routes: {
      openai: { path: '/', target: mock.url, timeout: { headers: 300, idle: 300 }, plugins: [fast()] },
      dead: { path: '/dead', target: `http://127.0.0.1:${closed}`, plugins: [fast()] },
      deadline: { path: '/deadline', target: mock.url, timeout: { total: 700 }, plugins: [fast()] },
      fixed: { path: '/fixed', target: mock.url, plugins: [retry({ backoff: { base: '10ms', max: '50ms' }, maxRetryAfter: '2s' })] },
    },
  })
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test', maxRetries: 0 })
})

afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})

/** Headers for one test: a unique id the mock records, also used as the fail-times key. */
function knobs(extra: Record<string, string> = {}): { id: string; headers: Record<string, string> } {
  const id = randomUUID()
  return { id, headers: { 'x-test-id': id, 'x-mock-fail-key': id, ...extra } }
}

const seenBy = (id: string) => mock.requests.filter((r) => r.headers['x-test-id'] === id)

async function resultOf(id: string): Promise<ForwardResult> {
  const end = Date.now() + 3000
  while (!results.has(id) && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  const result = results.get(id)
  if (!result) throw new Error(`no onResponse result for ${id}`)
  return result
}

const chat = (text = 'hi') => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: text }] })

async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error
    throw error
  }
  throw new Error('expected the request to fail')
}

describe('retry: statuses', () => {
  it('answers after two 503s, re-sending the same JSON bytes, and later plugins see every attempt', async () => {
    const { id, headers } = knobs({ 'x-mock-fail-times': '2' })
    const { data, response } = await client.chat.completions.create(chat('twice'), { headers }).withResponse()
    expect(data.choices[0].message.content).toBe(expectedReply('twice'))
    expect(response.headers.get('x-aifd-attempts')).toBe('3')
    const seen = seenBy(id)
    expect(seen.map((r) => r.status)).toEqual([503, 503, 200])
    expect(new Set(seen.map((r) => r.bodySha256)).size).toBe(1)
    expect(attemptStatuses.get(id)).toEqual([503, 503, 200])
    const result = await resultOf(id)
    expect(result.attempts).toBe(3)
    expect(result.target).toBe(mock.url)
    expect(result.status).toBe(200)
    expect(result.outcome).toBe('complete')
  })

  it('re-sends the client\'s exact JSON bytes, whitespace included', async () => {
    const { id, headers } = knobs({ 'x-mock-fail-times': '1' })
    const raw = '{ "model" : "gpt-4o-mini",\n  "messages": [ {"role":"user","content":"spaced   out"} ] }'
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: raw,
    })
    expect(response.status).toBe(200)
    const sha = createHash('sha256').update(raw).digest('hex')
    expect(seenBy(id).map((r) => r.bodySha256)).toEqual([sha, sha])
  })

  it('waits as long as Retry-After says (1 s) before retrying a 429', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '429', 'x-mock-retry-after': '1', 'x-mock-fail-times': '1' })
    const started = Date.now()
    const completion = await client.chat.completions.create(chat(), { headers })
    const took = Date.now() - started
    expect(completion.choices[0].message.content).toBe(expectedReply('hi'))
    const [first, second] = seenBy(id)
    expect(second.startedAt - first.startedAt).toBeGreaterThanOrEqual(950)
    expect(took).toBeLessThan(4000)
  })

  it('passes a 429 on at once when its Retry-After is longer than maxRetryAfter', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '429', 'x-mock-retry-after': '5' })
    const started = Date.now()
    const capped = new OpenAI({ baseURL: `${gw.url}/fixed/v1`, apiKey: 'sk-test', maxRetries: 0 })
    const error = await failure(capped.chat.completions.create(chat(), { headers }))
    expect(error.status).toBe(429)
    expect(error.headers?.get('retry-after')).toBe('5')
    expect(Date.now() - started).toBeLessThan(2000)
    expect(seenBy(id)).toHaveLength(1)
  })

  it('returns the last upstream answer when every attempt failed', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '500' })
    const error = await failure(client.chat.completions.create(chat(), { headers }))
    expect(error.status).toBe(500)
    expect(error.message).toContain('mock upstream forced 500')
    expect(seenBy(id)).toHaveLength(3)
    expect((await resultOf(id)).attempts).toBe(3)
  })

  it('does not retry a status outside the list (400)', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '400' })
    const error = await failure(client.chat.completions.create(chat(), { headers }))
    expect(error.status).toBe(400)
    expect(seenBy(id)).toHaveLength(1)
  })

  it('does not wait past the route\'s total timeout: the 429 is passed on instead of a 504', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '429', 'x-mock-retry-after': '1' })
    const deadline = new OpenAI({ baseURL: `${gw.url}/deadline/v1`, apiKey: 'sk-test', maxRetries: 0 })
    const error = await failure(deadline.chat.completions.create(chat(), { headers }))
    expect(error.status).toBe(429)
    expect(seenBy(id)).toHaveLength(1)
  })
})

describe('retry: connection failures and timeouts', () => {
  it('retries an unreachable upstream, then answers 502 upstream_unreachable', async () => {
    const { id, headers } = knobs()
    const dead = new OpenAI({ baseURL: `${gw.url}/dead/v1`, apiKey: 'sk-test', maxRetries: 0 })
    const error = await failure(dead.chat.completions.create(chat(), { headers }))
    expect(error.status).toBe(502)
    expect(error.code).toBe('upstream_unreachable')
    expect((await resultOf(id)).attempts).toBe(3)
  })

  it('retries a connection the upstream reset', async () => {
    const { id, headers } = knobs({ 'x-mock-reset': '1', 'x-mock-fail-times': '1' })
    const completion = await client.chat.completions.create(chat('reset'), { headers })
    expect(completion.choices[0].message.content).toBe(expectedReply('reset'))
    expect(seenBy(id)).toHaveLength(2)
  })

  it('retries an upstream that stalls before its headers', async () => {
    const { id, headers } = knobs({ 'x-mock-delay-ms': '3000', 'x-mock-fail-times': '1' })
    const completion = await client.chat.completions.create(chat('slow'), { headers })
    expect(completion.choices[0].message.content).toBe(expectedReply('slow'))
    expect(seenBy(id)).toHaveLength(2)
  })

  it('answers 504 naming the headers timeout when every attempt stalls', async () => {
    const { id, headers } = knobs({ 'x-mock-delay-ms': '3000' })
    const error = await failure(client.chat.completions.create(chat(), { headers }))
    expect(error.status).toBe(504)
    expect(error.code).toBe('upstream_headers_timeout')
    expect(error.message).toMatch(/headers timeout/i)
    expect(seenBy(id)).toHaveLength(3)
  })
})

describe('retry: once the answer has started, never again', () => {
  async function readStream(headers: Record<string, string>): Promise<{ content: string; chunks: number; error: unknown }> {
    const stream = await client.chat.completions.create({ ...chat('stream'), stream: true }, { headers })
    let content = ''
    let chunks = 0
    try {
      for await (const chunk of stream) {
        chunks++
        content += chunk.choices[0]?.delta?.content ?? ''
      }
    } catch (error) {
      return { content, chunks, error }
    }
    return { content, chunks, error: undefined }
  }

  it('a stream that stalls mid-way ends with an SSE error naming the idle timeout, not a retry', async () => {
    const { id, headers } = knobs({ 'x-mock-stall-ms': '3000' })
    const { content, chunks, error } = await readStream(headers)
    expect(chunks).toBe(3)
    expect(expectedReply('stream').startsWith(content)).toBe(true)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as Error).message).toMatch(/idle timeout/i)
    expect(seenBy(id)).toHaveLength(1)
    expect((await resultOf(id)).outcome).toBe('error')
  })

  it('a stream that breaks after 3 chunks ends with an SSE error, and the upstream saw one request', async () => {
    const { id, headers } = knobs({ 'x-mock-break-after': '3' })
    const { content, chunks, error } = await readStream(headers)
    expect(chunks).toBe(3)
    expect(expectedReply('stream').startsWith(content)).toBe(true)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    await new Promise((r) => setTimeout(r, 200))
    expect(seenBy(id)).toHaveLength(1)
    expect((await resultOf(id)).attempts).toBe(1)
  })
})

describe('retry: the client goes away', () => {
  it('makes no further attempt after a client disconnects during a backoff', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '503', 'x-mock-retry-after': '1' })
    const controller = new AbortController()
    const pending = client.chat.completions.create(chat(), { headers, signal: controller.signal })
    const end = Date.now() + 2000
    while (seenBy(id).length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    controller.abort()
    await expect(pending).rejects.toThrow()
    expect((await resultOf(id)).outcome).toBe('aborted')
    await new Promise((r) => setTimeout(r, 1500))
    expect(seenBy(id)).toHaveLength(1)
  })
})

describe('retry: uploads', () => {
  const audio = Buffer.alloc(4096, 7)

  it('passes on a 503 to a multipart upload without retrying, and says why', async () => {
    const { id, headers } = knobs({ 'x-mock-status': '503' })
    const file = await toFile(audio, 'clip.wav')
    const error = await failure(client.audio.transcriptions.create({ file, model: 'whisper-1' }, { headers }))
    expect(error.status).toBe(503)
    expect(error.headers?.get('x-aifd-not-retried')).toMatch(/upload/)
    expect(seenBy(id)).toHaveLength(1)
  })

  it('does not re-send an upload whose connection was reset after the upstream read it, and says so', async () => {
    const { id, headers } = knobs({ 'x-mock-reset': '1' })
    const file = await toFile(audio, 'clip.wav')
    const error = await failure(client.audio.transcriptions.create({ file, model: 'whisper-1' }, { headers }))
    expect(error.status).toBe(502)
    expect(error.code).toBe('upload_not_retryable')
    expect(error.message).toMatch(/Upstream unreachable .*upload cannot be sent twice/)
    expect(seenBy(id)).toHaveLength(1)
  })

  it('still uploads normally through the plugin', async () => {
    const { headers } = knobs()
    const file = await toFile(audio, 'clip.wav')
    const transcription = await client.audio.transcriptions.create({ file, model: 'whisper-1' }, { headers })
    expect(transcription.text).toBe(transcriptText('clip.wav', audio))
  })
})
