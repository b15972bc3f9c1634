// The kernel is an h3 app: forwarded requests, handlers, health checks and WebSocket handshakes all
// enter it; plugins reach the request's H3Event; a config mounts its own handlers and middleware.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { getQuery, getRequestHeader, HTTPError, setResponseHeader, type H3Event } from 'h3'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { definePlugin, type ForwardConfig, type ForwardPlugin } from '../../src/index.ts'
import { ipFilter, keys, rateLimit } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { connect, Refused } from '../e2e/ws-client.ts'
import { raw, sdk } from './util.ts'

let mock: MockUpstream
let gw: TestGateway
/** What the config's middleware saw, in order. */
const seen: string[] = []

const REAL_KEY = 'sk-real-upstream'
const FORWARD_KEY = 'fk-alice-0123456789'

/** A plugin written with h3's utilities on `ctx.event`. */
const tagTenant = definePlugin((): ForwardPlugin => ({
  name: 'tagTenant',
  onRequest(ctx) {
    const tenant = getQuery(ctx.event).tenant ?? getRequestHeader(ctx.event, 'x-tenant')
    if (tenant !== undefined) setResponseHeader(ctx.event, 'x-tenant-seen', String(tenant))
  },
}))

const gatekeepers = () => [
  ipFilter({ allow: ['127.0.0.1', '::1'] }),
  keys({ levels: { default: { models: '*', keys: [REAL_KEY] } }, forwardKeys: { alice: { key: FORWARD_KEY, level: 'default' } } }),
]

function config(extra: Partial<ForwardConfig> = {}): ForwardConfig {
  return {
    routes: {
      openai: { path: '/', target: mock.url, plugins: [tagTenant(), ...gatekeepers()] },
      open: { path: '/open', target: mock.url },
    },
    middleware: [
      (event: H3Event) => {
        seen.push(`${event.req.method} ${event.url.pathname}`)
        if (event.url.pathname === '/blocked') throw new HTTPError({ status: 403, message: 'blocked by the middleware' })
      },
    ],
    handlers: {
      whoami: {
        path: '/v1/whoami',
        method: 'GET',
        handler: (_event, ctx) => ({ caller: ctx.caller?.name ?? null, ip: ctx.clientIp }),
        plugins: [...gatekeepers(), rateLimit({ limit: '3/minute', scope: 'key' })],
      },
      hello: { path: '/hello/:name', handler: (event) => `hello ${event.context.params?.name}` },
    },
    ...extra,
  }
}

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway(config())
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => {
  seen.length = 0
  mock.reset()
})

describe('every request enters the h3 app', () => {
  it('a forwarded request passes the config middleware and a plugin reads and writes through ctx.event', async () => {
    const res = await raw(gw.url, 'GET', '/v1/models?tenant=acme', { headers: { authorization: `Bearer ${FORWARD_KEY}` } })
    expect(res.status).toBe(200)
    expect(res.json().data.length).toBeGreaterThan(0)
    expect(res.headers['x-tenant-seen']).toBe('acme')
    expect(seen).toEqual(['GET /v1/models'])
    // The upstream got the real key, and the query as sent.
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    expect(mock.requests.at(-1)?.path).toBe('/v1/models?tenant=acme')
  })

  it('the official SDK streams through it; the middleware sees the normalised path', async () => {
    const client = sdk(gw.url, { apiKey: FORWARD_KEY })
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toBe(expectedReply('hi'))
    const res = await raw(gw.url, 'GET', '/open//v1/./models', { headers: { authorization: 'Bearer sk-test' } })
    expect(res.status).toBe(200)
    expect(mock.requests.at(-1)?.path).toBe('/v1/models')
    expect(seen).toEqual(['POST /v1/chat/completions', 'GET /open/v1/models'])
  })

  it('a middleware can answer before routing: its error comes back in OpenAI shape', async () => {
    const res = await raw(gw.url, 'GET', '/blocked', {})
    expect(res.status).toBe(403)
    expect(res.json().error).toMatchObject({ message: 'blocked by the middleware', type: 'permission_error' })
    expect(mock.requests).toHaveLength(0)
  })

  it('health checks and 404s are h3 routes too', async () => {
    const strict = await startTestGateway({ routes: { only: { path: '/only', target: mock.url } }, middleware: [(event) => void seen.push(event.url.pathname)] })
    try {
      expect((await raw(strict.url, 'GET', '/healthz')).json().status).toBe('ok')
      const missing = await raw(strict.url, 'GET', '/elsewhere')
      expect(missing.status).toBe(404)
      expect(missing.json().error.code).toBe('route_not_found')
      expect(seen).toEqual(['/healthz', '/elsewhere'])
    } finally {
      await strict.stop()
    }
  })

  it('a WebSocket handshake enters the app: a middleware refusal reaches the client as an HTTP answer', async () => {
    const url = gw.url.replace('http', 'ws')
    const error = await connect(`${url}/blocked`).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(Refused)
    expect((error as Refused).status).toBe(403)
    expect(seen).toEqual(['GET /blocked'])
  })
})

describe('handlers of the config', () => {
  it('answer next to the forwarded routes, guarded by keys and ipFilter', async () => {
    const anonymous = await raw(gw.url, 'GET', '/v1/whoami')
    expect(anonymous.status).toBe(401)
    expect(anonymous.json().error.code).toBe('missing_api_key')
    const alice = await raw(gw.url, 'GET', '/v1/whoami', { headers: { authorization: `Bearer ${FORWARD_KEY}` } })
    expect(alice.status).toBe(200)
    expect(alice.json()).toEqual({ caller: 'alice', ip: '127.0.0.1' })
    // Answered by the handler, not forwarded, although `/` forwards everything else.
    expect(mock.requests).toHaveLength(0)
  })

  it('rateLimit counts on a handler and its headers reach the client', async () => {
    const headers = { authorization: `Bearer ${FORWARD_KEY}` }
    const statuses: number[] = []
    let last
    for (let i = 0; i < 4; i++) {
      last = await raw(gw.url, 'GET', '/v1/whoami', { headers })
      statuses.push(last.status)
    }
    // One request of the earlier test counted already.
    expect(statuses).toEqual([200, 200, 429, 429])
    expect(last!.json().error.type).toBe('rate_limit_error')
  })

  it('take h3 route params; a method they do not take falls through to the forwarded route', async () => {
    expect((await raw(gw.url, 'GET', '/hello/world')).text).toBe('hello world')
    const post = await raw(gw.url, 'POST', '/v1/whoami', { headers: { authorization: `Bearer ${FORWARD_KEY}`, 'content-type': 'application/json' }, body: '{}' })
    expect(mock.requests.at(-1)?.path).toBe('/v1/whoami')
    expect(post.status).not.toBe(405)
  })
})
