// The cache plugin on each storage driver: TTL, Age, fs persistence across a restart, Redis shared by
// two gateways.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import type { StorageConfig } from '../../src/index.ts'
import { cache } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { hasRedis, startRedis, waitForRedisKey, type TestRedis } from '../helpers/redis.ts'
import { chat, post, seen, sleep } from './cache-helpers.ts'

let mock: MockUpstream
let redis: TestRedis | undefined
const dirs: string[] = []
const running: TestGateway[] = []

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  if (hasRedis) redis = await startRedis()
})
afterAll(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()))
  await mock?.close()
  await redis?.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()))
  mock.reset()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aifd-cache-'))
  dirs.push(dir)
  return dir
}

async function gateway(storage: StorageConfig, options: Parameters<typeof cache>[0] = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, type: 'openai', plugins: [cache(options)] } }, storage })
  running.push(gw)
  return gw
}

/** Asks once and returns the cache header and Age. */
async function ask(gw: TestGateway, text: string, stream = false): Promise<{ cache: string | null; age: string | null; body: string }> {
  const res = await post(gw.url, '/v1/chat/completions', { ...chat(text), stream, caching: true })
  const body = await res.text()
  expect(res.status).toBe(200)
  return { cache: res.headers.get('x-aifd-cache'), age: res.headers.get('age'), body }
}

const drivers: Array<[string, boolean, () => StorageConfig]> = [
  ['memory', true, () => ({ driver: 'memory' })],
  ['fs', true, () => ({ driver: 'fs', base: tempDir() })],
  ['redis', hasRedis, () => ({ driver: 'redis', url: redis!.url, prefix: `t${Date.now()}:` })],
]

for (const [driver, available, storage] of drivers) {
  describe.skipIf(!available)(`cache on ${driver} storage`, () => {
    it('expires entries after the ttl, and reports their Age until then', async () => {
      const gw = await gateway(storage(), { ttl: '1500ms' })
      expect((await ask(gw, `ttl ${driver}`)).cache).toBe('MISS')
      expect(await ask(gw, `ttl ${driver}`)).toMatchObject({ cache: 'HIT', age: '0' })
      await sleep(1100)
      expect(await ask(gw, `ttl ${driver}`)).toMatchObject({ cache: 'HIT', age: '1' })
      await sleep(600)
      expect((await ask(gw, `ttl ${driver}`)).cache).toBe('MISS')
      expect(seen(mock)).toHaveLength(2)
    })

    it('stores and replays streams', async () => {
      const gw = await gateway(storage())
      const first = await ask(gw, `stream ${driver}`, true)
      const second = await ask(gw, `stream ${driver}`, true)
      expect(second.cache).toBe('HIT')
      expect(second.body).toBe(first.body)
    })
  })
}

describe('cache persistence and sharing', () => {
  it('on fs storage, answers survive a restart', async () => {
    const base = tempDir()
    const before = await gateway({ driver: 'fs', base })
    const first = await ask(before, 'persist')
    expect(first.cache).toBe('MISS')
    await before.stop()
    running.splice(running.indexOf(before), 1)

    const after = await gateway({ driver: 'fs', base })
    const second = await ask(after, 'persist')
    expect(second.cache).toBe('HIT')
    expect(second.body).toBe(first.body)
    expect(seen(mock)).toHaveLength(1)
  })

  it.skipIf(!hasRedis)('on Redis storage, two gateways share answers', async () => {
    const prefix = `shared${Date.now()}:`
    const storage: StorageConfig = { driver: 'redis', url: redis!.url, prefix }
    const one = await gateway(storage)
    const two = await gateway(storage)
    const first = await ask(one, 'shared')
    await waitForRedisKey([redis!.port], `${prefix}*`)
    const second = await ask(two, 'shared')
    expect([first.cache, second.cache]).toEqual(['MISS', 'HIT'])
    expect(second.body).toBe(first.body)
    expect(seen(mock)).toHaveLength(1)
  })
})
