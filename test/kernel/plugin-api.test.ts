// The plugin API, through small plugins written inline exactly as a user would write them.
import { createHash } from 'node:crypto'
import { Readable, Transform } from 'node:stream'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { definePlugin, errorResponse, jsonResponse, requestSlot, type ForwardConfig, type ForwardContext, type ForwardPlugin, type ForwardResult, type PluginStorage } from '../../src/index.ts'
import { captureLogger } from '../helpers/capture-logger.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { freePort } from '../helpers/redis.ts'
import { KEY, chat, expectOpenAIError, lastRecord, sdk, sseData, until } from './util.ts'

let mock: MockUpstream
let other: MockUpstream
const running: TestGateway[] = []

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  other = await startMockUpstream({ port: 0 })
})
afterAll(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()))
  await mock?.close()
  await other?.close()
})
beforeEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()))
  mock.reset()
  other.reset()
})

/** A gateway with one route "/" → mock, with these route plugins (and global ones). */
async function gateway(plugins: ForwardPlugin[], extra: ForwardConfig = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, plugins } }, ...extra })
  running.push(gw)
  return gw
}

/** A plugin that keeps every ForwardResult its onResponse sees. */
function recorder(name = 'recorder'): ForwardPlugin & { results: ForwardResult[] } {
  const results: ForwardResult[] = []
  return { name, results, onResponse: (_ctx, result) => void results.push(result) }
}

const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } } }]

describe('onRequest', () => {
  it('an early answer skips the upstream and later hooks, yet every onResponse runs', async () => {
    const calls: string[] = []
    const deny = definePlugin((options: { status: number }) => ({
      name: 'deny',
      onRequest: (ctx) => {
        calls.push('deny.onRequest')
        return ctx.headers.authorization === 'Bearer let-me-in' ? undefined : errorResponse(options.status, 'No key for you', 'authentication_error', 'invalid_api_key')
      },
      onResponse: (_ctx, result) => void calls.push(`deny.onResponse:${result.status}:${result.answeredBy}:${result.attempts}`),
    }))
    const after: ForwardPlugin = {
      name: 'after',
      onRequest: () => void calls.push('after.onRequest'),
      beforeUpstream: () => void calls.push('after.beforeUpstream'),
      onResponse: (_ctx, result) => void calls.push(`after.onResponse:${result.outcome}`),
    }
    const gw = await gateway([deny({ status: 401 }), after])
    const failure = await sdk(gw.url).chat.completions.create(chat('hi')).catch((e) => e)
    expect(failure).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(failure.code).toBe('invalid_api_key')
    expect(failure.message).toContain('No key for you')
    expect(mock.requests).toHaveLength(0)
    expect(await until(() => calls.length === 3)).toBe(true)
    expect(calls).toEqual(['deny.onRequest', 'deny.onResponse:401:deny:0', 'after.onResponse:complete'])

    // The same chain lets a good request through, and then every hook runs.
    calls.length = 0
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'let-me-in', maxRetries: 0 })
    await client.chat.completions.create(chat('hi'))
    expect(await until(() => calls.length === 5)).toBe(true)
    expect(calls).toEqual(['deny.onRequest', 'after.onRequest', 'after.beforeUpstream', 'deny.onResponse:200:undefined:1', 'after.onResponse:complete'])
  })

  it('hooks run in chain order, global plugins first', async () => {
    const order: string[] = []
    const tracer = (name: string): ForwardPlugin => ({
      name,
      onRequest: () => void order.push(`${name}.onRequest`),
      beforeUpstream: () => void order.push(`${name}.beforeUpstream`),
      afterUpstream: () => void order.push(`${name}.afterUpstream`),
      onResponse: () => void order.push(`${name}.onResponse`),
    })
    const gw = await gateway([tracer('route1'), tracer('route2')], { plugins: [tracer('global')] })
    await sdk(gw.url).chat.completions.create(chat('order'))
    expect(await until(() => order.length === 12)).toBe(true)
    const phase = (p: string) => order.filter((o) => o.endsWith(p))
    for (const p of ['.onRequest', '.beforeUpstream', '.afterUpstream', '.onResponse']) {
      expect(phase(p)).toEqual([`global${p}`, `route1${p}`, `route2${p}`])
    }
    expect(order.indexOf('route2.onRequest')).toBeLessThan(order.indexOf('global.beforeUpstream'))
  })

  it('ctx.responseHeaders reach the client, on upstream answers and on early answers', async () => {
    const tag: ForwardPlugin = {
      name: 'tag',
      onRequest(ctx) {
        ctx.responseHeaders['x-gateway-tag'] = 'tagged'
        ctx.responseHeaders['x-request-id'] = 'overridden-by-plugin'
        if (ctx.url.endsWith('/early')) return jsonResponse(200, { early: true })
      },
    }
    const gw = await gateway([tag])
    const { response } = await sdk(gw.url).chat.completions.create(chat('hi')).withResponse()
    expect(response.headers.get('x-gateway-tag')).toBe('tagged')
    expect(response.headers.get('x-request-id')).toBe('overridden-by-plugin')
    const early = await fetch(`${gw.url}/early`)
    expect(early.headers.get('x-gateway-tag')).toBe('tagged')
    expect(await early.json()).toEqual({ early: true })
  })
})

describe('changing the outgoing request', () => {
  it('beforeUpstream can change headers and the target', async () => {
    const reroute: ForwardPlugin = {
      name: 'reroute',
      beforeUpstream(_ctx, attempt) {
        attempt.headers['x-added'] = 'yes'
        attempt.headers.authorization = 'Bearer sk-swapped'
        delete attempt.headers['x-remove-me']
        attempt.target = other.url
      },
    }
    const gw = await gateway([reroute])
    await sdk(gw.url).chat.completions.create(chat('reroute'), { headers: { 'x-remove-me': '1' } })
    expect(mock.requests).toHaveLength(0)
    const rec = lastRecord(other)
    expect(rec.path).toBe('/v1/chat/completions')
    expect(rec.headers['x-added']).toBe('yes')
    expect(rec.headers['x-remove-me']).toBeUndefined()
    expect(rec.apiKey).toBe('sk-swapped')
  })

  it('setField adds a field to the bytes the client sent (its formatting kept) and re-serialises only to change a field it sent', async () => {
    const adder: ForwardPlugin = {
      name: 'adder',
      async onRequest(ctx) {
        const body = await ctx.json()
        ctx.setField('user', 'added')
        ctx.setField('metadata', { from: 'plugin', n: 1 })
        ctx.setField('ignored', undefined)
        if (body.replace) ctx.setField('model', 'gpt-4o')
      },
    }
    const gw = await gateway([adder])
    const send = (text: string) => fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: text })

    // Odd spacing and a number spelt 1.50: kept byte for byte, the fields go before the closing brace.
    const original = '{ "model" : "gpt-4o-mini",\n  "messages": [{"role":"user","content":"héllo }"}], "temperature": 1.50 }\n'
    expect((await send(original)).status).toBe(200)
    const sent = lastRecord(mock).body.toString()
    expect(sent).toBe(`${original.trimEnd().slice(0, -1)},"user":"added","metadata":{"from":"plugin","n":1}}\n`)
    expect(Number(lastRecord(mock).headers['content-length'])).toBe(Buffer.byteLength(sent))

    expect((await send('{}')).status).toBeGreaterThanOrEqual(400) // the mock refuses a chat without messages…
    expect(JSON.parse(lastRecord(mock).body.toString())).toEqual({ user: 'added', metadata: { from: 'plugin', n: 1 } }) // …but got valid JSON

    // Changing a field the client sent: its old value is in the bytes, so the body is re-serialised.
    expect((await send(JSON.stringify({ ...chat('swap'), replace: true }))).status).toBe(200)
    expect(JSON.parse(lastRecord(mock).body.toString())).toEqual({ ...chat('swap'), replace: true, model: 'gpt-4o', user: 'added', metadata: { from: 'plugin', n: 1 } })
  })

  it('setJson changes the body the upstream receives; the body is parsed once for every plugin', async () => {
    const seen: unknown[] = []
    const first: ForwardPlugin = {
      name: 'first',
      async onRequest(ctx) {
        const body = await ctx.json()
        seen.push(body)
        body.model = 'gpt-4o'
        body.max_tokens = 3
        ctx.setJson(body)
      },
    }
    const second: ForwardPlugin = {
      name: 'second',
      async onRequest(ctx) {
        const body = await ctx.json()
        seen.push(body)
        seen.push(await ctx.json())
      },
    }
    const gw = await gateway([first, second])
    const completion = await sdk(gw.url).chat.completions.create(chat('rewrite me please now'))
    expect(seen).toHaveLength(3)
    expect(seen[1]).toBe(seen[0])
    expect(seen[2]).toBe(seen[0])
    const sent = JSON.parse(lastRecord(mock).body.toString())
    expect(sent).toMatchObject({ model: 'gpt-4o', max_tokens: 3 })
    expect(Number(lastRecord(mock).headers['content-length'])).toBe(lastRecord(mock).body.length)
    expect(completion.choices[0].finish_reason).toBe('length')
    expect(completion.model).toBe('gpt-4o')
  })

  it('a body no plugin reads reaches the upstream byte for byte, also on a retrying route', async () => {
    const odd = '{ "model" :"gpt-4o-mini",\n  "messages": [ {"content":"caf\\u00e9 ☕", "role":"user"} ] ,"z":1.50 }'
    const passive: ForwardPlugin = { name: 'passive', onRequest: () => {}, beforeUpstream: () => {} }
    const wrapper: ForwardPlugin = { name: 'wrapper', wrapUpstream: (_ctx, next) => next() }
    for (const plugins of [[passive], [passive, wrapper]]) {
      mock.reset()
      const gw = await gateway(plugins)
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: odd })
      expect(res.status).toBe(200)
      expect(lastRecord(mock).bodySha256).toBe(createHash('sha256').update(odd).digest('hex'))
    }
  })

  it('wrapUpstream calling next() twice re-sends the same JSON body', async () => {
    const retry: ForwardPlugin = {
      name: 'retry-once',
      async wrapUpstream(_ctx, next) {
        const first = await next()
        if (first.status < 500) return first
        first.body.resume()
        return next()
      },
    }
    const setter: ForwardPlugin = {
      name: 'setter',
      async onRequest(ctx) {
        const body = await ctx.json()
        ctx.setJson({ ...body, user: 'added-by-plugin' })
      },
    }
    const gw = await gateway([retry, setter])
    const completion = await sdk(gw.url).chat.completions.create(chat('retry me'), { headers: { 'x-mock-fail-times': '1', 'x-mock-fail-key': 'wrap-twice' } })
    expect(completion.choices[0].message.content).toBe(expectedReply('retry me'))
    expect(mock.requests.map((r) => r.status)).toEqual([503, 200])
    const [a, b] = mock.requests
    expect(a.bodySha256).toBe(b.bodySha256)
    expect(JSON.parse(b.body.toString())).toEqual({ ...chat('retry me'), user: 'added-by-plugin' })
  })
})

describe('requestSlot', () => {
  it('carries a value from onRequest to onResponse per request, apart from other slots and from string state', async () => {
    const a = requestSlot<string>('same name')
    const b = requestSlot<string>('same name')
    const seen: Array<[string | undefined, string | undefined, boolean, string[]]> = []
    const plugin: ForwardPlugin = {
      name: 'slots',
      async onRequest(ctx) {
        const body = await ctx.json()
        a.set(ctx, body.messages[0].content)
        b.set(ctx, 'other')
        ctx.state.visible = 1
      },
      onResponse(ctx) {
        seen.push([a.get(ctx), b.get(ctx), a.has(ctx), Object.keys(ctx.state)])
      },
    }
    const gw = await gateway([plugin])
    const client = sdk(gw.url)
    await Promise.all(['one', 'two', 'three'].map((text) => client.chat.completions.create(chat(text))))
    await until(() => seen.length === 3)
    expect(seen.map(([value]) => value).sort()).toEqual(['one', 'three', 'two'])
    expect(seen.every(([, other, has, keys]) => other === 'other' && has && keys.join() === 'visible')).toBe(true)
  })
})

describe('a hook that throws', () => {
  it('is a 500 internal_error for that request (not blamed on the upstream), and the gateway keeps serving', async () => {
    const buggy: ForwardPlugin = {
      name: 'buggy',
      async onRequest(ctx) {
        const body = await ctx.json()
        if (body?.explode) (null as unknown as { role: string }).role
      },
    }
    const gw = await gateway([buggy])
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], explode: true }),
    })
    expect(res.status).toBe(500)
    const body = await res.json()
    expectOpenAIError(body)
    expect(body.error.code).toBe('internal_error')
    expect(body.error.message).not.toMatch(/role|null/)
    expect(mock.requests).toHaveLength(0)
    const after = await sdk(gw.url).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'fine' }] })
    expect(after.choices[0].message.content).toBe(expectedReply('fine'))
  })
})

describe('a client that leaves while hooks run', () => {
  it('a client gone during a slow afterUpstream hook ends the request quietly; the gateway keeps serving', async () => {
    const rec = recorder()
    const slow: ForwardPlugin = { name: 'slow', afterUpstream: () => new Promise((r) => setTimeout(r, 300)) }
    const gw = await gateway([slow, rec])
    const controller = new AbortController()
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      // The upstream is still streaming when the client leaves, so its body is cut while the hook runs.
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-chunk-delay-ms': '50' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'leaving' }], stream: true }),
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 100)
    await expect(pending).rejects.toThrow()
    await until(() => rec.results.length === 1)
    expect(rec.results[0].outcome).toBe('aborted')
    const after = await sdk(gw.url).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'still here' }] })
    expect(after.choices[0].message.content).toBe(expectedReply('still here'))
  })
})

describe('the upstream body', () => {
  const streamed = (chunks: number) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-chunks': String(chunks) },
    body: JSON.stringify(chat('a long answer', { stream: true })),
  })

  it('a body that arrives while a slow hook runs is held back, then reaches the client whole and in order', async () => {
    const slow: ForwardPlugin = { name: 'slow', afterUpstream: () => new Promise((r) => setTimeout(r, 300)) }
    const gw = await gateway([slow])
    // Far more than the gateway holds before it stops reading the upstream (64 KB).
    const direct = await (await fetch(`${mock.url}/v1/chat/completions`, streamed(3000))).text()
    expect(direct.length).toBeGreaterThan(200_000)
    const text = await (await fetch(`${gw.url}/v1/chat/completions`, streamed(3000))).text()
    const contents = (body: string) => sseData(body).filter((d) => d !== '[DONE]').map((d) => d.choices[0]?.delta?.content ?? '')
    expect(contents(text)).toEqual(contents(direct))
    expect(sseData(text).at(-1)).toBe('[DONE]')
  })

  it('a hook can take response.body as a stream and send another in its place', async () => {
    const upper: ForwardPlugin = {
      name: 'upper',
      afterUpstream(_ctx, response) {
        delete response.headers['content-length']
        response.body = response.body.pipe(new Transform({ transform: (chunk, _enc, done) => done(null, String(chunk).toUpperCase()) }))
      },
    }
    const gw = await gateway([upper])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('quiet words')) })
    const text = await res.text()
    expect(text).toContain(`"CONTENT":"${expectedReply('quiet words').toUpperCase()}"`)
    expect(text).toBe(text.toUpperCase())
  })

  it('mapBody maps the body chunk by chunk: the client, onChunk and onResponse see the mapped body', async () => {
    const seen: string[] = []
    const upper: ForwardPlugin = {
      name: 'upper',
      afterUpstream(_ctx, response) {
        delete response.headers['content-length']
        response.mapBody!({ write: (chunk) => String(chunk).toUpperCase(), end: () => ': MAPPED\n\n' })
      },
      onChunk: (_ctx, event) => void seen.push(event.raw),
    }
    const rec = recorder()
    const gw = await gateway([upper, rec])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('loud words', { stream: true })) })
    const text = await res.text()
    expect(text).toContain(`"CONTENT":"${expectedReply('loud words').toUpperCase().split(' ')[0]}`)
    expect(text.endsWith('DATA: [DONE]\n\n: MAPPED\n\n')).toBe(true)
    expect(seen.join('')).toBe(text)
    await until(() => rec.results.length === 1)
    expect(rec.results[0].text()).toBe(text)
  })

  it('a body mapped with mapBody and then read as a stream by an outer hook is the mapped body', async () => {
    const reader: ForwardPlugin = {
      name: 'reader',
      async wrapUpstream(_ctx, call) {
        const response = await call()
        let text = ''
        for await (const chunk of response.body) text += chunk
        return { ...response, headers: { 'content-type': 'application/json' }, body: Readable.from([JSON.stringify({ read: text })]) }
      },
    }
    const mapper: ForwardPlugin = { name: 'mapper', afterUpstream: (_ctx, response) => response.mapBody!({ write: () => undefined, end: () => '"whole"' }) }
    const gw = await gateway([reader, mapper])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('x')) })
    expect(await res.json()).toEqual({ read: '"whole"' })
  })

  it('a map that throws breaks the body like an upstream failure: a stream ends with the error event', async () => {
    const broken: ForwardPlugin = {
      name: 'broken',
      afterUpstream(_ctx, response) {
        let n = 0
        response.mapBody!({ write: (chunk) => { if (++n > 1) throw new Error('map failed'); return chunk }, end: () => undefined })
      },
    }
    const gw = await gateway([broken])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-chunk-delay-ms': '2' }, body: JSON.stringify(chat('x', { stream: true })) })
    const events = sseData(await res.text())
    expect(events.at(-1).error.type).toBe('upstream_error')
  })

  it("a map's fail() writes its own last event before the gateway's error event when the upstream breaks", async () => {
    const mapped: ForwardPlugin = {
      name: 'mapped',
      afterUpstream: (_ctx, response) => response.mapBody!({ write: (chunk) => chunk, end: () => undefined, fail: (error) => `event: error\ndata: ${JSON.stringify({ broke: error.message.length > 0 })}\n\n` }),
    }
    const gw = await gateway([mapped])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-break-after': '3', 'x-mock-chunk-delay-ms': '2' }, body: JSON.stringify(chat('x', { stream: true })) })
    const text = await res.text()
    const events = text.trim().split(/\n\n+/)
    expect(events.at(-2)).toBe('event: error\ndata: {"broke":true}')
    expect(JSON.parse(events.at(-1)!.slice(6)).error.type).toBe('upstream_error')
  })

  it('beforeUpstream can send another body (attempt.body): content-length follows, later hooks still see the client body', async () => {
    const bodies: unknown[] = []
    const rewrite: ForwardPlugin = {
      name: 'rewrite',
      async onRequest(ctx) {
        await ctx.json()
      },
      async beforeUpstream(ctx, attempt) {
        const body = await ctx.json()
        attempt.body = JSON.stringify({ ...body, messages: [{ role: 'user', content: 'rewritten ✓' }] })
      },
      onResponse: (_ctx, result) => void bodies.push(result.request),
    }
    const gw = await gateway([rewrite])
    const answer = await sdk(gw.url).chat.completions.create(chat('original'))
    expect(answer.choices[0].message.content).toBe(expectedReply('rewritten ✓'))
    const record = lastRecord(mock)
    expect(record.headers['content-length']).toBe(String(record.body.length))
    await until(() => bodies.length === 1)
    expect(bodies[0]).toMatchObject({ messages: [{ role: 'user', content: 'original' }] })
  })

  it('a hook that reads the body itself and answers with its own response frees the upstream connection', async () => {
    const peek: ForwardPlugin = {
      name: 'peek',
      async wrapUpstream(_ctx, call) {
        const response = await call()
        let text = ''
        for await (const chunk of response.body) text += chunk
        return { ...response, headers: { 'content-type': 'application/json' }, body: Readable.from([JSON.stringify({ peeked: JSON.parse(text).object })]) }
      },
    }
    const gw = await gateway([peek])
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat(`peek ${i}`)) })
      expect(await res.json()).toEqual({ peeked: 'chat.completion' })
    }
  })
})

describe('the response stream', () => {
  it('onChunk can drop and replace SSE events', async () => {
    const shout: ForwardPlugin = {
      name: 'shout',
      onChunk(_ctx, event) {
        const data = event.json()
        if (!data) return
        const delta = data.choices?.[0]?.delta
        if (delta?.role) return false
        if (typeof delta?.content === 'string') {
          const loud = { ...data, choices: [{ ...data.choices[0], delta: { ...delta, content: delta.content.toUpperCase() } }] }
          return `data: ${JSON.stringify(loud)}\n\n`
        }
      },
    }
    const gw = await gateway([shout])
    const stream = await sdk(gw.url).chat.completions.create(chat('make it loud', { stream: true }), { headers: { 'x-mock-chunks': '6' } })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.some((c) => c.choices[0]?.delta?.role)).toBe(false)
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(expectedReply('make it loud', { chunks: 6 }).toUpperCase())
    // 6 content deltas and the finish delta; the role delta was dropped.
    expect(chunks).toHaveLength(7)
  })

  it('events still reach the client as they come when an onChunk hook reads them', async () => {
    const seen: string[] = []
    const gw = await gateway([{ name: 'watch', onChunk: (_ctx, event) => void seen.push(event.data) }])
    const stream = await sdk(gw.url).chat.completions.create(chat('one by one', { stream: true }), { headers: { 'x-mock-chunks': '10', 'x-mock-chunk-delay-ms': '50' } })
    let firstAt = 0
    let upstreamDoneAtFirst: boolean | undefined
    for await (const _chunk of stream) {
      if (firstAt) continue
      firstAt = Date.now()
      upstreamDoneAtFirst = lastRecord(mock).completed
    }
    expect(upstreamDoneAtFirst).toBe(false)
    // 10 chunks 50 ms apart: held back by the tap, they would all arrive at the end.
    expect(Date.now() - firstAt).toBeGreaterThan(250)
    expect(seen.at(-1)).toBe('[DONE]')
  })

  it('an onChunk hook that throws is logged once per request; its events pass unchanged and the gateway keeps serving', async () => {
    const { log, entries } = captureLogger()
    const faulty: ForwardPlugin = { name: 'faulty', onChunk: (_ctx, event) => void (event.json() as { nope: { deeper: 1 } }).nope.deeper }
    const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, plugins: [faulty] } } }, { log })
    running.push(gw)
    const client = sdk(gw.url)
    for (const text of ['first stream', 'second stream']) {
      let content = ''
      for await (const chunk of await client.chat.completions.create(chat(text, { stream: true }), { headers: { 'x-mock-chunks': '5' } })) content += chunk.choices[0]?.delta?.content ?? ''
      expect(content).toBe(expectedReply(text, { chunks: 5 }))
    }
    const reports = entries.filter((e) => e.type === 'error' && e.text.includes('plugin faulty onChunk failed'))
    expect(reports).toHaveLength(2)
  })

  it('transformStream inserts a Transform between the upstream and the client', async () => {
    const decorate: ForwardPlugin = {
      name: 'decorate',
      transformStream(_ctx, head) {
        if (!String(head.headers['content-type']).startsWith('text/event-stream')) {
          // Pad JSON with trailing spaces: the length changes, so content-length must not be forwarded.
          return new Transform({ transform: (c, _e, cb) => cb(null, c), flush: (cb) => cb(null, '    ') })
        }
        let first = true
        return new Transform({
          transform(chunk, _e, cb) {
            const out = first ? Buffer.concat([Buffer.from(': decorated\n\n'), chunk]) : chunk
            first = false
            cb(null, out)
          },
        })
      },
    }
    const gw = await gateway([decorate])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('hi', { stream: true })) })
    const text = await res.text()
    expect(text.startsWith(': decorated\n\n')).toBe(true)
    expect(sseData(text).at(-1)).toBe('[DONE]')

    const json = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('hi')) })
    const body = await json.text()
    expect(body.endsWith('}    ')).toBe(true)
    expect(JSON.parse(body).choices[0].message.content).toBe(expectedReply('hi'))
    // The SDK reads the padded JSON fine too.
    const completion = await sdk(gw.url).chat.completions.create(chat('hi'))
    expect(completion.choices[0].message.content).toBe(expectedReply('hi'))
  })
})

describe('onResponse results', () => {
  it('assembles a JSON answer with the upstream usage', async () => {
    const rec = recorder()
    const gw = await gateway([rec])
    const completion = await sdk(gw.url).chat.completions.create(chat('json answer'))
    expect(await until(() => rec.results.length === 1)).toBe(true)
    const result = rec.results[0]
    expect(result.outcome).toBe('complete')
    expect(result.status).toBe(200)
    expect(result.stream).toBe(false)
    expect(result.attempts).toBe(1)
    const answer = result.answer()!
    expect(answer.choices[0].content).toBe(expectedReply('json answer'))
    expect(answer.id).toBe(completion.id)
    expect(result.usage()).toEqual({
      promptTokens: completion.usage!.prompt_tokens, completionTokens: completion.usage!.completion_tokens, totalTokens: completion.usage!.total_tokens, estimated: false,
    })
  })

  it('assembles a stream: content of n=2 choices and tool calls from deltas, usage from include_usage', async () => {
    const rec = recorder()
    const gw = await gateway([rec])
    const client = sdk(gw.url)
    const stream = await client.chat.completions.create(chat('Paris', { stream: true, n: 2, tools, stream_options: { include_usage: true } }), { headers: { 'x-mock-chunks': '5' } })
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) usage = chunk.usage ?? usage
    const json = await client.chat.completions.create(chat('Paris', { n: 2, tools }), { headers: { 'x-mock-chunks': '5' } })
    expect(await until(() => rec.results.length === 2)).toBe(true)
    const result = rec.results[0]
    expect(result.stream).toBe(true)
    const answer = result.answer()!
    expect(answer.choices).toHaveLength(2)
    for (const i of [0, 1]) {
      const call = answer.choices[i].toolCalls[0]
      const expected = (json.choices[i].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall)
      expect(call.function.name).toBe('get_weather')
      expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', days: 42 })
      expect(call.function.arguments).toBe(expected.function.arguments)
      expect(call.id).toBe(expected.id)
      expect(answer.choices[i].finishReason).toBe('tool_calls')
    }
    expect(result.usage()).toEqual({ promptTokens: usage!.prompt_tokens, completionTokens: usage!.completion_tokens, totalTokens: usage!.total_tokens, estimated: false })
  })

  it('assembles streamed text of n=2 choices, and estimates usage when the upstream sends none', async () => {
    // Estimating needs the request; a usage plugin reads it in onRequest (the kernel keeps no copy of a body nobody read).
    const rec = Object.assign(recorder(), { onRequest: async (ctx: ForwardContext) => void (await ctx.json()) })
    const gw = await gateway([rec])
    const stream = await sdk(gw.url).chat.completions.create(chat('two choices', { stream: true, n: 2 }), { headers: { 'x-mock-chunks': '4' } })
    for await (const _ of stream);
    expect(await until(() => rec.results.length === 1)).toBe(true)
    const answer = rec.results[0].answer()!
    expect(answer.choices.map((c) => c.content)).toEqual([
      expectedReply('two choices', { chunks: 4 }),
      expectedReply('two choices', { chunks: 4, choiceIndex: 1 }),
    ])
    expect(answer.usage).toBeUndefined()
    const usage = rec.results[0].usage()!
    expect(usage.estimated).toBe(true)
    expect(usage.promptTokens).toBeGreaterThan(0)
    expect(usage.completionTokens).toBeGreaterThan(5)
    expect(usage.totalTokens).toBe(usage.promptTokens + usage.completionTokens)
  })

  it("outcome is 'aborted' when the client goes away mid-stream", async () => {
    const rec = recorder()
    const gw = await gateway([rec])
    const controller = new AbortController()
    const stream = await sdk(gw.url).chat.completions.create(chat('abort', { stream: true }), { headers: { 'x-mock-chunks': '40', 'x-mock-chunk-delay-ms': '40' }, signal: controller.signal })
    let n = 0
    await (async () => {
      for await (const _ of stream) if (++n === 2) controller.abort()
    })().catch(() => {})
    expect(await until(() => rec.results.length === 1)).toBe(true)
    expect(rec.results[0].outcome).toBe('aborted')
    expect(await until(() => lastRecord(mock).aborted)).toBe(true)
  })

  it("outcome is 'error' when the upstream breaks mid-stream; the client gets an error event", async () => {
    const rec = recorder()
    const gw = await gateway([rec])
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-mock-break-after': '4' }, body: JSON.stringify(chat('break', { stream: true })) })
    const events = sseData(await res.text())
    expect(events).toHaveLength(5)
    expectOpenAIError(events.at(-1))
    expect(await until(() => rec.results.length === 1)).toBe(true)
    expect(rec.results[0].outcome).toBe('error')
    expect(rec.results[0].error).toBeInstanceOf(Error)
    // What did arrive is still assembled.
    expect(rec.results[0].answer()!.choices[0].content.length).toBeGreaterThan(0)
  })

  it('a throwing onResponse hook does not affect the client or later hooks', async () => {
    const rec = recorder('after-throwers')
    const throwsSync: ForwardPlugin = { name: 'throws-sync', onResponse: () => { throw new Error('sync boom') } }
    const throwsAsync: ForwardPlugin = { name: 'throws-async', onResponse: async () => { throw new Error('async boom') } }
    const gw = await gateway([throwsSync, throwsAsync, rec])
    for (const stream of [false, true]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify(chat('boom', { stream })) })
      expect(res.status).toBe(200)
      const text = await res.text()
      if (stream) expect(sseData(text).at(-1)).toBe('[DONE]')
      else expect(JSON.parse(text).choices[0].message.content).toBe(expectedReply('boom'))
    }
    expect(await until(() => rec.results.length === 2)).toBe(true)
    expect(rec.results.map((r) => r.outcome)).toEqual(['complete', 'complete'])
  })
})

describe('onResponse under load', () => {
  it('every exchange of a busy moment gets each of its route\'s hooks once, in chain order', async () => {
    const seen = new Map<string, string[]>()
    const note = (name: string): ForwardPlugin => ({
      name,
      onResponse: (ctx) => {
        const id = String(ctx.headers['x-test-id'])
        seen.set(id, [...(seen.get(id) ?? []), name])
      },
    })
    const gw = await startTestGateway({
      plugins: [note('global')],
      routes: {
        one: { path: '/one', target: mock.url, plugins: [note('a'), note('b'), note('c')] },
        two: { path: '/two', target: mock.url, plugins: [note('x')] },
      },
    })
    running.push(gw)
    // Many exchanges end in the same turns of the event loop, on two routes with chains of different lengths.
    const sent = Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, route: i % 3 === 0 ? 'two' : 'one', stream: i % 2 === 0 }))
    await Promise.all(sent.map(async ({ id, route, stream }) => {
      const res = await fetch(`${gw.url}/${route}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-test-id': id }, body: JSON.stringify(chat(id, { stream })) })
      expect(res.status).toBe(200)
      await res.text()
    }))
    expect(await until(() => [...seen.values()].reduce((n, hooks) => n + hooks.length, 0) === 20 * 2 + 40 * 4)).toBe(true)
    for (const { id, route } of sent) expect(seen.get(id)).toEqual(route === 'two' ? ['global', 'x'] : ['global', 'a', 'b', 'c'])
  })
})

describe('onError and setup', () => {
  it('onError sees the failure and can replace the error response', async () => {
    const port = await freePort()
    const errors: Array<{ name: string; code: unknown; status: unknown }> = []
    const fallback: ForwardPlugin = {
      name: 'fallback',
      onError(ctx: ForwardContext, error) {
        errors.push({ name: error.name, code: (error as any).code, status: (error as any).status })
        if (ctx.headers['x-fallback'] === '1') return jsonResponse(503, { error: { message: 'Try later', type: 'api_error', param: null, code: 'custom_fallback' } }, { 'retry-after': '3' })
      },
    }
    const gw = await startTestGateway({ routes: { down: { path: '/', target: `http://127.0.0.1:${port}`, plugins: [fallback] } } })
    running.push(gw)
    const replaced = await fetch(`${gw.url}/v1/models`, { headers: { 'x-fallback': '1' } })
    expect(replaced.status).toBe(503)
    expect(replaced.headers.get('retry-after')).toBe('3')
    expect(expectOpenAIError(await replaced.json()).code).toBe('custom_fallback')
    // Without a replacement the default error is sent.
    const plain = await fetch(`${gw.url}/v1/models`)
    expect(plain.status).toBe(502)
    expect(expectOpenAIError(await plain.json()).code).toBe('upstream_unreachable')
    expect(errors).toEqual([
      { name: 'ForwardError', code: 'upstream_unreachable', status: 502 },
      { name: 'ForwardError', code: 'upstream_unreachable', status: 502 },
    ])
  })

  it('setup receives the route and storage, and its disposer runs when the gateway closes', async () => {
    let storage: PluginStorage | undefined
    let routeName: string | undefined
    let disposed = 0
    const stateful = definePlugin(() => ({
      name: 'stateful',
      async setup(ctx) {
        storage = ctx.storage
        routeName = ctx.route?.name
        await ctx.storage.set('started', true)
        return () => void disposed++
      },
      async onRequest(ctx) {
        ctx.responseHeaders['x-hits'] = String(await storage!.incr('hits', 1, 60_000))
      },
    }))
    const gw = await startTestGateway({ routes: { main: { path: '/', target: mock.url, plugins: [stateful()] } } })
    expect(routeName).toBe('main')
    expect(storage!.driver).toBe('memory')
    expect(await storage!.get('started')).toBe(true)
    const hits = []
    for (let i = 0; i < 3; i++) hits.push((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).headers.get('x-hits'))
    expect(hits).toEqual(['1', '2', '3'])
    expect(disposed).toBe(0)
    await gw.stop()
    expect(disposed).toBe(1)
  })
})
