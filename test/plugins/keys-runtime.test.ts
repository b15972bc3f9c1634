// Forward keys made at run time through the admin API, on two gateway instances sharing a real
// Redis: created on A works on B within a second, revoked on A is refused on B within a second,
// rotation, expiry, a key's own budget, the key list with use, the log lines, and a scan that no
// secret shows anywhere but in the answer that created it.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMonitorHub, monitor, startAdmin, type RunningAdmin } from '../../src/admin/index.ts'
import { budget, keys } from '../../plugins/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { captureLogger } from '../helpers/capture-logger.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.ts'
import { sleep } from './rateLimit-helpers.ts'

const TOKEN = 'admin-token-for-keys-test-0123456789'
const REAL_KEYS = ['sk-real-default-secret-aaaaaaaaaaaa', 'sk-real-pro-secret-bbbbbbbbbbbbbbbb']
const FK_ALICE = 'fk-alice-config-secret-cccccccccccccc'
const messages = [{ role: 'user' as const, content: 'hello from a runtime key' }]

interface Instance {
  gateway: TestGateway
  admin: RunningAdmin
  api(path: string, init?: RequestInit): Promise<Response>
}

describe.skipIf(!hasRedis)('forward keys at run time, two instances on one Redis', () => {
  let redis: TestRedis
  let mock: MockUpstream
  let a: Instance
  let b: Instance
  const logs = captureLogger()
  /** Every secret that must never show up outside the answer that made it. */
  const secrets = new Set<string>([TOKEN, FK_ALICE, ...REAL_KEYS])
  /** Every answer of the admin API except the creating and rotating ones. */
  const adminAnswers: string[] = []

  async function start(): Promise<Instance> {
    const hub = createMonitorHub({ processMetrics: false })
    const gateway = await startTestGateway({
      plugins: [monitor(hub)],
      prices: { 'flat-model': { input: 0, output: 0, request: 0.01 } },
      storage: { driver: 'redis', url: redis.url },
      routes: {
        openai: {
          path: '/', target: mock.url, plugins: [
            keys({ levels: { default: { keys: [REAL_KEYS[0]] }, pro: { keys: [REAL_KEYS[1]] } }, forwardKeys: { alice: { key: FK_ALICE, level: 'default' } }, runtimeKeys: true }),
            budget({ limit: '$1/day' }),
          ],
        },
      },
    }, { log: logs.log })
    const admin = await startAdmin({ gateway, hub, port: 0, token: TOKEN, log: logs.log })
    return {
      gateway,
      admin,
      api: (path, init = {}) => fetch(admin.url + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } }),
    }
  }

  beforeAll(async () => {
    redis = await startRedis()
    mock = await startMockUpstream({ port: 0 })
    a = await start()
    b = await start()
  }, 30_000)

  afterAll(async () => {
    for (const instance of [a, b]) {
      await instance?.admin.close()
      await instance?.gateway.stop()
    }
    await mock?.close()
    await redis?.stop()
  })

  const sdk = (instance: Instance, key: string) => new OpenAI({ baseURL: `${instance.gateway.url}/v1`, apiKey: key, maxRetries: 0 })
  const chat = (instance: Instance, key: string, model = 'gpt-4o-mini') => sdk(instance, key).chat.completions.create({ model, messages })
  const statusOf = (promise: Promise<unknown>) => promise.then(() => 200, (error) => error.status as number)

  async function create(body: Record<string, unknown>): Promise<{ key: string; name: string; createdAt: number }> {
    const response = await a.api('/api/keys', { method: 'POST', body: JSON.stringify(body) })
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const made = await response.json()
    secrets.add(made.key)
    return made
  }

  /** Waits until `check` is true, and says how long that took. */
  async function within(check: () => Promise<boolean>, limitMs: number): Promise<number> {
    const started = Date.now()
    while (!(await check())) {
      if (Date.now() - started > limitMs * 3) throw new Error(`not true after ${Date.now() - started} ms`)
      await sleep(20)
    }
    return Date.now() - started
  }

  it('creates a key on A that works on B at once, shown once and listed without its secret', async () => {
    const made = await create({ name: 'carol', level: 'pro' })
    expect(made.key).toMatch(/^fk-[A-Za-z0-9_-]{43}$/)
    expect(made).toMatchObject({ name: 'carol', level: 'pro', createdAt: expect.any(Number) })
    const took = await within(async () => (await statusOf(chat(b, made.key))) === 200, 1000)
    expect(took).toBeLessThan(1000)
    // B sent carol's request with the pro level's real key.
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_KEYS[1]}`)
    const list = await (await b.api('/api/keys')).json()
    adminAnswers.push(JSON.stringify(list))
    expect(list.levels.sort()).toEqual(['default', 'pro'])
    expect(list.keys.find((k: any) => k.name === 'carol')).toMatchObject({ name: 'carol', level: 'pro', source: 'runtime', createdAt: made.createdAt })
    expect(list.keys.find((k: any) => k.name === 'alice')).toMatchObject({ name: 'alice', level: 'default', source: 'config' })
  })

  it('counts each key’s requests, tokens and dollars across instances, with its last use', async () => {
    const made = await create({ name: 'dave', level: 'default' })
    const answers = [await chat(a, made.key), await chat(b, made.key), await chat(a, made.key, 'flat-model')]
    const tokens = answers.reduce((sum, r) => sum + r.usage!.total_tokens, 0)
    const usd = answers.slice(0, 2).reduce((sum, r) => sum + (r.usage!.prompt_tokens * 0.15 + r.usage!.completion_tokens * 0.6) / 1e6, 0) + 0.01
    let dave: any
    await within(async () => {
      const list = await (await a.api('/api/keys')).json()
      adminAnswers.push(JSON.stringify(list))
      dave = list.keys.find((k: any) => k.name === 'dave')
      return dave.requests === 3
    }, 1500)
    expect(dave.tokens).toBe(tokens)
    expect(dave.costUsd).toBeCloseTo(usd, 9)
    // Every answer reported its usage: nothing of it was estimated.
    expect(dave.estimatedCostUsd).toBe(0)
    expect(Date.now() - dave.lastUsedAt).toBeLessThan(5000)
  })

  it('refuses a key revoked on A on B within a second, and logs the revocation by name', async () => {
    const made = await create({ name: 'erin', level: 'default' })
    expect(await statusOf(chat(b, made.key))).toBe(200)
    const revoked = await a.api('/api/keys/erin', { method: 'DELETE' })
    adminAnswers.push(await revoked.clone().text())
    expect(revoked.status).toBe(200)
    const took = await within(async () => (await statusOf(chat(b, made.key))) === 401, 1000)
    expect(took).toBeLessThan(1000)
    expect((await (await a.api('/api/keys')).json()).keys.some((k: any) => k.name === 'erin')).toBe(false)
    expect(logs.entries.some((e) => e.text.includes('forward key "erin" revoked'))).toBe(true)
    expect(logs.entries.some((e) => e.text.includes('forward key "erin" created (level default)'))).toBe(true)
  })

  it('rotates a key: the new secret works everywhere, the old one is refused', async () => {
    const made = await create({ name: 'frank', level: 'default' })
    const rotated = await b.api('/api/keys/frank/rotate', { method: 'POST' })
    expect(rotated.status).toBe(200)
    const { key } = await rotated.json()
    secrets.add(key)
    expect(key).not.toBe(made.key)
    await within(async () => (await statusOf(chat(a, made.key))) === 401, 1000)
    expect(await statusOf(chat(a, key))).toBe(200)
    expect(logs.entries.some((e) => e.text.includes('forward key "frank" rotated'))).toBe(true)
  })

  it('gives a key its own budget and an expiry', async () => {
    const budgeted = await create({ name: 'gina', level: 'default', budget: '$0.02/day' })
    const statuses = [] as number[]
    for (let i = 0; i < 4; i++) statuses.push(await statusOf(chat(b, budgeted.key, 'flat-model')))
    expect(statuses).toEqual([200, 200, 429, 429])
    const expiring = await create({ name: 'hank', level: 'default', expiresAt: new Date(Date.now() + 1500).toISOString() })
    expect(await statusOf(chat(a, expiring.key))).toBe(200)
    await sleep(1600)
    expect(await statusOf(chat(a, expiring.key))).toBe(401)
  })

  it('answers mistakes with a clear error and needs the admin token', async () => {
    const post = (body: unknown) => a.api('/api/keys', { method: 'POST', body: JSON.stringify(body) })
    const cases: Array<[unknown, number, RegExp]> = [
      [{ name: 'bad name!', level: 'default' }, 400, /name must be/],
      [{ name: 'ivy', level: 'gold' }, 400, /level must be one of "default", "pro"/],
      [{ name: 'ivy', level: 'default', budget: '50 dollars' }, 400, /budget: "50 dollars" is not a budget/],
      [{ name: 'ivy', level: 'default', expiresAt: '2001-01-01' }, 400, /expiresAt must be a time in the future/],
      [{ name: 'carol', level: 'default' }, 409, /a key named "carol" already exists/],
      [{ name: 'alice', level: 'default' }, 409, /a key named "alice" already exists/],
    ]
    for (const [body, status, message] of cases) {
      const response = await post(body)
      const text = await response.text()
      adminAnswers.push(text)
      expect(response.status, JSON.stringify(body)).toBe(status)
      expect(JSON.parse(text).error.message).toMatch(message)
    }
    const config = await a.api('/api/keys/alice', { method: 'DELETE' })
    expect(config.status).toBe(404)
    expect((await config.json()).error.message).toContain('declared in the config')
    expect((await fetch(`${a.admin.url}/api/keys`)).status).toBe(401)
    expect((await fetch(`${a.admin.url}/api/keys`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' })).status).toBe(401)
    const refused = logs.entries.filter((e) => e.text.startsWith('admin: refused'))
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0].text).toMatch(/admin: refused GET \/api\/keys from .*: no admin token/)
  })

  it('shows no secret in any log line, metric, page or admin answer but the one that made it', async () => {
    const texts = [
      ...logs.entries.map((e) => e.text),
      ...adminAnswers,
      await (await a.api('/metrics')).text(),
      await (await b.api('/metrics')).text(),
      await (await a.api('/api/exchanges')).text(),
      await (await a.api('/api/stats?range=5m')).text(),
      await (await a.api('/api/keys')).text(),
      await (await b.api('/api/config')).text(),
      await (await fetch(`${a.admin.url}/`)).text(),
    ]
    expect(secrets.size).toBeGreaterThan(8)
    for (const text of texts) for (const secret of secrets) expect(text.includes(secret), `a secret in: ${text.slice(0, 120)}`).toBe(false)
    // …and Redis holds only digests.
    const { execFileSync } = await import('node:child_process')
    const dump = execFileSync('redis-cli', ['-p', String(redis.port), '--scan'], { encoding: 'utf8' })
    const values = dump.split('\n').filter((k) => k.includes(':rk:')).map((k) => execFileSync('redis-cli', ['-p', String(redis.port), 'GET', k], { encoding: 'utf8' }))
    expect(values.length).toBeGreaterThan(0)
    for (const text of [dump, ...values]) for (const secret of secrets) expect(text.includes(secret)).toBe(false)
  })
})
