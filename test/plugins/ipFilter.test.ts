// The ipFilter plugin against a real gateway (IPv4 and IPv6 loopback) and the mock upstream.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, jsonResponse, type ForwardPlugin } from '../../src/index.ts'
import { ipFilter } from '../../plugins/index.ts'
import type { IpFilterOptions } from '../../plugins/ipFilter/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'

/** Answers `GET …/whoami` with the client address the plugins before it settled on. */
const whoami: ForwardPlugin = {
  name: 'whoami',
  onRequest: (ctx) => (ctx.upstreamPath.startsWith('/whoami') ? jsonResponse(200, { clientIp: ctx.clientIp }) : undefined),
}

const filtered = (path: string, options: IpFilterOptions, target: string) => ({ path, target, plugins: [ipFilter(options), whoami] })

function configError(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('ipFilter options', () => {
  it('names the bad entry of a list', () => {
    expect(configError(() => ipFilter({ allow: ['10.0.0.0/8', '::1', '300.1.1.1/8'] })).field).toBe('plugins.ipFilter.allow[2]')
    expect(configError(() => ipFilter({ deny: ['10.0.0.0/33'] })).field).toBe('plugins.ipFilter.deny[0]')
    expect(configError(() => ipFilter({ deny: ['2001:db8::/129'] })).field).toBe('plugins.ipFilter.deny[0]')
    expect(configError(() => ipFilter({ allow: ['::1'], trustProxy: ['127.0.0.1', 'proxy.local'] })).field).toBe('plugins.ipFilter.trustProxy[1]')
  })

  it('refuses configs that do nothing or lock everyone out', () => {
    expect(configError(() => ipFilter({})).field).toBe('plugins.ipFilter')
    expect(configError(() => ipFilter({ allow: [] })).field).toBe('plugins.ipFilter.allow')
  })
})

describe('ipFilter on a gateway', () => {
  let mock: MockUpstream
  let gw: TestGateway
  let v6: TestGateway
  let v6url: string

  beforeAll(async () => {
    mock = await startMockUpstream({ port: 0 })
    const t = mock.url
    gw = await startTestGateway({
      routes: {
        openai: filtered('/', { allow: ['127.0.0.1'] }, t),
        denyWins: filtered('/deny-wins', { allow: ['127.0.0.0/8'], deny: ['127.0.0.1'] }, t),
        elsewhere: filtered('/elsewhere', { allow: ['10.0.0.0/8', '2001:db8::/32'] }, t),
        mappedRange: filtered('/mapped-range', { allow: ['::ffff:127.0.0.0/104'] }, t),
        untrusted: filtered('/untrusted', { allow: ['203.0.113.7'] }, t),
        proxied: filtered('/proxied', { trustProxy: true, allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66', '2001:db8::bad'] }, t),
        chain: filtered('/chain', { trustProxy: ['127.0.0.1', '10.0.0.0/8'], allow: ['203.0.113.0/24'] }, t),
        trustOnly: filtered('/trust-only', { trustProxy: true }, t),
      },
    })
    v6 = await startTestGateway({
      server: { host: '::1' },
      routes: {
        openai: filtered('/', { allow: ['::1'] }, t),
        denied: filtered('/denied', { deny: ['::1/128'] }, t),
        v4only: filtered('/v4only', { allow: ['127.0.0.0/8'] }, t),
      },
    })
    // The gateway's own `url` does not bracket an IPv6 host; only its port is read from it.
    v6url = `http://[::1]:${v6.url.split(':').pop()}`
  })

  afterAll(async () => {
    await gw?.stop()
    await v6?.stop()
    await mock?.close()
  })

  async function whoIs(base: string, path: string, forwardedFor?: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${base}${path}/whoami`, { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } })
    return { status: response.status, body: await response.json() }
  }

  it('lets an allowed client through to the upstream (OpenAI SDK)', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test', maxRetries: 0 })
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toContain('gpt-4o')
  })

  it('refuses a client outside the allow list with 403 ip_forbidden, before the upstream', async () => {
    const before = mock.requests.length
    const client = new OpenAI({ baseURL: `${gw.url}/elsewhere/v1`, apiKey: 'sk-test', maxRetries: 0 })
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('ip_forbidden')
    expect((error as Error).message).toContain('127.0.0.1')
    expect(mock.requests.length).toBe(before)
  })

  it('deny wins over allow', async () => {
    const answer = await whoIs(gw.url, '/deny-wins')
    expect(answer.status).toBe(403)
    expect(answer.body.error).toMatchObject({ type: 'permission_error', code: 'ip_forbidden' })
  })

  it('matches an IPv4 client against an IPv4-mapped IPv6 range', async () => {
    expect(await whoIs(gw.url, '/mapped-range')).toEqual({ status: 200, body: { clientIp: '127.0.0.1' } })
  })

  it('ignores X-Forwarded-For from a client that is not a trusted proxy', async () => {
    const forged = await whoIs(gw.url, '/untrusted', '203.0.113.7')
    expect(forged.status).toBe(403)
    // Without a filter verdict to hide behind: the address plugins see is still the socket's.
    expect(await whoIs(gw.url, '/mapped-range', '203.0.113.7')).toEqual({ status: 200, body: { clientIp: '127.0.0.1' } })
  })

  it('behind a trusted proxy, takes the client from X-Forwarded-For and sets ctx.clientIp', async () => {
    expect(await whoIs(gw.url, '/proxied', '203.0.113.7')).toEqual({ status: 200, body: { clientIp: '203.0.113.7' } })
    expect(await whoIs(gw.url, '/trust-only', '198.51.100.9')).toEqual({ status: 200, body: { clientIp: '198.51.100.9' } })
    expect(await whoIs(gw.url, '/trust-only')).toEqual({ status: 200, body: { clientIp: '127.0.0.1' } })
  })

  it('reads X-Forwarded-For from the right: what the client wrote on the left is not believed', async () => {
    // The client forged the left entry; the proxy appended the address it really saw.
    expect(await whoIs(gw.url, '/proxied', '203.0.113.66, 203.0.113.7')).toEqual({ status: 200, body: { clientIp: '203.0.113.7' } })
    expect((await whoIs(gw.url, '/proxied', '203.0.113.7, 198.51.100.1')).status).toBe(403)
    expect((await whoIs(gw.url, '/proxied', '203.0.113.66')).status).toBe(403)
  })

  it('skips every trusted hop, not just the socket', async () => {
    expect(await whoIs(gw.url, '/chain', '198.51.100.1, 203.0.113.7, 10.1.2.3, 127.0.0.1')).toEqual({ status: 200, body: { clientIp: '203.0.113.7' } })
    expect((await whoIs(gw.url, '/chain', '203.0.113.7, 198.51.100.1, 10.1.2.3')).status).toBe(403)
  })

  it('handles IPv6 and IPv4-mapped addresses from a proxy', async () => {
    expect(await whoIs(gw.url, '/proxied', '2001:DB8::5')).toEqual({ status: 200, body: { clientIp: '2001:db8::5' } })
    expect(await whoIs(gw.url, '/proxied', '[2001:db8::6]:4431')).toEqual({ status: 200, body: { clientIp: '2001:db8::6' } })
    expect((await whoIs(gw.url, '/proxied', '2001:db9::5')).status).toBe(403)
    expect((await whoIs(gw.url, '/proxied', '2001:db8::bad')).status).toBe(403)
    expect(await whoIs(gw.url, '/proxied', '::ffff:203.0.113.8')).toEqual({ status: 200, body: { clientIp: '203.0.113.8' } })
  })

  it('filters clients of a gateway listening on IPv6 loopback', async () => {
    expect(await whoIs(v6url, '')).toEqual({ status: 200, body: { clientIp: '::1' } })
    const client = new OpenAI({ baseURL: `${v6url}/v1`, apiKey: 'sk-test', maxRetries: 0 })
    expect((await client.models.list()).data.length).toBeGreaterThan(0)
    expect((await whoIs(v6url, '/denied')).status).toBe(403)
    expect((await whoIs(v6url, '/v4only')).status).toBe(403)
  })
})
