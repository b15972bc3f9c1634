// The cache plugin on openai and general routes: hits and misses, stream ↔ JSON, keys, scoping,
// what is never stored, limits and options. Storage drivers: cache-storage.test.ts; single flight:
// cache-flight.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { APIError } from 'openai'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { ConfigError, type ForwardConfig, type ForwardPlugin, type ForwardResult, type RouteConfig } from '../../src/index.ts'
import { cache } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { KEY, assemble, chat, post, sdk, seen, sseData, until, who } from './cache-helpers.ts'

let mock: MockUpstream
const running: TestGateway[] = []

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
})
afterAll(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()))
  await mock?.close()
})
beforeEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()))
  mock.reset()
})

async function gateway(plugins: ForwardPlugin[], route: Partial<RouteConfig> = {}, extra: ForwardConfig = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, type: 'openai', plugins, ...route } }, ...extra })
  running.push(gw)
  return gw
}

const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } } }]

const sentBody = (i: number) => JSON.parse(seen(mock)[i].body.toString('utf8'))

describe('cache on an openai route', () => {
  it('stores a JSON answer on a miss and serves it on a hit; the upstream sees one request, without `caching`', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const first = await client.chat.completions.create({ ...chat('json please'), caching: true } as any).withResponse()
    const second = await client.chat.completions.create({ ...chat('json please'), caching: true } as any).withResponse()
    expect(first.response.headers.get('x-aifd-cache')).toBe('MISS')
    expect(second.response.headers.get('x-aifd-cache')).toBe('HIT')
    expect(second.response.headers.get('age')).toBe('0')
    expect(first.response.headers.get('age')).toBeNull()
    expect(second.data.choices[0].message.content).toBe(expectedReply('json please'))
    expect(second.data).toEqual(first.data)
    expect(seen(mock)).toHaveLength(1)
    expect(sentBody(0)).not.toHaveProperty('caching')
  })

  it('replays a streamed answer as the same stream, ending in [DONE]', async () => {
    const gw = await gateway([cache()])
    const body = { ...chat('stream please'), stream: true, caching: true }
    const first = await post(gw.url, '/v1/chat/completions', body)
    const firstText = await first.text()
    const second = await post(gw.url, '/v1/chat/completions', body)
    const secondText = await second.text()
    expect(first.headers.get('x-aifd-cache')).toBe('MISS')
    expect(second.headers.get('x-aifd-cache')).toBe('HIT')
    expect(second.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(secondText).toBe(firstText)
    expect(sseData(secondText).at(-1)).toBe('[DONE]')

    const viaSdk = await sdk(gw.url).chat.completions.create({ ...chat('stream please'), stream: true, caching: true } as any)
    const answer = await assemble(viaSdk as any)
    expect(answer.content).toBe(expectedReply('stream please'))
    expect(answer.finishReason).toBe('stop')
    expect(seen(mock)).toHaveLength(1)
  })

  it('bypasses requests without `caching: true` (default false) and with `caching: false`, and strips the field', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const noField = await client.chat.completions.create(chat('no field')).withResponse()
    const again = await client.chat.completions.create(chat('no field')).withResponse()
    const off = await client.chat.completions.create({ ...chat('no field'), caching: false } as any).withResponse()
    for (const r of [noField, again, off]) expect(r.response.headers.get('x-aifd-cache')).toBe('BYPASS')
    expect(seen(mock)).toHaveLength(3)
    expect(sentBody(2)).not.toHaveProperty('caching')
  })

  it('with default: true caches requests without the field, and `caching: false` still opts out', async () => {
    const gw = await gateway([cache({ default: true })])
    const client = sdk(gw.url)
    const first = await client.chat.completions.create(chat('default on')).withResponse()
    const second = await client.chat.completions.create(chat('default on')).withResponse()
    const off = await client.chat.completions.create({ ...chat('default on'), caching: false } as any).withResponse()
    expect([first, second, off].map((r) => r.response.headers.get('x-aifd-cache'))).toEqual(['MISS', 'HIT', 'BYPASS'])
    expect(seen(mock)).toHaveLength(2)
  })

  it('answers a JSON request from a stored stream: same content, tool calls and finish reason', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const request = { ...chat('weather in Paris'), tools, tool_choice: 'required' }
    const stream = await client.chat.completions.create({ ...request, stream: true, caching: true } as any)
    const streamed = await assemble(stream as any)
    expect(streamed.toolCalls).toHaveLength(1)

    const { data, response } = await client.chat.completions.create({ ...request, caching: true } as any).withResponse()
    expect(response.headers.get('x-aifd-cache')).toBe('HIT')
    const choice = (data as any).choices[0]
    expect((data as any).object).toBe('chat.completion')
    expect(choice.message.role).toBe('assistant')
    expect(choice.message.tool_calls.map((t: any) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments }))).toEqual(streamed.toolCalls)
    expect(choice.finish_reason).toBe(streamed.finishReason)
    expect(choice.finish_reason).toBe('tool_calls')
    // The stream carried no usage: counted once when stored.
    expect((data as any).usage.total_tokens).toBeGreaterThan(0)
    expect(seen(mock)).toHaveLength(1)
  })

  it('answers a stream request from a stored JSON answer, with a usage chunk only when asked', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const json: any = await client.chat.completions.create({ ...chat('json first'), caching: true } as any)

    const res = await post(gw.url, '/v1/chat/completions', { ...chat('json first'), stream: true, stream_options: { include_usage: true }, caching: true })
    expect(res.headers.get('x-aifd-cache')).toBe('HIT')
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events = sseData(await res.text())
    expect(events.at(-1)).toBe('[DONE]')
    const streamed = await assemble(events)
    expect(streamed.content).toBe(json.choices[0].message.content)
    expect(streamed.finishReason).toBe(json.choices[0].finish_reason)
    expect(streamed.usage).toEqual(json.usage)
    expect(streamed.chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === json.id)).toBe(true)

    const plain = await assemble((await client.chat.completions.create({ ...chat('json first'), stream: true, caching: true } as any)) as any)
    expect(plain.content).toBe(json.choices[0].message.content)
    expect(plain.usage).toBeUndefined()
    expect(plain.chunks.every((c) => c.choices.length > 0)).toBe(true)
    expect(seen(mock)).toHaveLength(1)
  })

  it('converts tool calls and reasoning from JSON to a stream', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const request = { ...chat('tools then stream'), model: 'mock-reasoning-1', tools, tool_choice: 'required' }
    const json: any = await client.chat.completions.create({ ...request, caching: true } as any)
    expect(json.choices[0].message.reasoning_content).toBeTruthy()
    const streamed = await assemble((await client.chat.completions.create({ ...request, stream: true, caching: true } as any)) as any)
    const call = json.choices[0].message.tool_calls[0]
    expect(streamed.toolCalls).toEqual([{ id: call.id, name: call.function.name, arguments: call.function.arguments }])
    expect(streamed.reasoning).toBe(json.choices[0].message.reasoning_content)
    expect(streamed.finishReason).toBe('tool_calls')
    expect(seen(mock)).toHaveLength(1)
  })

  it('re-renders a stored stream when the usage chunk asked for differs', async () => {
    const gw = await gateway([cache()])
    const withUsage = await post(gw.url, '/v1/chat/completions', { ...chat('usage differs'), stream: true, stream_options: { include_usage: true }, caching: true })
    const original = await assemble(sseData(await withUsage.text()))
    expect(original.usage).toBeDefined()
    const without = await post(gw.url, '/v1/chat/completions', { ...chat('usage differs'), stream: true, caching: true })
    expect(without.headers.get('x-aifd-cache')).toBe('HIT')
    const replayed = await assemble(sseData(await without.text()))
    expect(replayed.content).toBe(original.content)
    expect(replayed.usage).toBeUndefined()
    // Clients that read choices[0] of every chunk must not meet the usage chunk they did not ask for.
    expect(replayed.chunks.every((c) => c.choices.length > 0)).toBe(true)
    expect(seen(mock)).toHaveLength(1)
  })

  it('serves legacy completions across forms too', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'legacy', stream: true, caching: true } as any)
    let text = ''
    for await (const chunk of stream as any) text += chunk.choices[0]?.text ?? ''
    const { data, response } = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'legacy', caching: true } as any).withResponse()
    expect(response.headers.get('x-aifd-cache')).toBe('HIT')
    expect((data as any).object).toBe('text_completion')
    expect((data as any).choices[0].text).toBe(text)
    expect((data as any).choices[0].finish_reason).toBe('stop')
    expect(seen(mock, 'completions')).toHaveLength(1)
  })

  it('keys on the canonical body: key order does not matter, a changed field does', async () => {
    const gw = await gateway([cache()])
    const a = '{"model":"gpt-4o-mini","temperature":0.5,"caching":true,"messages":[{"role":"user","content":"order"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}}]}'
    const b = '{"tools":[{"function":{"parameters":{"properties":{"x":{"type":"string"}},"type":"object"},"name":"f"},"type":"function"}],"messages":[{"content":"order","role":"user"}],"caching":true,"temperature":0.5,"model":"gpt-4o-mini"}'
    const first = await post(gw.url, '/v1/chat/completions', a)
    await first.text()
    const second = await post(gw.url, '/v1/chat/completions', b)
    expect(second.headers.get('x-aifd-cache')).toBe('HIT')
    expect(await second.json()).toEqual(await (await post(gw.url, '/v1/chat/completions', a)).json())
    const changed = await post(gw.url, '/v1/chat/completions', a.replace('0.5', '0.7'))
    expect(changed.headers.get('x-aifd-cache')).toBe('MISS')
    // `user` labels the request; it does not change the answer.
    const labelled = await post(gw.url, '/v1/chat/completions', a.replace('"caching":true', '"caching":true,"user":"someone"'))
    expect(labelled.headers.get('x-aifd-cache')).toBe('HIT')
    expect(seen(mock)).toHaveLength(2)
  })

  it('keeps tenants apart by caller, and shares with scope: global', async () => {
    const perCaller = await gateway([who, cache()])
    const ask = (url: string, tenant: string) => post(url, '/v1/chat/completions', { ...chat('tenants'), caching: true }, { 'x-tenant': tenant })
    const states = async (url: string, tenants: string[]) => {
      const out: Array<string | null> = []
      for (const t of tenants) {
        const res = await ask(url, t)
        await res.text()
        out.push(res.headers.get('x-aifd-cache'))
      }
      return out
    }
    expect(await states(perCaller.url, ['a', 'a', 'b', 'b'])).toEqual(['MISS', 'HIT', 'MISS', 'HIT'])
    expect(seen(mock)).toHaveLength(2)

    const shared = await gateway([who, cache({ scope: 'global' })])
    expect(await states(shared.url, ['c', 'd'])).toEqual(['MISS', 'HIT'])

    const strict = await gateway([cache({ scope: 'key' })])
    expect(await states(strict.url, ['no caller plugin'])).toEqual(['BYPASS'])
  })

  it('does not store errors', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    for (let i = 0; i < 2; i++) {
      const failed = await client.chat.completions.create({ ...chat('error'), caching: true } as any, { headers: { 'x-mock-status': '500' } }).catch((e) => e)
      expect(failed).toBeInstanceOf(APIError)
      expect(failed.status).toBe(500)
    }
    const ok = await client.chat.completions.create({ ...chat('error'), caching: true } as any).withResponse()
    expect(ok.response.headers.get('x-aifd-cache')).toBe('MISS')
    expect(seen(mock)).toHaveLength(3)
  })

  it('does not store a stream the upstream broke', async () => {
    const gw = await gateway([cache()])
    const body = { ...chat('broken stream'), stream: true, caching: true }
    const broken = await post(gw.url, '/v1/chat/completions', body, { 'x-mock-break-after': '3' })
    const text = await broken.text()
    expect(sseData(text).at(-1)).toHaveProperty('error')
    const next = await post(gw.url, '/v1/chat/completions', body)
    expect(next.headers.get('x-aifd-cache')).toBe('MISS')
    expect(sseData(await next.text()).at(-1)).toBe('[DONE]')
    expect(seen(mock)).toHaveLength(2)
  })

  it('does not store a stream the client aborted', async () => {
    const gw = await gateway([cache()])
    const body = { ...chat('aborted stream'), stream: true, caching: true }
    const controller = new AbortController()
    const res = await post(gw.url, '/v1/chat/completions', body, { 'x-mock-chunk-delay-ms': '50' }, controller.signal)
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    await until(() => seen(mock)[0]?.aborted === true)
    const next = await post(gw.url, '/v1/chat/completions', body)
    expect(next.headers.get('x-aifd-cache')).toBe('MISS')
    await next.text()
    expect(seen(mock)).toHaveLength(2)
  })

  it('does not store answers over maxBodySize', async () => {
    const gw = await gateway([cache({ maxBodySize: 200 })])
    const client = sdk(gw.url)
    for (let i = 0; i < 2; i++) {
      const r = await client.chat.completions.create({ ...chat('too big'), caching: true } as any).withResponse()
      expect(r.response.headers.get('x-aifd-cache')).toBe('MISS')
    }
    expect(seen(mock)).toHaveLength(2)
  })

  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const gw = await gateway([cache({ maxEntries: 2 })])
    const client = sdk(gw.url)
    const state = async (text: string) => (await client.chat.completions.create({ ...chat(text), caching: true } as any).withResponse()).response.headers.get('x-aifd-cache')
    expect([await state('A'), await state('B'), await state('A'), await state('C')]).toEqual(['MISS', 'MISS', 'HIT', 'MISS'])
    expect(await state('A')).toBe('HIT')
    expect(await state('B')).toBe('MISS')
  })

  it('replays embeddings, and keeps the two forms of other endpoints apart', async () => {
    const gw = await gateway([cache()])
    const client = sdk(gw.url)
    const first = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'vector', caching: true } as any).withResponse()
    const second = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'vector', caching: true } as any).withResponse()
    expect(second.response.headers.get('x-aifd-cache')).toBe('HIT')
    expect(second.data.data[0].embedding).toEqual(first.data.data[0].embedding)
    expect(seen(mock, 'embeddings')).toHaveLength(1)

    const body = { model: 'gpt-4o-mini', input: 'responses', caching: true }
    const streamed = await post(gw.url, '/v1/responses', { ...body, stream: true })
    const streamedText = await streamed.text()
    const whole = await post(gw.url, '/v1/responses', body)
    expect(whole.headers.get('x-aifd-cache')).toBe('MISS')
    expect((await whole.json()).object).toBe('response')
    const again = await post(gw.url, '/v1/responses', { ...body, stream: true })
    expect(again.headers.get('x-aifd-cache')).toBe('HIT')
    expect(await again.text()).toBe(streamedText)
  })

  it('stores a gzipped answer decoded and replays it without content-encoding', async () => {
    const gw = await gateway([cache()])
    const body = { ...chat('gzip'), caching: true }
    const first = await post(gw.url, '/v1/chat/completions', body, { 'x-mock-gzip': '1' })
    expect(first.headers.get('content-encoding')).toBe('gzip')
    const firstJson = await first.json()
    const second = await post(gw.url, '/v1/chat/completions', body)
    expect(second.headers.get('x-aifd-cache')).toBe('HIT')
    expect(second.headers.get('content-encoding')).toBeNull()
    expect(await second.json()).toEqual(firstJson)
  })

  it('bypasses multipart uploads', async () => {
    const gw = await gateway([cache({ default: true })])
    const form = new FormData()
    form.append('model', 'whisper-1')
    form.append('file', new Blob([Buffer.from('audio bytes')]), 'a.mp3')
    const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-aifd-cache')).toBe('BYPASS')
  })

  it('lets onResponse hooks tell a hit (answeredBy cache) from a miss', async () => {
    const results: ForwardResult[] = []
    const recorder: ForwardPlugin = { name: 'recorder', onResponse: (_ctx, result) => void results.push(result) }
    const gw = await gateway([cache(), recorder])
    const client = sdk(gw.url)
    await client.chat.completions.create({ ...chat('recorded'), caching: true } as any)
    await client.chat.completions.create({ ...chat('recorded'), caching: true } as any)
    await until(() => results.length === 2)
    expect(results.map((r) => r.answeredBy)).toEqual([undefined, 'cache'])
    expect(results[1].answer()?.choices[0].content).toBe(expectedReply('recorded'))
  })
})

describe('cache on a general route', () => {
  async function general(plugins: ForwardPlugin[]): Promise<TestGateway> {
    const gw = await startTestGateway({ routes: { api: { path: '/api', target: mock.url, type: 'general', plugins } } })
    running.push(gw)
    return gw
  }
  const echoes = () => mock.requests.filter((r) => r.path.startsWith('/echo'))

  it('with default: true serves identical requests (method, path, query, body) from the cache', async () => {
    const gw = await general([cache({ default: true })])
    const state = async (method: string, path: string, body?: string) => {
      const res = await fetch(gw.url + path, { method, body, headers: body ? { 'content-type': 'application/json' } : {} })
      await res.arrayBuffer()
      return res.headers.get('x-aifd-cache')
    }
    expect(await state('POST', '/api/echo/x?q=1', '{"a":1,"b":[1,2]}')).toBe('MISS')
    expect(await state('POST', '/api/echo/x?q=1', '{"b":[1,2],"a":1}')).toBe('HIT')
    expect(await state('POST', '/api/echo/x?q=2', '{"a":1,"b":[1,2]}')).toBe('MISS')
    expect(await state('POST', '/api/echo/x?q=1', '{"a":1,"b":[2,1]}')).toBe('MISS')
    expect(await state('GET', '/api/echo/x?q=1')).toBe('MISS')
    expect(await state('GET', '/api/echo/x?q=1')).toBe('HIT')
    expect(await state('DELETE', '/api/echo/x?q=1')).toBe('BYPASS')
    expect(echoes()).toHaveLength(5)
  })

  it('replays a stream of another API (Gemini SSE) byte for byte', async () => {
    const gw = await general([cache({ default: true })])
    const ask = () => fetch(`${gw.url}/api/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'g-key' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'gemini stream' }] }] }),
    })
    const first = await ask()
    const firstText = await first.text()
    const second = await ask()
    expect(second.headers.get('x-aifd-cache')).toBe('HIT')
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'))
    expect(await second.text()).toBe(firstText)
    expect(mock.requests.filter((r) => r.route === 'gemini')).toHaveLength(1)
  })

  it('stays off without default: true (there is no caching field to opt in with)', async () => {
    const gw = await general([cache()])
    const res = await fetch(`${gw.url}/api/echo/off`, { method: 'POST', body: '{"caching":true}', headers: { 'content-type': 'application/json' } })
    expect(res.headers.get('x-aifd-cache')).toBe('BYPASS')
    // The body of a general route goes upstream untouched.
    expect((await res.json()).bodyLength).toBe('{"caching":true}'.length)
  })
})

describe('cache options', () => {
  it('refuses bad options when the config loads, naming the field', () => {
    const field = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        return (error as ConfigError).field
      }
      throw new Error('no ConfigError')
    }
    // @ts-expect-error storage is the gateway's, not an option
    expect(field(() => cache({ backend: 'memory' }))).toBe('plugins.cache.backend')
    // @ts-expect-error not a duration
    expect(field(() => cache({ ttl: 'soon' }))).toBe('plugins.cache.ttl')
    expect(field(() => cache({ ttl: 0 }))).toBe('plugins.cache.ttl')
    // @ts-expect-error only 'key' or 'global'
    expect(field(() => cache({ scope: 'tenant' }))).toBe('plugins.cache.scope')
    expect(field(() => cache({ maxBodySize: '1 lightyear' }))).toBe('plugins.cache.maxBodySize')
    expect(field(() => cache({ maxEntries: 1.5 }))).toBe('plugins.cache.maxEntries')
    expect(cache().describe?.()).toContain('ttl 1h')
  })
})
