import { afterAll, beforeAll } from 'vitest'
import type { ForwardConfig } from '../../src/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from './gateway.ts'
import { startRedis, type TestRedis } from './redis.ts'

export interface SharedRedisInstances {
  redis: TestRedis
  mock: MockUpstream
  /** Two gateways, each with its own storage and Redis client: two instances sharing one Redis. */
  one: TestGateway
  two: TestGateway
}

/**
 * Registers the hooks that start a real Redis, the mock upstream and two gateway instances on them
 * for a describe block, and stop them after. `config` is called once per instance, so each gets its
 * own plugin instances, as two processes would. The fields are filled in before the first test.
 */
export function twoInstancesOnRedis(config: (urls: { mock: string; redis: string }) => ForwardConfig): SharedRedisInstances {
  const shared = {} as SharedRedisInstances
  beforeAll(async () => {
    shared.redis = await startRedis()
    shared.mock = await startMockUpstream({ port: 0 })
    const urls = { mock: shared.mock.url, redis: shared.redis.url }
    shared.one = await startTestGateway(config(urls))
    shared.two = await startTestGateway(config(urls))
  })
  afterAll(async () => {
    await shared.one?.stop()
    await shared.two?.stop()
    await shared.mock?.close()
    await shared.redis?.stop()
  })
  return shared
}
