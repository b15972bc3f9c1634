// The budget plugin on a real Redis shared by two gateway processes, as in production: one budget
// holds exactly across both, reservations and settlements included.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { ROOT, spawnGateway, type GatewayProcess } from '../helpers/cli.ts'
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.ts'
import { sleep } from './rateLimit-helpers.ts'

describe.skipIf(!hasRedis)('budget across two gateway processes on one Redis', () => {
  let mock: MockUpstream
  let redis: TestRedis
  let dir: string
  let a: GatewayProcess
  let b: GatewayProcess

  beforeAll(async () => {
    mock = await startMockUpstream({ port: 0, record: false })
    redis = await startRedis()
    dir = mkdtempSync(join(tmpdir(), 'aifd-budget-'))
    // The config imports the package by name, as a user's does.
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(ROOT, join(dir, 'node_modules', 'openai-forward'))
    writeFileSync(
      join(dir, 'forward.config.ts'),
      `import { defineForwardConfig } from 'openai-forward'
import { budget } from 'openai-forward/plugins'

export default defineForwardConfig({
  routes: {
    openai: { path: '/', target: '${mock.url}', type: 'openai', plugins: [budget({ limit: '$0.5/day', scope: 'global' })] },
    real: { path: '/real', target: '${mock.url}', type: 'openai', plugins: [budget({ limit: '$0.001/month', scope: 'global' })] },
  },
  prices: { 'flat-model': { input: 0, output: 0, request: 0.01 } },
  storage: { driver: 'redis', url: '${redis.url}' },
})
`,
    )
    ;[a, b] = await Promise.all([spawnGateway(join(dir, 'forward.config.ts'), [], { cwd: dir }), spawnGateway(join(dir, 'forward.config.ts'), [], { cwd: dir })])
  }, 60_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await redis?.stop()
    await mock?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const client = (url: string, path = '') => new OpenAI({ baseURL: `${url}${path}/v1`, apiKey: 'sk-test', maxRetries: 0 })
  const messages = [{ role: 'user' as const, content: 'shared budget' }]

  it('admits exactly 50 of 200 concurrent requests (1¢ each, $0.50 a day), half sent to each process', async () => {
    const clients = [client(a.url), client(b.url)]
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => clients[i % 2].chat.completions.create({ model: 'flat-model', messages })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50)
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(refused).toHaveLength(150)
    for (const r of refused) expect(r.reason).toMatchObject({ status: 429, code: 'budget_exceeded' })
  })

  it('settles on one process what the other sees: spend recorded by A limits B', async () => {
    // gpt-4o-mini with max_tokens 300: A reserves the worst case and settles to the real cost; B's
    // headers then show the budget less A's real cost and B's own reservation.
    const request = { model: 'gpt-4o-mini', messages, max_tokens: 300 }
    const first = await client(a.url, '/real').chat.completions.create(request).withResponse()
    const reserved = 0.001 - Number(first.response.headers.get('x-aifd-budget-remaining'))
    const spent = (first.data.usage!.prompt_tokens * 0.15 + first.data.usage!.completion_tokens * 0.6) / 1e6
    await sleep(150)
    const second = await client(b.url, '/real').chat.completions.create(request).withResponse()
    expect(Number(second.response.headers.get('x-aifd-budget-remaining'))).toBeCloseTo(0.001 - spent - reserved, 9)
  })
})
