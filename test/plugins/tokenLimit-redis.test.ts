// Token budgets on a real Redis: reservations and settlements shared by two gateway instances, and
// the storage's answer to "when does a large reservation fit again" on a sliding window.
import { randomUUID } from 'node:crypto'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countChatTokens } from '../../src/index.ts'
import { createGatewayStorage, type GatewayStorage } from '../../src/storage/create.ts'
import { tokenLimit } from '../../plugins/index.ts'
import type { MockUpstream } from '../../playground/mock/server.ts'
import type { TestGateway } from '../helpers/gateway.ts'
import { hasRedis, type TestRedis } from '../helpers/redis.ts'
import { twoInstancesOnRedis } from '../helpers/shared-redis.ts'
import { callerFromHeader, sleep } from './rateLimit-helpers.ts'

const MODEL = 'gpt-4o-mini'
const messages = [{ role: 'user' as const, content: 'Count me' }]
const PROMPT = countChatTokens(messages, MODEL)

describe.skipIf(!hasRedis)('tokenLimit on Redis', () => {
  const shared = twoInstancesOnRedis((urls) => ({
      storage: { driver: 'redis' as const, url: urls.redis },
      plugins: [callerFromHeader, tokenLimit({ limit: '3000/minute' })],
      routes: { openai: { path: '/', target: urls.mock } },
    }))
  let redis: TestRedis
  let mock: MockUpstream
  let one: TestGateway
  let two: TestGateway
  beforeAll(() => void ({ redis, mock, one, two } = shared))

  it('a budget settled on one instance is what the other sees', async () => {
    const caller = `caller-${randomUUID()}`
    const client = (gw: TestGateway) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: { 'x-caller': caller } })
    const stream = await client(one).chat.completions.create({ model: MODEL, messages, max_tokens: 500, stream: true, stream_options: { include_usage: true } })
    let total = 0
    for await (const chunk of stream) total = chunk.usage?.total_tokens ?? total
    expect(total).toBeGreaterThan(PROMPT)
    await sleep(100)
    const { response } = await client(two).chat.completions.create({ model: MODEL, messages, max_tokens: 10 }).withResponse()
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBe(3000 - total - (PROMPT + 10))
  })

  for (const driver of ['memory', 'redis'] as const) {
    it(`${driver}: a refused large cost waits until enough of the sliding window has expired, not just its oldest entry`, async () => {
      const storage: GatewayStorage = await createGatewayStorage(driver === 'redis' ? { driver, url: redis.url } : { driver })
      try {
        const counters = storage.forPlugin('test')
        const window = { key: `w-${randomUUID()}`, limit: 100, windowMs: 3000, strategy: 'moving' as const }
        expect((await counters.consume([window], 30)).allowed).toBe(true)
        await sleep(500)
        expect((await counters.consume([window], 30)).allowed).toBe(true)
        await sleep(500)
        expect((await counters.consume([window], 30)).allowed).toBe(true)
        // 90 used; 70 more need the first two entries (at 0 s and 0.5 s) to expire: about 2.5 s from now.
        const refused = await counters.consume([window], 70)
        expect(refused.allowed).toBe(false)
        expect(refused.retryAfterMs).toBeGreaterThan(2200)
        expect(refused.retryAfterMs).toBeLessThanOrEqual(2500)
        // A small cost fits when the oldest entry expires: about 2 s from now.
        const small = await counters.consume([window], 20)
        expect(small.allowed).toBe(false)
        expect(small.retryAfterMs).toBeLessThanOrEqual(2000)
        expect(small.retryAfterMs).toBeGreaterThan(1700)
      } finally {
        await storage.dispose()
      }
    })
  }
})
