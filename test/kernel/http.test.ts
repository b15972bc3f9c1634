// CORS (answered by the gateway) and the health endpoints.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { hasRedis, startRedis } from '../helpers/redis.ts'
import { KEY, raw, until } from './util.ts'

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } } })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

const preflight = (base: string, origin: string, path = '/v1/chat/completions') =>
  raw(base, 'OPTIONS', path, {
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
  })

describe('CORS', () => {
  it('answers a preflight itself with 204 and the allow headers; the upstream never sees it', async () => {
    const res = await preflight(gw.url, 'https://app.example')
    expect(res.status).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('*')
    expect(res.headers['access-control-allow-methods']).toContain('POST')
    expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type, x-stainless-os')
    expect(Number(res.headers['access-control-max-age'])).toBeGreaterThan(0)
    expect(res.body.length).toBe(0)
    expect(mock.requests).toHaveLength(0)
  })

  it('a plain OPTIONS request (not a preflight) is forwarded', async () => {
    const res = await raw(gw.url, 'OPTIONS', '/v1/echo/opt')
    expect(res.status).toBe(200)
    expect(mock.requests.map((r) => r.method)).toEqual(['OPTIONS'])
  })

  it('adds access-control-allow-origin to normal and error responses of a browser request', async () => {
    const ok = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}`, origin: 'https://app.example' } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe('*')
    const unauthorized = await fetch(`${gw.url}/v1/models`, { headers: { origin: 'https://app.example' } })
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe('*')
    const badPath = await raw(gw.url, 'GET', '/a/../../x', { headers: { origin: 'https://app.example' } })
    expect(badPath.status).toBe(400)
    expect(badPath.headers['access-control-allow-origin']).toBe('*')
  })

  it('allows only the configured origins, and exposes the configured headers', async () => {
    const strict = await startTestGateway({
      routes: { openai: { path: '/', target: mock.url } },
      cors: { origin: ['https://allowed.example'], exposeHeaders: ['x-request-id'], maxAge: 120 },
    })
    try {
      const allowed = await preflight(strict.url, 'https://allowed.example')
      expect(allowed.status).toBe(204)
      expect(allowed.headers['access-control-allow-origin']).toBe('https://allowed.example')
      expect(allowed.headers['access-control-max-age']).toBe('120')
      expect(allowed.headers.vary).toMatch(/origin/i)

      const denied = await preflight(strict.url, 'https://evil.example')
      expect(denied.headers['access-control-allow-origin']).toBeUndefined()
      expect(denied.headers['access-control-allow-methods']).toBeUndefined()
      expect(mock.requests).toHaveLength(0)

      const res = await fetch(`${strict.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}`, origin: 'https://allowed.example' } })
      expect(res.headers.get('access-control-allow-origin')).toBe('https://allowed.example')
      expect(res.headers.get('access-control-expose-headers')).toBe('x-request-id')
      const other = await fetch(`${strict.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}`, origin: 'https://evil.example' } })
      expect(other.status).toBe(200)
      expect(other.headers.get('access-control-allow-origin')).toBeNull()
    } finally {
      await strict.stop()
    }
  })

  it('cors: false leaves CORS to the upstream: preflights are forwarded', async () => {
    const off = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } }, cors: false })
    try {
      const res = await preflight(off.url, 'https://app.example', '/v1/echo/pre')
      expect(res.status).toBe(200)
      expect(mock.requests.map((r) => r.method)).toEqual(['OPTIONS'])
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
    } finally {
      await off.stop()
    }
  })
})

describe('health', () => {
  it('GET /healthz answers 200 without touching the upstream', async () => {
    const res = await fetch(`${gw.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok' })
    expect(mock.requests).toHaveLength(0)
  })

  it('GET /readyz answers 200 with memory storage', async () => {
    const res = await fetch(`${gw.url}/readyz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ready', storage: 'memory', routes: ['openai'] })
  })

  it.runIf(hasRedis)('GET /readyz follows Redis: 200, 503 while it is down, 200 after it restarts', async () => {
    const redis = await startRedis()
    const withRedis = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } }, storage: { driver: 'redis', url: redis.url } })
    const status = async () => (await fetch(`${withRedis.url}/readyz`)).status
    try {
      expect(await status()).toBe(200)
      await redis.kill()
      expect(await until(async () => (await status()) === 503, 8000, 100)).toBe(true)
      const down = await (await fetch(`${withRedis.url}/readyz`)).json() as any
      expect(down.status).toBe('unready')
      expect(down.error).toMatch(/storage/)
      // Forwarding does not depend on storage.
      expect((await fetch(`${withRedis.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200)
      await redis.restart()
      expect(await until(async () => (await status()) === 200, 8000, 100)).toBe(true)
    } finally {
      await withRedis.stop()
      await redis.stop()
    }
  })
})
