// Realtime API over WebSocket through the gateway, with a real `ws` client and the mock's /v1/realtime.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { errorResponse, type ForwardPlugin, type ForwardResult } from '../../src/index.ts'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { raw, until } from '../kernel/util.ts'
import { connect, ofType, Refused } from './ws-client.ts'

const MODEL = 'gpt-4o-realtime-preview'
const REAL_KEY = 'sk-real-upstream-key'

let mock: MockUpstream
let gw: TestGateway
const results: ForwardResult[] = []

/** Swaps the client's key for the real one, in the header and in the browser subprotocol. */
const keySwap: ForwardPlugin = {
  name: 'keySwap',
  beforeUpstream(ctx, attempt) {
    if (ctx.headers.authorization === 'Bearer sk-client') attempt.headers.authorization = `Bearer ${REAL_KEY}`
    const protocols = attempt.headers['sec-websocket-protocol']
    if (typeof protocols === 'string') attempt.headers['sec-websocket-protocol'] = protocols.replace('openai-insecure-api-key.sk-client', `openai-insecure-api-key.${REAL_KEY}`)
  },
}
/** Stands in for ipFilter: refuses one address from onRequest. */
const denyTagged: ForwardPlugin = {
  name: 'ipFilter',
  onRequest(ctx) {
    if (ctx.headers['x-test-deny'] === '1') return errorResponse(403, `IP ${ctx.clientIp} is not allowed`, 'permission_error', 'ip_forbidden')
  },
}
const recorder: ForwardPlugin = { name: 'recorder', onResponse: (_ctx, result) => void results.push(result) }

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      openai: { path: '/', target: mock.url, type: 'openai', plugins: [denyTagged, keySwap, recorder] },
      prefixed: { path: '/azure', target: mock.url, type: 'openai' },
      dead: { path: '/dead', target: 'http://127.0.0.1:1', type: 'openai' },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(async () => {
  // The previous test's session may still be closing; its summary must not land in this test's results.
  await until(() => gw.gateway.inFlight === 0)
  mock.reset()
  results.length = 0
})

const wsBase = () => gw.url.replace('http://', 'ws://')
const realtimeUrl = (prefix = '') => `${wsBase()}${prefix}/v1/realtime?model=${MODEL}`
const auth = (key = 'sk-test') => ({ headers: { authorization: `Bearer ${key}` } })

describe('messages both ways', () => {
  it('relays realtime JSON events: session.created, session.updated, a streamed text response', async () => {
    const s = await connect(realtimeUrl(), [], auth())
    const created = await s.next(ofType('session.created'))
    expect(created.binary).toBe(false)
    expect(created.json.session.model).toBe(MODEL)

    s.send({ type: 'session.update', session: { instructions: 'be brief', modalities: ['text'] } })
    const updated = await s.next(ofType('session.updated'))
    expect(updated.json.session.instructions).toBe('be brief')

    s.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi there' }] } })
    await s.next(ofType('conversation.item.created'))
    s.send({ type: 'response.create' })
    const done = await s.next(ofType('response.done'))
    const deltas = s.inbox.filter(ofType('response.text.delta')).map((m) => m.json.delta)
    expect(deltas.length).toBe(4)
    expect(deltas.join('')).toBe(expectedReply('hi there', { chunks: 4 }))
    expect(done.json.response.output[0].content[0].text).toBe(deltas.join(''))
    // Every frame the client sent arrived as text, in order.
    expect(mock.realtime[0].received.map((m) => [m.binary, JSON.parse(m.data.toString()).type])).toEqual([
      [false, 'session.update'], [false, 'conversation.item.create'], [false, 'response.create'],
    ])
    s.ws.close()
    await s.closed
  })

  it('keeps binary frames binary and byte-exact in both directions', async () => {
    const s = await connect(realtimeUrl(), [], auth())
    await s.next(ofType('session.created'))
    const audio = randomBytes(200_000)
    s.ws.send(audio)
    const echoed = await s.next((m) => m.binary)
    expect(echoed.data.equals(audio)).toBe(true)
    expect(mock.realtime[0].received[0].binary).toBe(true)
    expect(mock.realtime[0].received[0].data.equals(audio)).toBe(true)
    // A text frame that is not JSON stays a text frame too.
    s.ws.send('not json')
    const error = await s.next(ofType('error'))
    expect(error.binary).toBe(false)
    expect(mock.realtime[0].received[1]).toMatchObject({ binary: false })
    s.ws.close()
  })

  it('forwards under a route prefix, with the query string, stripping the prefix', async () => {
    const s = await connect(realtimeUrl('/azure'), [], auth())
    await s.next(ofType('session.created'))
    expect(mock.realtime[0].path).toBe(`/v1/realtime?model=${MODEL}`)
    s.ws.close()
  })
})

describe('closing', () => {
  it('passes the upstream close code and reason to the client', async () => {
    const s = await connect(realtimeUrl(), [], auth())
    await s.next(ofType('session.created'))
    s.send({ type: 'close', code: 4001, reason: 'bye' })
    expect(await s.closed).toEqual({ code: 4001, reason: 'bye' })
    expect(mock.realtime[0]).toMatchObject({ closedBy: 'mock', closeCode: 4001 })
  })

  it('passes the client close code and reason to the upstream', async () => {
    const s = await connect(realtimeUrl(), [], auth())
    await s.next(ofType('session.created'))
    s.ws.close(4002, 'client done')
    expect((await s.closed).code).toBe(4002)
    expect(await until(() => mock.realtime[0].closed)).toBe(true)
    expect(mock.realtime[0]).toMatchObject({ closedBy: 'client', closeCode: 4002, closeReason: 'client done' })
  })

  it('a client that disconnects without a close frame closes the upstream socket', async () => {
    const s = await connect(realtimeUrl(), [], auth())
    await s.next(ofType('session.created'))
    s.ws.terminate()
    // The session ends once both close handshakes have run: on a loaded machine that takes seconds.
    expect(await until(() => mock.realtime[0]?.closed === true, 8000)).toBe(true)
    expect(mock.realtime[0].closedBy).toBe('client')
    expect(await until(() => results.length === 1, 8000)).toBe(true)
    expect(results[0].outcome).toBe('aborted')
  })
})

describe('the route pipeline applies to the handshake', () => {
  // The keys plugin itself on the handshake (header and subprotocol swap, refusals) is tested in test/plugins/keys.test.ts.

  it('beforeUpstream swaps the Authorization key; the upstream sees only the real one', async () => {
    const s = await connect(realtimeUrl(), [], auth('sk-client'))
    await s.next(ofType('session.created'))
    expect(mock.realtime[0].apiKey).toBe(REAL_KEY)
    expect(mock.realtime[0].headers.authorization).toBe(`Bearer ${REAL_KEY}`)
    s.ws.close()
  })

  it('browser-style subprotocol auth: the key subprotocol is swapped, the client gets the upstream-picked protocol', async () => {
    const s = await connect(realtimeUrl(), ['realtime', 'openai-insecure-api-key.sk-client', 'openai-beta.realtime-v1'])
    await s.next(ofType('session.created'))
    expect(s.ws.protocol).toBe('realtime')
    expect(mock.realtime[0].apiKey).toBe(REAL_KEY)
    expect(mock.realtime[0].headers['sec-websocket-protocol'].split(/,\s*/)).toEqual(['realtime', `openai-insecure-api-key.${REAL_KEY}`, 'openai-beta.realtime-v1'])
    s.ws.close()
  })

  it('an onRequest refusal (ipFilter) fails the upgrade with its status and error body; nothing reaches the upstream', async () => {
    const error = await connect(realtimeUrl(), [], { headers: { authorization: 'Bearer sk-test', 'x-test-deny': '1' } }).catch((e) => e)
    expect(error).toBeInstanceOf(Refused)
    expect(error.status).toBe(403)
    expect(error.json().error).toMatchObject({ type: 'permission_error', code: 'ip_forbidden' })
    expect(mock.realtime).toHaveLength(0)
    expect(results[0]).toMatchObject({ status: 403, answeredBy: 'ipFilter', attempts: 0 })
  })

  it('an upstream that refuses the upgrade: the client gets its status, headers and body', async () => {
    const error = await connect(realtimeUrl(), [], auth('sk-ratelimited')).catch((e) => e)
    expect(error).toBeInstanceOf(Refused)
    expect(error.status).toBe(429)
    expect(error.headers['retry-after']).toBe('1')
    expect(error.json().error.code).toBe('rate_limit_exceeded')
    expect(results[0]).toMatchObject({ status: 429, outcome: 'error', attempts: 1 })
  })

  it('onResponse gets a summary when the session ends: 101, complete, timings', async () => {
    const s = await connect(realtimeUrl(), [], auth())
    await s.next(ofType('session.created'))
    s.ws.close(1000)
    await s.closed
    expect(await until(() => results.length === 1)).toBe(true)
    const [result] = results
    expect(result).toMatchObject({ status: 101, outcome: 'complete', attempts: 1, target: mock.url, stream: false })
    expect(result.timings.headersMs).toBeGreaterThan(0)
    expect(result.timings.firstByteMs).toBeGreaterThanOrEqual(result.timings.headersMs!)
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.firstByteMs!)
    expect(result.answer()).toBeUndefined()
    expect(result.usage()).toBeUndefined()
  })
})

describe('failures', () => {
  it('no route: 404 route_not_found', async () => {
    const gw2 = await startTestGateway({ routes: { only: { path: '/only', target: mock.url } } })
    try {
      const error = await connect(`${gw2.url.replace('http', 'ws')}/v1/realtime`, [], auth()).catch((e) => e)
      expect(error.status).toBe(404)
      expect(error.json().error.code).toBe('route_not_found')
    } finally {
      await gw2.stop()
    }
  })

  it('an unreachable upstream: 502 upstream_unreachable in OpenAI error shape', async () => {
    const error = await connect(realtimeUrl('/dead'), [], auth()).catch((e) => e)
    expect(error).toBeInstanceOf(Refused)
    expect(error.status).toBe(502)
    expect(error.json().error).toMatchObject({ code: 'upstream_unreachable', type: 'upstream_error', param: null })
  })

  it('a path that climbs above the root: 400', async () => {
    // Sent raw: a WebSocket client would resolve the dot segments itself.
    const res = await raw(gw.url, 'GET', '/v1/%2e%2e/%2e%2e/realtime', { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') } })
    expect(res.status).toBe(400)
    expect(res.json().error.code).toBe('invalid_path')
    expect(mock.realtime).toHaveLength(0)
  })
})

describe('shutdown', () => {
  it('closes open sessions with 1001 so the gateway can stop', async () => {
    const gw2 = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } } })
    const s = await connect(`${gw2.url.replace('http', 'ws')}/v1/realtime?model=${MODEL}`, [], auth())
    await s.next(ofType('session.created'))
    await gw2.stop()
    expect((await s.closed).code).toBe(1001)
    expect(await until(() => mock.realtime[0].closed)).toBe(true)
  })
})
