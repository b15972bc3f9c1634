// The rateLimit plugin on a real Redis: exact limits under concurrency, one limit shared by two
// gateway instances, and the fail-open / fail-closed modes through an outage and back.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rateLimit } from '../../plugins/index.ts'
import type { MockUpstream } from '../../playground/mock/server.ts'
import type { TestGateway } from '../helpers/gateway.ts'
import { hasRedis, type TestRedis } from '../helpers/redis.ts'
import { twoInstancesOnRedis } from '../helpers/shared-redis.ts'
import { burst, callerFromHeader, chat, count, edgeBurst, sleep, type Sent } from './rateLimit-helpers.ts'

describe.skipIf(!hasRedis)('rateLimit on Redis', () => {
  const shared = twoInstancesOnRedis((urls) => ({
      storage: { driver: 'redis' as const, url: urls.redis },
      plugins: [callerFromHeader],
      routes: {
        openai: { path: '/', target: urls.mock, plugins: [rateLimit({ limit: '50/minute' })] },
        moving: { path: '/moving', target: urls.mock, plugins: [rateLimit({ limit: '5/2seconds' })] },
        open: { path: '/open', target: urls.mock, plugins: [rateLimit({ limit: '3/minute' })] },
        closed: { path: '/closed', target: urls.mock, plugins: [rateLimit({ limit: '3/minute', failOpen: false })] },
      },
    }))
  let redis: TestRedis
  let mock: MockUpstream
  let one: TestGateway
  let two: TestGateway
  beforeAll(() => void ({ redis, mock, one, two } = shared))

  const caller = () => `caller-${randomUUID()}`

  it('lets exactly 50 of 200 concurrent requests through a 50/minute limit', async () => {
    const who = caller()
    const answers = await burst(200, () => chat(one.url, who))
    expect(count(answers, 200)).toBe(50)
    expect(count(answers, 429)).toBe(150)
    const refused = answers.find((a) => a.status === 429)!
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(58)
  })

  it('two instances sharing one Redis enforce one limit together', async () => {
    const who = caller()
    // 30 through the second instance…
    expect(count(await burst(30, () => chat(two.url, who)), 200)).toBe(30)
    // …leave exactly 20 for 200 concurrent requests spread over both.
    let turn = 0
    const answers = await burst(200, () => chat((turn++ % 2 === 0 ? one : two).url, who))
    expect(count(answers, 200)).toBe(20)
    expect(mock.requests.filter((r) => r.headers['x-caller'] === who)).toHaveLength(50)
    const afterwards = await chat(one.url, who)
    expect(afterwards.status).toBe(429)
    expect(afterwards.headers.get('x-ratelimit-remaining-requests')).toBe('0')
  })

  it('moving window in Redis: no burst of twice the limit across a window edge', async () => {
    const who = caller()
    let turn = 0
    const { first, before, after } = await edgeBurst(() => chat(`${(turn++ % 2 === 0 ? one : two).url}/moving`, who))
    expect(first).toEqual([200])
    expect(before).toEqual([200, 200, 200, 200])
    expect(after.filter((s) => s === 200)).toHaveLength(1)
  })

  it('Redis down: failOpen serves, fail closed answers 503 limiter_unavailable; limits return with Redis', async () => {
    const who = caller()
    expect((await chat(`${one.url}/open`, who)).status).toBe(200)
    await redis.kill()
    try {
      const open = await burst(5, () => chat(`${one.url}/open`, who))
      expect(count(open, 200)).toBe(5)
      // Unlimited: the upstream's own rate-limit headers pass, not the plugin's.
      expect(open[0].headers.get('x-ratelimit-limit-requests')).not.toBe('3')
      const closed = await chat(`${one.url}/closed`, who)
      expect(closed.status).toBe(503)
      expect(closed.body.error).toMatchObject({ code: 'limiter_unavailable', type: 'api_error' })
    } finally {
      await redis.restart()
    }
    // The clients reconnect by themselves; nothing was cached about the outage.
    const closedAgain = await until(() => chat(`${one.url}/closed`, who), (a) => a.status !== 503)
    expect(closedAgain.status).toBe(200)
    // The restarted Redis is empty (no persistence): the limit counts from zero and holds again.
    const open = await burst(5, () => chat(`${one.url}/open`, who))
    expect(count(open, 200)).toBe(3)
    expect(count(await burst(4, () => chat(`${two.url}/closed`, who)), 200)).toBe(2)
  })
})

/** Repeats `send` until `done` holds (at most 8 s), returning the last answer. */
async function until(send: () => Promise<Sent>, done: (answer: Sent) => boolean): Promise<Sent> {
  const deadline = Date.now() + 8000
  for (;;) {
    const answer = await send()
    if (done(answer) || Date.now() > deadline) return answer
    await sleep(100)
  }
}
