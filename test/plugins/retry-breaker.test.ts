// The retry plugin's failover and circuit breaker: several targets, one or all of them down,
// recovery through a half-open trial, and health shared through Redis.
import { randomUUID } from 'node:crypto'
import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ForwardConfig, ForwardPlugin, ForwardResult } from '../../src/index.ts'
import { retry } from '../../plugins/index.ts'
import { expectedReply, startMockUpstream, transcriptText, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { freePort, hasRedis, startRedis, type TestRedis } from '../helpers/redis.ts'

let mock: MockUpstream
const cleanup: Array<() => Promise<void>> = []

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
})
afterEach(async () => {
  for (const stop of cleanup.splice(0).reverse()) await stop()
})
afterAll(async () => {
  await mock?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A gateway whose `onResponse` results (a chatLog-style consumer) are collected in order. */
async function gatewayWith(config: ForwardConfig): Promise<{ gw: TestGateway; client: OpenAI; results: ForwardResult[] }> {
  const results: ForwardResult[] = []
  const recorder: ForwardPlugin = { name: 'recorder', onResponse: (_ctx, result) => void results.push(result) }
  const gw = await startTestGateway({ ...config, plugins: [recorder] })
  cleanup.push(() => gw.stop())
  return { gw, results, client: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test', maxRetries: 0 }) }
}

async function settled(results: ForwardResult[], count: number): Promise<ForwardResult[]> {
  const end = Date.now() + 3000
  while (results.length < count && Date.now() < end) await sleep(10)
  expect(results).toHaveLength(count)
  return results.splice(0)
}

const chat = (text: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: text }] })

async function sendMany(client: OpenAI, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const completion = await client.chat.completions.create(chat(`n${i}`))
    expect(completion.choices[0].message.content).toBe(expectedReply(`n${i}`))
  }
}

const attemptsOf = (results: ForwardResult[]) => results.reduce((sum, r) => sum + r.attempts, 0)

describe('retry: failover and circuit breaker', () => {
  it('serves every request with one target down, stops trying it once its circuit opens, and lets it back after a successful trial', async () => {
    const deadPort = await freePort()
    const dead = `http://127.0.0.1:${deadPort}`
    const { client, results } = await gatewayWith({
      routes: {
        openai: { path: '/', target: [dead, mock.url], plugins: [retry({ backoff: { base: '5ms', max: '5ms' }, breaker: { failures: 2, coolDown: '600ms' } })] },
      },
    })

    // Round-robin sends every other first attempt to the dead target: two failures open its circuit.
    await sendMany(client, 8)
    let round = await settled(results, 8)
    expect(attemptsOf(round) - 8).toBe(2)
    expect(round.every((r) => r.status === 200 && r.target === mock.url)).toBe(true)
    expect(round.slice(4).every((r) => r.attempts === 1)).toBe(true)

    // After the cool-down one request tries it again (half-open); that trial fails and re-opens it.
    await sleep(700)
    await sendMany(client, 4)
    round = await settled(results, 4)
    expect(attemptsOf(round) - 4).toBe(1)

    // The target comes back: the next trial succeeds, and it takes its share of traffic again.
    const revived = await startMockUpstream({ port: deadPort })
    cleanup.push(() => revived.close())
    await sleep(700)
    await sendMany(client, 4)
    round = await settled(results, 4)
    expect(attemptsOf(round)).toBe(4)
    expect(revived.requests).toHaveLength(2)
  })

  it('still tries when every target\'s circuit is open (fail-safe), answering the real failure', async () => {
    const [a, b] = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`]
    const { client, results } = await gatewayWith({
      routes: {
        openai: { path: '/', target: [a, b], plugins: [retry({ attempts: 2, backoff: { base: '5ms', max: '5ms' }, breaker: { failures: 1, coolDown: '30s' } })] },
      },
    })
    for (let i = 0; i < 2; i++) {
      const error = await client.chat.completions.create(chat('x')).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_unreachable')
    }
    const [first, second] = await settled(results, 2)
    expect(first.attempts).toBe(2)
    // Both circuits are open now; the one opened first is tried first.
    expect(second.attempts).toBe(2)
    expect(second.target).toBe(b)
  })

  it('does not fail an upload over to the next target (the stream is spent), and says so', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const { client, results } = await gatewayWith({
      routes: { openai: { path: '/', target: [dead, mock.url], plugins: [retry({ backoff: { base: '5ms', max: '5ms' } })] } },
    })
    const before = mock.requests.length
    const audio = Buffer.alloc(2048, 3)
    const error = await client.audio.transcriptions.create({ file: await toFile(audio, 'a.wav'), model: 'whisper-1' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upload_not_retryable')
    expect((error as Error).message).toMatch(/ECONNREFUSED.*upload cannot be sent twice/)
    const [result] = await settled(results, 1)
    expect(result.attempts).toBe(1)
    expect(mock.requests.length).toBe(before)

    // The next upload goes to the live target and works.
    const transcription = await client.audio.transcriptions.create({ file: await toFile(audio, 'a.wav'), model: 'whisper-1' })
    expect(transcription.text).toBe(transcriptText('a.wav', audio))
  })

  it('leaves a single-target route alone: no breaker, every request still tries it', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const { client, results } = await gatewayWith({
      routes: { openai: { path: '/', target: dead, plugins: [retry({ attempts: 1, breaker: { failures: 1, coolDown: '30s' } })] } },
    })
    for (let i = 0; i < 3; i++) await client.chat.completions.create(chat('x')).catch(() => {})
    const round = await settled(results, 3)
    expect(round.map((r) => r.attempts)).toEqual([1, 1, 1])
  })
})

describe.skipIf(!hasRedis)('retry: circuit state shared through Redis', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('a circuit opened by one instance is skipped by another', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const config = (): ForwardConfig => ({
      storage: { driver: 'redis', url: redis.url, prefix: `t${randomUUID().slice(0, 8)}:` },
      routes: { openai: { path: '/', target: [dead, mock.url], plugins: [retry({ backoff: { base: '5ms', max: '5ms' }, breaker: { failures: 1, coolDown: '30s' } })] } },
    })
    const shared = config()
    const one = await gatewayWith(shared)
    const two = await gatewayWith({ ...config(), storage: shared.storage })

    // Each instance's round-robin starts at the dead target.
    await sendMany(one.client, 1)
    expect((await settled(one.results, 1))[0].attempts).toBe(2)
    await sendMany(two.client, 1)
    const [skipped] = await settled(two.results, 1)
    expect(skipped.attempts).toBe(1)
    expect(skipped.target).toBe(mock.url)
  })

  it('keeps serving while Redis is down (the breaker falls back to this process\'s view)', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const { client, results } = await gatewayWith({
      storage: { driver: 'redis', url: redis.url, prefix: `t${randomUUID().slice(0, 8)}:` },
      routes: { openai: { path: '/', target: [dead, mock.url], plugins: [retry({ backoff: { base: '5ms', max: '5ms' }, breaker: { failures: 1, coolDown: '30s' } })] } },
    })
    await redis.kill()
    try {
      await sendMany(client, 4)
      const round = await settled(results, 4)
      expect(round.every((r) => r.status === 200)).toBe(true)
      // The dead target failed once, and the breaker still kept the later requests off it.
      expect(attemptsOf(round)).toBe(5)
    } finally {
      await redis.restart()
    }
  })

  it('without shared storage the second instance pays the failed attempt itself', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const route = () => ({ openai: { path: '/', target: [dead, mock.url], plugins: [retry({ backoff: { base: '5ms', max: '5ms' }, breaker: { failures: 1, coolDown: '30s' } })] } })
    const one = await gatewayWith({ routes: route() })
    const two = await gatewayWith({ routes: route() })
    await sendMany(one.client, 1)
    await sendMany(two.client, 1)
    expect((await settled(two.results, 1))[0].attempts).toBe(2)
  })
})
