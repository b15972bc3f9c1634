// The rateLimit plugin on memory storage: a real gateway over HTTP in front of the mock upstream.
import { randomUUID } from 'node:crypto'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/index.ts'
import { rateLimit } from '../../plugins/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { openaiDuration } from '../../plugins/rateLimit/answer.ts'
import { burst, callerFromHeader, chat, count, edgeBurst, statuses } from './rateLimit-helpers.ts'

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  const route = (path: string, plugin: ReturnType<typeof rateLimit>) => ({ path, target: mock.url, plugins: [plugin] })
  gw = await startTestGateway({
    plugins: [callerFromHeader],
    routes: {
      openai: route('/', rateLimit({ limit: '50/minute' })),
      moving: route('/moving', rateLimit({ limit: '5/2seconds' })),
      fixed: route('/fixed', rateLimit({ limit: '5/2seconds', strategy: 'fixed-window' })),
      models: route('/models', rateLimit({ limit: '5/minute', models: { 'gpt-4o': '2/minute' } })),
      levels: route('/levels', rateLimit({ limit: '2/minute', levels: { pro: '4/minute' } })),
      multi: route('/multi', rateLimit({ limit: '3/minute;5/hour' })),
      ip: route('/ip', rateLimit({ limit: '3/minute', scope: 'ip' })),
      global: route('/global', rateLimit({ limit: '1000/minute', limits: [{ limit: '4/minute', scope: 'route' }] })),
    },
  })
})

afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})

const caller = () => `caller-${randomUUID()}`

describe('rateLimit (memory storage)', () => {
  it('lets exactly 50 of 200 concurrent requests through a 50/minute limit, and none of the refused reach the upstream', async () => {
    const who = caller()
    const before = mock.requests.length
    const answers = await burst(200, () => chat(gw.url, who))
    expect(count(answers, 200)).toBe(50)
    expect(count(answers, 429)).toBe(150)
    expect(mock.requests.slice(before).filter((r) => r.headers['x-caller'] === who)).toHaveLength(50)
  })

  it('sends OpenAI rate-limit headers on every response, and a 429 in OpenAI shape with Retry-After', async () => {
    const who = caller()
    const ok = await chat(gw.url, who)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('50')
    expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe('49')
    // Ours replace the upstream's own (the mock sends its own x-ratelimit-* headers).
    expect(ok.headers.get('x-ratelimit-reset-requests')).toMatch(/^(59(\.\d+)?s|1m0s)$/)

    await burst(49, () => chat(gw.url, who))
    const refused = await chat(gw.url, who)
    expect(refused.status).toBe(429)
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null })
    expect(refused.body.error.message).toContain('50 per 1 minute')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(58)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('50')
  })

  it('the official SDK sees the 429 as a RateLimitError', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/multi/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: { 'x-caller': caller() } })
    const ask = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    for (let i = 0; i < 3; i++) await ask()
    const error = await ask().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded')
  })

  it('moving window: no burst of twice the limit across a window edge', async () => {
    const who = caller()
    const { first, before, after } = await edgeBurst(() => chat(`${gw.url}/moving`, who))
    expect(first).toEqual([200])
    expect(before).toEqual([200, 200, 200, 200])
    // The 4 from 0.7 s ago are still inside the last 2 seconds: only the slot of the first is free.
    expect(after.filter((s) => s === 200)).toHaveLength(1)
  })

  it('fixed window: the counter resets 2 s after its first request, so a burst at the edge passes (documented)', async () => {
    const who = caller()
    const { first, before, after } = await edgeBurst(() => chat(`${gw.url}/fixed`, who))
    expect(first).toEqual([200])
    expect(before).toEqual([200, 200, 200, 200])
    expect(after).toEqual([200, 200, 200, 200, 200])
  })

  it('a request refused by the per-model limit does not count against the per-key limit', async () => {
    const who = caller()
    const models = `${gw.url}/models`
    expect(statuses([await chat(models, who, { model: 'gpt-4o' }), await chat(models, who, { model: 'gpt-4o' })])).toEqual([200, 200])
    const refused = await chat(models, who, { model: 'gpt-4o' })
    expect(refused.status).toBe(429)
    expect(refused.body.error.message).toContain('2 per 1 minute')
    // 2 counted so far against 5/minute: exactly 3 more pass, the refused one took no slot.
    const rest = await burst(4, () => chat(models, who, { model: 'gpt-4o-mini' }))
    expect(count(rest, 200)).toBe(3)
  })

  it('a level replaces the default limit', async () => {
    const who = caller()
    const pro = await burst(6, () => chat(`${gw.url}/levels`, who, { headers: { 'x-level': 'pro' } }))
    expect(count(pro, 200)).toBe(4)
    const plain = caller()
    expect(count(await burst(3, () => chat(`${gw.url}/levels`, plain)), 200)).toBe(2)
  })

  it('every part of "3/minute;5/hour" holds, and headers show the tightest', async () => {
    const who = caller()
    const answers = await burst(4, () => chat(`${gw.url}/multi`, who))
    expect(count(answers, 200)).toBe(3)
    const last = await chat(`${gw.url}/multi`, who)
    expect(last.status).toBe(429)
    expect(last.body.error.message).toContain('3 per 1 minute')
  })

  it('scope ip: callers from one IP share the counter; scope route: everyone on the route does', async () => {
    const ip = await burst(5, () => chat(`${gw.url}/ip`, caller()))
    expect(count(ip, 200)).toBe(3)
    const route = await burst(6, () => chat(`${gw.url}/global`, caller()))
    expect(count(route, 200)).toBe(4)
  })

  it('rejects malformed limits when the config loads, naming the field and the string', () => {
    expect(() => rateLimit({ limit: '60/fortnight' as never })).toThrow(ConfigError)
    expect(() => rateLimit({ limit: '60/fortnight' as never })).toThrow(/plugins\.rateLimit\.limit: "60\/fortnight" is not a rate/)
    expect(() => rateLimit({ limit: '60/minute', models: { 'gpt-4o': 'ten' as never } })).toThrow(/plugins\.rateLimit\.models\.gpt-4o/)
    expect(() => rateLimit({ limit: '60/minute', scope: 'user' as never })).toThrow(/plugins\.rateLimit\.scope/)
    expect(() => rateLimit({ limits: [{ limit: '1/second', strategy: 'sliding' as never }] })).toThrow(/plugins\.rateLimit\.limits\[0\]\.strategy/)
    expect(() => rateLimit({})).toThrow(/sets no limit/)
  })
})

describe('x-ratelimit-reset-* durations', () => {
  it('are written as OpenAI writes them (Go style), without float noise', () => {
    const cases: Array<[number, string]> = [
      [0, '0ms'], [17.2, '18ms'], [999, '999ms'], [1000, '1s'], [1500, '1.5s'], [1050, '1.05s'], [1005, '1.005s'],
      [59_999, '59.999s'], [60_000, '1m0s'], [360_000, '6m0s'], [3_723_050, '1h2m3.05s'], [86_400_000, '24h0m0s'],
    ]
    expect(cases.map(([ms]) => openaiDuration(ms))).toEqual(cases.map(([, text]) => text))
  })
})
