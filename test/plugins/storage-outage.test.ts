// Redis going away and coming back under load: while it is down, requests on routes with limits and
// a cache do not each wait for a Redis command to time out; they are served (or refused, fail
// closed) at once, and the limits hold again when Redis is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cache, rateLimit, tokenLimit } from '../../plugins/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.ts'

describe.skipIf(!hasRedis)('Redis outage under load', () => {
  let redis: TestRedis
  let mock: MockUpstream
  let gw: TestGateway

  beforeAll(async () => {
    redis = await startRedis()
    mock = await startMockUpstream({ port: 0 })
    gw = await startTestGateway({
      storage: { driver: 'redis', url: redis.url },
      routes: {
        openai: { path: '/', target: mock.url, plugins: [rateLimit({ limit: '100000/minute' }), tokenLimit({ limit: '100000k/minute' }), cache({ default: true })] },
        closed: { path: '/closed', target: mock.url, plugins: [rateLimit({ limit: '3/minute', failOpen: false })] },
      },
    })
  })
  afterAll(async () => {
    await gw?.stop()
    await mock?.close()
    await redis?.stop()
  })

  let n = 0
  const chat = async (prefix = '') => {
    const started = performance.now()
    const res = await fetch(`${gw.url}${prefix}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `outage ${n++}` }] }),
    })
    await res.text()
    return { status: res.status, ms: performance.now() - started }
  }

  it('while Redis is down, 20 concurrent clients are served at once (no request waits for a Redis timeout); fail-closed refuses at once; limits return with Redis', async () => {
    expect((await chat()).status).toBe(200)
    await redis.kill()
    try {
      // The outage is noticed by the client at once (the socket closes); give it a moment.
      await new Promise((r) => setTimeout(r, 300))
      const served = await Promise.all(Array.from({ length: 20 }, async () => {
        const times: Array<{ status: number; ms: number }> = []
        for (let i = 0; i < 5; i++) times.push(await chat())
        return times
      }))
      const all = served.flat()
      expect(all.every((r) => r.status === 200)).toBe(true)
      // Each waited for a Redis timeout (1.5 to 3 s) before; now they do not (the median, so that a
      // busy machine's odd slow request does not decide).
      const times = all.map((r) => r.ms).sort((a, b) => a - b)
      expect(times[Math.floor(times.length / 2)]).toBeLessThan(500)
      const closed = await chat('/closed')
      expect(closed.status).toBe(503)
      expect(closed.ms).toBeLessThan(1000)
    } finally {
      await redis.restart()
    }
    // Back: the fail-closed limit counts again (the restarted Redis is empty).
    const deadline = Date.now() + 8000
    let status = 503
    while (status === 503 && Date.now() < deadline) {
      status = (await chat('/closed')).status
      if (status === 503) await new Promise((r) => setTimeout(r, 100))
    }
    expect(status).toBe(200)
    const more = [await chat('/closed'), await chat('/closed'), await chat('/closed')]
    expect(more.map((r) => r.status)).toEqual([200, 200, 429])
  })
})
