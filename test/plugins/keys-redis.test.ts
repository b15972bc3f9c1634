// The keys plugin's key health on a real Redis: a key one gateway instance saw refused is skipped
// by another, and storage holds digests, never keys.
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import OpenAI, { APIError } from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keys } from '../../plugins/index.ts'
import type { MockUpstream } from '../../playground/mock/server.ts'
import type { TestGateway } from '../helpers/gateway.ts'
import { hasRedis, type TestRedis } from '../helpers/redis.ts'
import { twoInstancesOnRedis } from '../helpers/shared-redis.ts'

const BAD = 'sk-bad-REDIS-secret-111'
const OK = 'sk-ok-REDIS-secret-222'

describe.skipIf(!hasRedis)('keys on Redis', () => {
  const shared = twoInstancesOnRedis((urls) => ({
      storage: { driver: 'redis' as const, url: urls.redis },
      routes: { openai: { path: '/', target: urls.mock, plugins: [keys({ keys: [BAD, OK], forwardKeys: { alice: 'fk-alice' }, coolDown: '60s' })] } },
    }))
  let redis: TestRedis
  let mock: MockUpstream
  let one: TestGateway
  let two: TestGateway
  beforeAll(() => void ({ redis, mock, one, two } = shared))

  const chat = (gw: TestGateway, id: string) =>
    new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'fk-alice', maxRetries: 0, defaultHeaders: { 'x-test-id': id } })
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .then(() => 200, (e: APIError) => e.status)
  const keysSeen = (id: string) => mock.requests.filter((r) => r.headers['x-test-id'] === id).map((r) => r.apiKey)

  it('skips on every instance a key that one instance saw refused', async () => {
    const first = randomUUID()
    expect(await chat(one, first)).toBe(502)
    expect(keysSeen(first)).toEqual([BAD])
    // Instances re-read key health about once a second.
    await new Promise((resolve) => setTimeout(resolve, 1300))
    const later = randomUUID()
    // Untouched so far, the second instance's round-robin would start at the refused key.
    for (let i = 0; i < 3; i++) expect(await chat(two, later)).toBe(200)
    expect(keysSeen(later)).toEqual([OK, OK, OK])
  })

  it('stores key health under digests, never the key', () => {
    const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).stdout
    const names = cli('--scan').split('\n').filter(Boolean)
    const health = names.filter((name) => name.includes('health'))
    expect(health).toHaveLength(1)
    expect(health[0]).toMatch(/[0-9a-f]{64}/)
    const dump = names.map((name) => `${name} ${cli('get', name)}`).join('\n')
    expect(dump).not.toContain('REDIS-secret')
  })
})
