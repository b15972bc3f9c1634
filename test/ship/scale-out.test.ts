import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { ROOT, spawnGateway, type GatewayProcess } from '../helpers/cli.ts'
import { hasRedis, startRedis, waitForRedisKey, type TestRedis } from '../helpers/redis.ts'

// Many instances behind a load balancer, one Redis: separate gateway processes, as in production.
describe.skipIf(!hasRedis)('instances sharing one Redis', () => {
  let mock: MockUpstream
  let redis: TestRedis
  let dir: string
  const running: GatewayProcess[] = []

  beforeAll(async () => {
    mock = await startMockUpstream({ port: 0, record: false })
    redis = await startRedis()
    dir = mkdtempSync(join(tmpdir(), 'aifd-scale-'))
    // The config imports the package by name, as a user's does.
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(ROOT, join(dir, 'node_modules', 'openai-forward'))
    writeFileSync(
      join(dir, 'forward.config.ts'),
      `import { defineForwardConfig } from 'openai-forward'
import { rateLimit, cache } from 'openai-forward/plugins'

export default defineForwardConfig({
  routes: {
    openai: { path: '/', target: '${mock.url}', type: 'openai', plugins: [rateLimit({ limit: '100/minute', scope: 'global' })] },
    cached: { path: '/cached', target: '${mock.url}', type: 'openai', plugins: [cache({ ttl: '1h' })] },
  },
  storage: { driver: 'redis', url: '${redis.url}' },
})
`,
    )
  }, 30_000)

  afterAll(async () => {
    await Promise.all(running.map((gw) => gw.stop()))
    await redis?.stop()
    await mock?.close()
  })

  const chat = (url: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'scale out' }], ...extra }),
    })

  it('a global limit of 100 holds exactly across two gateway processes under concurrent load', async () => {
    const a = await spawnGateway(join(dir, 'forward.config.ts'), [], { cwd: dir })
    const b = await spawnGateway(join(dir, 'forward.config.ts'), [], { cwd: dir })
    running.push(a, b)
    const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(i % 2 ? a.url : b.url).then(async (r) => (await r.arrayBuffer(), r.status))))
    expect(statuses.filter((s) => s === 200)).toHaveLength(100)
    expect(statuses.filter((s) => s === 429)).toHaveLength(200)
  })

  it('a cache entry written by one instance is a hit on the other', async () => {
    const [a, b] = running
    const first = await fetch(`${a.url}/cached/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'shared cache' }], caching: true }),
    })
    expect(first.headers.get('x-aifd-cache')).toBe('MISS')
    const answer = await first.json()
    await waitForRedisKey([redis.port], '*cache*')
    const second = await fetch(`${b.url}/cached/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'shared cache' }], model: 'gpt-4o', caching: true }),
    })
    expect(second.headers.get('x-aifd-cache')).toBe('HIT')
    expect((await second.json()).choices[0].message.content).toBe(answer.choices[0].message.content)
  })

  it('--workers 2 on Redis: the limit holds across the workers too', async () => {
    await redis.kill()
    await redis.restart()
    const gw = await spawnGateway(join(dir, 'forward.config.ts'), ['--workers', '2'], { cwd: dir })
    running.push(gw)
    await new Promise((r) => setTimeout(r, 500))
    // A request that never gets an answer shows up as status 0, with the gateway's output, instead of a bare test timeout.
    const statuses = await Promise.all(
      Array.from({ length: 250 }, () =>
        chat(gw.url, {}, AbortSignal.timeout(20_000)).then(
          async (r) => (await r.arrayBuffer(), r.status),
          () => 0,
        ),
      ),
    )
    expect(statuses.filter((s) => s === 0), gw.output()).toHaveLength(0)
    expect(statuses.filter((s) => s === 200)).toHaveLength(100)
    expect(gw.output()).not.toMatch(/per worker/)
  }, 60_000)
})
