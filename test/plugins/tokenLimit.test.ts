// The tokenLimit plugin: budgets reserved before forwarding and settled to real usage, streams with
// and without the upstream's usage, and output pacing. A real gateway, the mock upstream, the SDK.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, countChatTokens, countTokens } from '../../src/index.ts'
import { rateLimit, tokenLimit } from '../../plugins/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { callerFromHeader, chat, count, sleep } from './rateLimit-helpers.ts'

const LIMIT = 3000
const MODEL = 'gpt-4o-mini'
const messages = [{ role: 'user' as const, content: 'How many tokens is this?' }]
/** The prompt as the plugin counts it. */
const PROMPT = countChatTokens(messages, MODEL)

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    plugins: [callerFromHeader],
    routes: {
      openai: { path: '/', target: mock.url, plugins: [tokenLimit({ limit: `${LIMIT}/minute` })] },
      plain: { path: '/plain', target: mock.url, plugins: [tokenLimit({ limit: `${LIMIT}/minute`, streamUsage: false })] },
      both: { path: '/both', target: mock.url, plugins: [rateLimit({ limit: '3/minute' }), tokenLimit({ limit: '500/minute' })] },
      paced: { path: '/paced', target: mock.url, plugins: [tokenLimit({ pace: '100/second' })] },
    },
  })
})

afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})

/** An SDK client for one fresh caller (its own budget). */
function clientFor(path = '', caller = `caller-${randomUUID()}`): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}${path}/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: { 'x-caller': caller } })
}

/** Tokens left in the caller's budget, as the next request's headers say (that request reserving `reserve`). */
async function remainingAfter(client: OpenAI, reserve: number): Promise<number> {
  const { response } = await client.chat.completions.create({ model: MODEL, messages, max_tokens: reserve - PROMPT }).withResponse()
  return Number(response.headers.get('x-ratelimit-remaining-tokens')) + reserve
}

/** onResponse settles after the response ended; give it a moment. */
const settled = () => sleep(100)

describe('tokenLimit budgets', () => {
  it('reserves prompt + max_tokens before forwarding, then settles to the upstream usage', async () => {
    const client = clientFor()
    const { data, response } = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 50 }).withResponse()
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe(String(LIMIT))
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBe(LIMIT - (PROMPT + 50))
    expect(response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+(\.\d+)?s|1m0s)$/)
    await settled()
    expect(await remainingAfter(client, PROMPT + 50)).toBe(LIMIT - data.usage!.total_tokens)
  })

  it('reserves defaultMaxTokens (1000) when the request sets no cap', async () => {
    const { response } = await clientFor().chat.completions.create({ model: MODEL, messages }).withResponse()
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBe(LIMIT - PROMPT - 1000)
  })

  it('refunds all but the prompt when the upstream fails', async () => {
    const client = clientFor()
    const failed = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 500 }, { headers: { 'x-mock-status': '500' } }).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError)
    await settled()
    expect(await remainingAfter(client, PROMPT + 10)).toBe(LIMIT - PROMPT)
  })

  it('refuses with 429, tokens headers and Retry-After while reservations fill the budget', async () => {
    const client = clientFor()
    // Two slow requests reserving 2000 each: only one fits in 3000 at a time.
    const slow = () => client.chat.completions.create({ model: MODEL, messages, max_tokens: 2000 - PROMPT }, { headers: { 'x-mock-delay-ms': '300' } }).withResponse()
    const answers = await Promise.allSettled([slow(), slow()])
    const refused = answers.find((a) => a.status === 'rejected')
    expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(1)
    const error = (refused as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.RateLimitError>
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.code).toBe('rate_limit_exceeded')
    expect(error.message).toContain('3000 per 1 minute')
    expect(error.headers.get('x-ratelimit-limit-tokens')).toBe(String(LIMIT))
    expect(Number(error.headers.get('x-ratelimit-remaining-tokens'))).toBe(1000)
    expect(Number(error.headers.get('retry-after'))).toBeGreaterThanOrEqual(59)
  })

  it('refuses a request that could never fit, without Retry-After and without counting it', async () => {
    const client = clientFor()
    const error = await client.chat.completions.create({ model: MODEL, messages, max_tokens: LIMIT }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as Error).message).toContain('Request too large')
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBeNull()
    expect(await remainingAfter(client, PROMPT + 10)).toBe(LIMIT)
  })

  it('a request refused on tokens does not count against the rate limit before it', async () => {
    const caller = `caller-${randomUUID()}`
    for (let i = 0; i < 4; i++) expect((await chat(`${gw.url}/both`, caller, { body: { max_tokens: 600 } })).status).toBe(429)
    const answers = await Promise.all([1, 2, 3, 4].map(() => chat(`${gw.url}/both`, caller, { body: { max_tokens: 20 } })))
    expect(count(answers, 200)).toBe(3)
    expect(answers.find((a) => a.status === 429)!.body.error.message).toContain('requests')
  })
})

describe('tokenLimit streams', () => {
  /** The usage the mock reports for this request, learnt from its JSON form (same text, same counts). */
  async function upstreamUsage(): Promise<number> {
    const data = await clientFor().chat.completions.create({ model: MODEL, messages, max_tokens: 100 })
    return data.usage!.total_tokens
  }

  it('asks the upstream for usage, hides that event from a client that did not ask, and settles to it', async () => {
    const expected = await upstreamUsage()
    const caller = `caller-${randomUUID()}`
    const client = clientFor('', caller)
    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 100, stream: true })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.length).toBeGreaterThan(3)
    expect(chunks.every((c) => c.choices.length > 0 && !c.usage)).toBe(true)
    const sent = mock.requests.filter((r) => r.headers['x-caller'] === caller).at(-1)!
    expect(JSON.parse(sent.body.toString()).stream_options).toEqual({ include_usage: true })
    await settled()
    expect(await remainingAfter(client, PROMPT + 10)).toBe(LIMIT - expected)
  })

  it('passes the usage event to a client that asked for it', async () => {
    const expected = await upstreamUsage()
    const client = clientFor()
    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 100, stream: true, stream_options: { include_usage: true } })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage?.total_tokens).toBe(expected)
    await settled()
    expect(await remainingAfter(client, PROMPT + 10)).toBe(LIMIT - expected)
  })

  it('hides the usage event however the upstream spaces it, and no other event with empty choices', async () => {
    // An OpenAI-compatible server of its own, writing JSON with spaces, and an Azure-style first
    // chunk: empty choices, no usage (content filter results).
    const events = [
      { choices: [], prompt_filter_results: [{ prompt_index: 0 }] },
      { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }], usage: null },
      { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null },
      { choices: [], usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 } },
    ]
    const body = `${events.map((e) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: MODEL, ...e }, null, 1).replaceAll('\n', ' ')}\n\n`).join('')}data: [DONE]\n\n`
    const spaced = createServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(body)
    })
    await new Promise<void>((resolve) => spaced.listen(0, '127.0.0.1', resolve))
    const own = await startTestGateway({ routes: { openai: { path: '/', target: `http://127.0.0.1:${(spaced.address() as AddressInfo).port}`, plugins: [tokenLimit({ limit: `${LIMIT}/minute` })] } } })
    try {
      const client = new OpenAI({ baseURL: `${own.url}/v1`, apiKey: 'sk-test', maxRetries: 0 })
      const chunks = []
      for await (const chunk of await client.chat.completions.create({ model: MODEL, messages, max_tokens: 100, stream: true })) chunks.push(chunk)
      expect(chunks.map((c) => [c.choices.length, c.usage ?? null])).toEqual([[0, null], [1, null], [1, null]])
      await settled()
      expect(await remainingAfter(client, PROMPT + 10)).toBe(LIMIT - 12)
    } finally {
      await own.stop()
      spaced.close()
    }
  })

  it('without upstream usage (streamUsage: false), settles to tokens counted from the streamed text', async () => {
    const caller = `caller-${randomUUID()}`
    const client = clientFor('/plain', caller)
    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 100, stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    const sent = mock.requests.filter((r) => r.headers['x-caller'] === caller).at(-1)!
    expect(JSON.parse(sent.body.toString()).stream_options).toBeUndefined()
    await settled()
    expect(await remainingAfter(client, PROMPT + 10)).toBe(LIMIT - PROMPT - countTokens(text, MODEL))
  })

  it('a client that goes away mid-stream is charged the prompt and what it received, not the reservation', async () => {
    const client = clientFor()
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model: MODEL, messages, max_tokens: 1000, stream: true },
      { headers: { 'x-mock-chunk-delay-ms': '50' }, signal: controller.signal },
    )
    let seen = 0
    await (async () => {
      for await (const _ of stream) if (++seen === 3) controller.abort()
    })().catch(() => {})
    await sleep(300)
    const used = LIMIT - (await remainingAfter(client, PROMPT + 10))
    expect(used).toBeGreaterThan(PROMPT)
    expect(used).toBeLessThan(PROMPT + 20)
  })
})

describe('tokenLimit pacing', () => {
  it('streams ~200 tokens at 100 tokens/s in about 2 s, the first token without delay', async () => {
    const client = clientFor('/paced')
    const started = performance.now()
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'pace me' }], stream: true }, { headers: { 'x-mock-chunks': '160' } })
    let firstTokenMs: number | undefined
    let tokens = 0
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta?.content
      if (!content) continue
      firstTokenMs ??= performance.now() - started
      tokens += countTokens(content, MODEL)
    }
    const totalMs = performance.now() - started
    expect(tokens).toBeGreaterThan(180)
    expect(tokens).toBeLessThan(220)
    expect(firstTokenMs).toBeLessThan(500)
    expect(totalMs).toBeGreaterThan(1500)
    expect(totalMs).toBeLessThan(3500)
  })

  it('does not pace JSON answers', async () => {
    const started = performance.now()
    await clientFor('/paced').chat.completions.create({ model: MODEL, messages }, { headers: { 'x-mock-chunks': '160' } })
    expect(performance.now() - started).toBeLessThan(1000)
  })
})

describe('tokenLimit options', () => {
  it('rejects bad options when the config loads, naming the field', () => {
    expect(() => tokenLimit({ limit: '100k/fortnight' as never })).toThrow(ConfigError)
    expect(() => tokenLimit({ limit: '100k/fortnight' as never })).toThrow(/plugins\.tokenLimit\.limit/)
    expect(() => tokenLimit({ pace: '60/second;1000/minute' as never })).toThrow(/plugins\.tokenLimit\.pace\.rate: must be a single rate/)
    expect(() => tokenLimit({ limit: '1k/minute', defaultMaxTokens: -1 })).toThrow(/plugins\.tokenLimit\.defaultMaxTokens/)
    expect(() => tokenLimit({})).toThrow(/sets neither a budget/)
  })
})
