// GET /metrics after a known set of requests through a real gateway, the mock upstream and the
// official SDK: exact counters per route, status, model, key, cache result, refusal and upstream error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { cache } from '../../plugins/index.ts'
import { freePort } from '../helpers/redis.ts'
import { namer, parseMetrics, refuser, retryOnce, series, startDashboard, until, type Dashboard } from './helpers.ts'

let mock: MockUpstream
let dash: Dashboard
let deadTarget: string
let metrics: Map<string, number>
/** Usage the upstream reported, summed per model and caller, to compare with the token counters. */
const reported = new Map<string, { prompt: number; completion: number }>()

function report(model: string, key: string, usage: { prompt_tokens: number; completion_tokens: number } | null | undefined) {
  const entry = reported.get(`${model}/${key}`) ?? { prompt: 0, completion: 0 }
  entry.prompt += usage!.prompt_tokens
  entry.completion += usage!.completion_tokens
  reported.set(`${model}/${key}`, entry)
}

const client = (path = '', caller?: string, headers: Record<string, string> = {}) =>
  new OpenAI({ baseURL: `${dash.gateway.url}${path}/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: { ...(caller && { 'x-test-caller': caller }), ...headers } })

const chat = (content: string, model = 'gpt-4o-mini') => ({ model, messages: [{ role: 'user' as const, content }] })

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  deadTarget = `http://127.0.0.1:${await freePort()}`
  dash = await startDashboard(
    {
      openai: { path: '/', target: mock.url, type: 'openai', plugins: [retryOnce] },
      cached: { path: '/cached', target: mock.url, type: 'openai', plugins: [cache()] },
      dead: { path: '/dead', target: deadTarget, type: 'openai' },
    },
    { plugins: [namer, refuser] },
  )

  // 3 JSON answers for alice, 1 stream (with usage) for bob.
  for (const text of ['one', 'two', 'three']) report('gpt-4o-mini', 'alice', (await client('', 'alice').chat.completions.create(chat(text))).usage)
  const stream = await client('', 'bob').chat.completions.create({ ...chat('stream me', 'gpt-4o'), stream: true, stream_options: { include_usage: true } })
  for await (const chunk of stream) if (chunk.usage) report('gpt-4o', 'bob', chunk.usage)
  // 2 refused by the limiter.
  for (let i = 0; i < 2; i++) await expect(client('', 'alice', { 'x-test-refuse': '1' }).chat.completions.create(chat('no'))).rejects.toMatchObject({ status: 429 })
  // A cache miss, then a hit.
  for (let i = 0; i < 2; i++) await client('/cached').chat.completions.create({ ...chat('cache me'), caching: true } as any)
  // An unreachable upstream, and one that fails once before the retry succeeds.
  await expect(client('/dead').chat.completions.create(chat('anyone?'))).rejects.toMatchObject({ status: 502 })
  report('gpt-4o-mini', 'carol', (await client('', 'carol', { 'x-mock-fail-times': '1', 'x-mock-fail-key': 'metrics-retry' }).chat.completions.create(chat('again'))).usage)
  // An upstream server error that is not retried away.
  await expect(client('', undefined, { 'x-mock-status': '500', 'x-mock-fail-times': '2', 'x-mock-fail-key': 'metrics-500' }).chat.completions.create(chat('boom'))).rejects.toMatchObject({ status: 500 })

  await until(() => dash.hub.inFlight === 0)
  const response = await dash.get('/metrics')
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toContain('text/plain')
  metrics = parseMetrics(await response.text())
})

afterAll(async () => {
  await dash?.stop()
  await mock?.close()
})

const value = (name: string, labels: Record<string, string> = {}) => metrics.get(series(name, labels))

describe('/metrics after known traffic', () => {
  it('counts requests by route, status and model', () => {
    expect(value('aifd_requests_total', { route: 'openai', status: '200', model: 'gpt-4o-mini' })).toBe(4)
    expect(value('aifd_requests_total', { route: 'openai', status: '200', model: 'gpt-4o' })).toBe(1)
    expect(value('aifd_requests_total', { route: 'openai', status: '429', model: 'gpt-4o-mini' })).toBe(2)
    expect(value('aifd_requests_total', { route: 'openai', status: '500', model: 'gpt-4o-mini' })).toBe(1)
    expect(value('aifd_requests_total', { route: 'cached', status: '200', model: 'gpt-4o-mini' })).toBe(2)
    expect(value('aifd_requests_total', { route: 'dead', status: '502', model: 'gpt-4o-mini' })).toBe(1)
    const total = [...metrics].filter(([k]) => k.startsWith('aifd_requests_total{')).reduce((n, [, v]) => n + v, 0)
    expect(total).toBe(11)
  })

  it('counts tokens in and out per route, model and forward key name, as the upstream reported them', () => {
    for (const [id, usage] of reported) {
      const [model, key] = id.split('/')
      expect(value('aifd_tokens_total', { route: 'openai', model, key, type: 'prompt' }), id).toBe(usage.prompt)
      expect(value('aifd_tokens_total', { route: 'openai', model, key, type: 'completion' }), id).toBe(usage.completion)
    }
    expect(reported.get('gpt-4o/bob')!.completion).toBe(20)
  })

  it('observes latency for every request and time to first token for streams', () => {
    expect(value('aifd_request_duration_seconds_count', { route: 'openai', model: 'gpt-4o-mini' })).toBe(7)
    expect(value('aifd_request_duration_seconds_count', { route: 'openai', model: 'gpt-4o' })).toBe(1)
    expect(value('aifd_time_to_first_token_seconds_count', { route: 'openai', model: 'gpt-4o' })).toBe(1)
    expect(value('aifd_time_to_first_token_seconds_count', { route: 'openai', model: 'gpt-4o-mini' })).toBeUndefined()
    expect(value('aifd_request_duration_seconds_bucket', { route: 'openai', model: 'gpt-4o', le: '+Inf' })).toBe(1)
  })

  it('counts cache hits and misses, and 429s by the plugin that refused', () => {
    expect(value('aifd_cache_requests_total', { route: 'cached', result: 'miss' })).toBe(1)
    expect(value('aifd_cache_requests_total', { route: 'cached', result: 'hit' })).toBe(1)
    expect(value('aifd_cache_requests_total', { route: 'openai', result: 'hit' })).toBeUndefined()
    expect(value('aifd_rate_limited_total', { route: 'openai', plugin: 'rateLimit' })).toBe(2)
  })

  it('counts upstream errors and retries by target', () => {
    expect(value('aifd_upstream_errors_total', { route: 'dead', target: deadTarget, code: 'upstream_unreachable' })).toBe(1)
    expect(value('aifd_upstream_errors_total', { route: 'openai', target: mock.url, code: 'http_500' })).toBe(1)
    // The 500 was retried once too (and failed again); the fail-once request was retried once and succeeded.
    expect(value('aifd_upstream_retries_total', { route: 'openai', target: mock.url })).toBe(2)
    const errors = [...metrics].filter(([k]) => k.startsWith('aifd_upstream_errors_total{')).reduce((n, [, v]) => n + v, 0)
    expect(errors).toBe(2)
  })

  it('counts dollars per route, caller and model, at the built-in prices, from the usage the upstream reported', () => {
    // gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens; gpt-4o: $2.50 / $10.
    const prices: Record<string, [number, number]> = { 'gpt-4o-mini': [0.15, 0.6], 'gpt-4o': [2.5, 10] }
    for (const [id, usage] of reported) {
      const [model, caller] = id.split('/')
      const usd = (usage.prompt * prices[model][0] + usage.completion * prices[model][1]) / 1e6
      expect(value('aifd_cost_usd_total', { route: 'openai', caller, model, estimated: 'false' }), id).toBeCloseTo(usd, 12)
    }
    // Refusals, upstream errors and cache hits spent nothing: no cost, and no unpriced count.
    expect(value('aifd_cost_usd_total', { route: 'cached', caller: 'none', model: 'gpt-4o-mini', estimated: 'false' })).toBeGreaterThan(0)
    expect([...metrics.keys()].filter((k) => k.startsWith('aifd_cost_usd_total{'))).toHaveLength(reported.size + 1)
    expect([...metrics.keys()].some((k) => k.startsWith('aifd_unpriced_requests_total{'))).toBe(false)
  })

  it('shows nothing in flight once the traffic is over', () => {
    expect(value('aifd_requests_in_flight')).toBe(0)
    expect(value('aifd_open_streams')).toBe(0)
  })
})

describe('/metrics for models without a price', () => {
  it('counts them as unpriced, never as 0 dollars, and marks estimated costs', async () => {
    await client('', 'dave').chat.completions.create(chat('who prices me?', 'mystery-model'))
    await client('', 'dave').chat.completions.create(chat('me neither', 'mystery-model'))
    // A stream without include_usage: its usage is counted by the gateway, so its cost is estimated.
    const stream = await client('', 'erin').chat.completions.create({ ...chat('estimate me'), stream: true })
    for await (const _ of stream) { /* drain */ }
    await until(() => dash.hub.inFlight === 0)
    const after = parseMetrics(await (await dash.get('/metrics')).text())
    expect(after.get(series('aifd_unpriced_requests_total', { route: 'openai', model: 'mystery-model' }))).toBe(2)
    expect([...after.keys()].some((k) => k.startsWith('aifd_cost_usd_total{') && k.includes('mystery-model'))).toBe(false)
    expect(after.get(series('aifd_cost_usd_total', { route: 'openai', caller: 'erin', model: 'gpt-4o-mini', estimated: 'true' }))).toBeGreaterThan(0)
  })
})

describe('/metrics gauges and access', () => {
  it('shows a request in flight and an open stream while a slow stream runs', async () => {
    const controller = new AbortController()
    const pending = fetch(`${dash.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-mock-chunk-delay-ms': '100' },
      body: JSON.stringify({ ...chat('slow'), stream: true }),
      signal: controller.signal,
    })
    const response = await pending
    expect(response.status).toBe(200)
    const during = parseMetrics(await (await dash.get('/metrics')).text())
    expect(during.get('aifd_requests_in_flight')).toBe(1)
    expect(during.get('aifd_open_streams')).toBe(1)
    controller.abort()
    await until(() => dash.hub.inFlight === 0)
    const after = parseMetrics(await (await dash.get('/metrics')).text())
    expect(after.get('aifd_requests_in_flight')).toBe(0)
    expect(after.get('aifd_open_streams')).toBe(0)
  })

  it('needs the admin token', async () => {
    expect((await fetch(`${dash.admin.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${dash.admin.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    // A query token is only for the live stream (EventSource cannot set headers).
    expect((await fetch(`${dash.admin.url}/metrics?token=${dash.admin.token}`)).status).toBe(401)
  })
})
