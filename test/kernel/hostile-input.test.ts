// The attack pass: the bad versions of every input the gateway takes (request lines, headers,
// bodies, upstream answers, CORS), sent as raw bytes where node:http would refuse to send them.
// Each answer is a clear error (OpenAI's shape where the gateway answers), nothing reaches a host
// or route the request does not name, and the gateway keeps serving.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cache, keys, tokenLimit } from '../../plugins/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { countChatTokens, definePlugin, loadEncoding, resolveConfig } from '../../src/index.ts'
import { openCorsWarning } from '../../src/gateway/cors.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { RawSocket, rawRequest } from '../helpers/raw-socket.ts'
import { KEY, expectOpenAIError, lastRecord, sleep, until } from './util.ts'

let mock: MockUpstream
/** Stands for any other host: nothing may ever reach it. */
let other: MockUpstream
let gw: TestGateway

const readsBody = definePlugin(() => ({
  name: 'reads-body',
  async onRequest(ctx) {
    await ctx.json()
  },
}))

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  other = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      openai: { path: '/', target: mock.url },
      sub: { path: '/sub', target: `${mock.url}/api` },
      parsing: { path: '/parsing', target: mock.url, plugins: [tokenLimit({ limit: '1000k/minute' }), cache({ default: true }), readsBody()] },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
  await other?.close()
})
beforeEach(() => {
  mock.reset()
  other.reset()
})

const AUTH = `host: gateway\r\nauthorization: Bearer ${KEY}\r\n`
const otherHost = () => new URL(other.url).host

describe('request lines and paths', () => {
  it('an absolute-form target (GET http://other/…) is served by its path; the host it names is never contacted', async () => {
    const res = await rawRequest(gw.url, `GET http://${otherHost()}/v1/models HTTP/1.1\r\n${AUTH}\r\n`)
    expect(res.status).toBe(200)
    expect(lastRecord(mock).path).toBe('/v1/models')
    expect(other.requests).toHaveLength(0)
  })

  it('a target that is not a path (OPTIONS *) gets 400 invalid_path, not a 502', async () => {
    const res = await rawRequest(gw.url, `OPTIONS * HTTP/1.1\r\n${AUTH}\r\n`)
    expect(res.status).toBe(400)
    expect(expectOpenAIError(res.json()).code).toBe('invalid_path')
    expect(mock.requests).toHaveLength(0)
  })

  for (const path of [`@${'OTHER'}/v1/models`, `:1@${'OTHER'}/v1/models`, `\\\\${'OTHER'}/v1/models`, `?x=1`]) {
    it(`Node refuses a target that does not start with "/" (${path}) before the gateway sees it`, async () => {
      const res = await rawRequest(gw.url, `GET ${path.replace('OTHER', otherHost())} HTTP/1.1\r\n${AUTH}\r\n`)
      expect(res.status).toBe(400)
      expect(mock.requests).toHaveLength(0)
      expect(other.requests).toHaveLength(0)
    })
  }

  it('"@", "\\" and encoded dots or slashes in a path stay in the route\'s target, or are refused', async () => {
    const cases: Array<[string, number, string | undefined]> = [
      [`/@${otherHost()}/v1/models`, 404, `/@${otherHost()}/v1/models`],
      [`/\\${otherHost()}/v1/models`, 404, `/${otherHost()}/v1/models`],
      ['/sub/%2e%2e/v1/models', 200, '/v1/models'],
      ['/sub/..%2f..%2fv1/models', 400, undefined],
      ['/v1%2Fmodels', 400, undefined],
      ['/sub/v1/models', 404, '/api/v1/models'],
    ]
    for (const [path, status, upstreamPath] of cases) {
      mock.reset()
      const res = await rawRequest(gw.url, `GET ${path} HTTP/1.1\r\n${AUTH}\r\n`)
      expect([path, res.status]).toEqual([path, status])
      expect([path, mock.requests[0]?.path]).toEqual([path, upstreamPath])
    }
    expect(other.requests).toHaveLength(0)
  })
})

describe('headers', () => {
  const refused: Array<[string, string, number]> = [
    ['Content-Length with Transfer-Encoding (smuggling)', 'content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'content-length: 5\r\ncontent-length: 6\r\n\r\nhello!', 400],
    ['two equal Content-Lengths', 'content-length: 5\r\ncontent-length: 5\r\n\r\nhello', 400],
    ['Transfer-Encoding: xchunked', 'transfer-encoding: xchunked\r\n\r\n0\r\n\r\n', 400],
    ['Transfer-Encoding: chunked, identity', 'transfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n', 400],
    ['two Transfer-Encoding: chunked', 'transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['a bare CR in a value', 'x-a: b\rc\r\n\r\n', 400],
    ['an obsolete folded line', 'x-a: b\r\n c\r\n\r\n', 400],
    ['a space before the colon', 'x-a : b\r\n\r\n', 400],
    ['a 20 KB header', `x-a: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['3000 headers', `${Array.from({ length: 3000 }, (_, i) => `x-${i}: 1\r\n`).join('')}\r\n`, 431],
  ]
  for (const [name, rest, status] of refused) {
    it(`${name}: ${status}, nothing goes upstream`, async () => {
      const res = await rawRequest(gw.url, `POST /v1/echo/a HTTP/1.1\r\n${AUTH}${rest}`)
      expect(res.status).toBe(status)
      expect(res.headers.connection).toBe('close')
      await sleep(20)
      expect(mock.requests).toHaveLength(0)
    })
  }

  it('the gateway keeps serving after all of them', async () => {
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })
    expect(res.status).toBe(200)
  })

  it('Expect: 100-continue gets 100 and then the answer; the upstream never sees Expect. Any other expectation: 417', async () => {
    const client = new RawSocket(gw.url)
    await client.write(`POST /v1/echo/a HTTP/1.1\r\n${AUTH}expect: 100-continue\r\ncontent-length: 2\r\n\r\n`)
    const interim = await client.response()
    expect(interim.status).toBe(100)
    client.received = Buffer.alloc(0)
    await client.write('hi')
    const res = await client.response()
    expect(res.status).toBe(200)
    expect(res.json().headers.expect).toBeUndefined()
    expect(res.json().bodyLength).toBe(2)
    client.destroy()
    const other = await rawRequest(gw.url, `POST /v1/echo/a HTTP/1.1\r\n${AUTH}expect: 200-ok\r\ncontent-length: 2\r\n\r\nhi`)
    expect(other.status).toBe(417)
  })

  it('headers named like Object.prototype members pass as plain headers', async () => {
    const res = await rawRequest(gw.url, `GET /v1/echo/a HTTP/1.1\r\n${AUTH}__proto__: x\r\nconstructor: y\r\n\r\n`)
    expect(res.status).toBe(200)
    expect(res.json().headers.constructor).toBe('y')
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('an upload to a path no route serves gets 404 with Connection: close, and the rest of it is drained, not kept', async () => {
    const only = await startTestGateway({ routes: { gemini: { path: '/gemini', target: mock.url } } })
    try {
      const client = new RawSocket(only.url)
      await client.write(`POST /v1/files HTTP/1.1\r\n${AUTH}content-length: ${8 * 1024 * 1024}\r\n\r\n`)
      await client.pump(8 * 1024 * 1024)
      const res = await client.response()
      expect(res.status).toBe(404)
      expect(res.headers.connection).toBe('close')
      await client.serverEnded
      expect(client.error).toBeUndefined()
      client.destroy()
    } finally {
      await only.stop()
    }
  })
})

describe('bodies', () => {
  const post = (path: string, body: string | Buffer) =>
    fetch(gw.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]) })

  it('JSON nested thousands of levels deep on a route whose plugins parse it: 400 invalid_json, not a 500', async () => {
    for (const depth of [3000, 100_000]) {
      const res = await post('/parsing/v1/chat/completions', `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"tools":${'['.repeat(depth)}${']'.repeat(depth)}}`)
      expect(res.status).toBe(400)
      const error = expectOpenAIError(await res.json())
      expect(error.code).toBe('invalid_json')
      expect(error.message).toMatch(/nests deeper than/)
    }
    expect(mock.requests).toHaveLength(0)
    // Ordinary nesting (a tool's JSON schema) is fine.
    const schema = JSON.parse(`${'{"type":"object","properties":{"a":'.repeat(20)}{"type":"string"}${'}}'.repeat(20)}`)
    const ok = await post('/parsing/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f', parameters: schema } }] }))
    expect(ok.status).toBe(200)
  })

  it('invalid UTF-8 inside JSON is parsed for the plugins and forwarded byte for byte', async () => {
    const body = Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')])
    const res = await post('/parsing/v1/echo/utf8', body)
    expect(res.status).toBe(200)
    expect((await res.json()).bodySha256).toBe(createHash('sha256').update(body).digest('hex'))
  })

  it('a "__proto__" key in the body reaches no prototype', async () => {
    const res = await post('/parsing/v1/chat/completions', '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
    expect(res.status).toBe(200)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('counting the tokens of a 10 MB prompt takes a bounded time (exact counting costs ~0.3 s per MB of stalled event loop)', () => {
    loadEncoding('gpt-4o')
    const content = 'a few plain words '.repeat(600_000)
    const started = performance.now()
    const estimate = countChatTokens([{ role: 'user', content }], 'gpt-4o')
    expect(performance.now() - started).toBeLessThan(1000)
    // The text is uniform, so the estimate from its first part is close to exact (4 tokens a repeat).
    expect(Math.abs(estimate - 2_400_000) / 2_400_000).toBeLessThan(0.02)
    // Many messages together are bounded the same way.
    const many = Array.from({ length: 2000 }, (_, i) => ({ role: 'user', content: `message ${i} ${'more words here '.repeat(300)}` }))
    const startedMany = performance.now()
    countChatTokens(many, 'gpt-4o')
    expect(performance.now() - startedMany).toBeLessThan(1000)
  })
})

describe('upstream answers', () => {
  let hostile: Server
  let hostileUrl: string
  let hostileGw: TestGateway
  const answers: Record<string, (res: import('node:http').ServerResponse) => void> = {
    // One event that does not end: 8 MB in lines without a blank line, then a pause before the end.
    '/endless-event': (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const line = Buffer.from(`data: ${'x'.repeat(64 * 1024 - 7)}\n`)
      let sent = 0
      const write = () => {
        while (sent < 128) {
          sent++
          if (!res.write(line)) return void res.once('drain', write)
        }
        setTimeout(() => res.end('\n'), 2000)
      }
      write()
    },
    '/bad-gzip': (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(Buffer.from('this is not gzip at all'))
    },
    // About 100 KB of gzip that expands to 100 MB.
    '/gzip-bomb': (res) => {
      const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024, 0x20))
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length })
      res.end(bomb)
    },
    '/huge-headers': (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-huge': 'h'.repeat(64 * 1024) })
      res.end('{}')
    },
    '/bad-usage': (res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: '<b>12</b>', completion_tokens: -500, total_tokens: 'NaN' } }))
    },
  }
  /** What onResponse hooks saw, by request path. */
  const seen = new Map<string, { text: number | undefined; usage: unknown }>()
  const observer = definePlugin(() => ({
    name: 'observer',
    onChunk: () => undefined,
    onResponse(ctx, result) {
      seen.set(ctx.url, { text: result.text()?.length, usage: result.usage() })
    },
  }))
  const seenFor = async (path: string) => {
    await until(() => seen.has(path), 2000)
    return seen.get(path)
  }

  beforeAll(async () => {
    hostile = createServer((req, res) => (answers[req.url!.replace(/^\/v1/, '')] ?? ((r) => r.writeHead(404).end()))(res))
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve))
    hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`
    hostileGw = await startTestGateway({ routes: { openai: { path: '/', target: hostileUrl, plugins: [observer()] } } })
  })
  afterAll(async () => {
    await hostileGw?.stop()
    await new Promise((resolve) => hostile?.close(resolve))
  })

  const get = (path: string) => fetch(`${hostileGw.url}/v1${path}`, { headers: { authorization: `Bearer ${KEY}` } })

  it('an SSE event that does not end (8 MB without a blank line) still flows to the client; the tap stops holding it', async () => {
    const client = new RawSocket(hostileGw.url)
    await client.write(`GET /v1/endless-event HTTP/1.1\r\n${AUTH}\r\n`)
    // Before the upstream ends its event, most of it has reached the client.
    expect(await until(() => client.received.length > 4 * 1024 * 1024, 1500)).toBe(true)
    const res = await client.response(5000)
    expect(res.body.length).toBe(128 * 64 * 1024 + 1)
    client.destroy()
  })

  it('a body that is not the gzip it claims passes to the client as sent; onResponse hooks get no text, and nothing breaks', async () => {
    const res = await get('/bad-gzip')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    await res.arrayBuffer().catch(() => undefined)
    const hooks = await seenFor('/v1/bad-gzip')
    expect(hooks).toBeDefined()
    expect(hooks!.text).toBeUndefined()
  })

  it('a gzip bomb is passed through as sent and never expanded past 64 MB for onResponse hooks', async () => {
    // Read raw: fetch would expand it itself.
    const res = await rawRequest(hostileGw.url, `GET /v1/gzip-bomb HTTP/1.1\r\n${AUTH}\r\n`)
    expect(res.status).toBe(200)
    expect(res.body.length).toBeLessThan(1024 * 1024)
    const hooks = await seenFor('/v1/gzip-bomb')
    expect(hooks).toBeDefined()
    expect(hooks!.text).toBeUndefined()
  })

  it('response headers larger than 16 KB: 502 in OpenAI\'s shape', async () => {
    const res = await get('/huge-headers')
    expect(res.status).toBe(502)
    expect(expectOpenAIError(await res.json()).type).toBe('upstream_error')
  })

  it('usage counts that are not whole numbers >= 0 are read as 0, never as strings or negative refunds', async () => {
    const res = await fetch(`${hostileGw.url}/v1/bad-usage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) })
    expect(res.status).toBe(200)
    await res.text()
    expect((await seenFor('/v1/bad-usage'))?.usage).toMatchObject({ promptTokens: 0, completionTokens: 0, totalTokens: 0 })
  })

  it('the gateway still answers after all of them', async () => {
    expect((await fetch(`${hostileGw.url}/healthz`)).status).toBe(200)
  })
})

describe('CORS', () => {
  const route = { path: '/', target: 'http://127.0.0.1:1' }
  const guard = keys({ keys: ['sk-real'], forwardKeys: { alice: 'fk-alice' } })

  it('warns at start when any origin may call a route no plugin guards, naming the routes', () => {
    const warning = openCorsWarning(resolveConfig({ routes: { openai: route, guarded: { ...route, path: '/g', plugins: [guard] } } }))
    expect(warning).toMatch(/any origin/)
    expect(warning).toMatch(/route openai:/)
    expect(warning).not.toMatch(/guarded/)
    // keys() in open mode serves anyone from the pool: it guards nothing.
    const open = keys({ levels: { default: { models: '*', keys: ['sk-real'] } } })
    expect(openCorsWarning(resolveConfig({ routes: { openai: { ...route, plugins: [open] } } }))).toMatch(/route openai:/)
  })

  it('says nothing when every route is guarded, or CORS is limited to listed origins or off', () => {
    expect(openCorsWarning(resolveConfig({ routes: { openai: { ...route, plugins: [guard] } } }))).toBeUndefined()
    expect(openCorsWarning(resolveConfig({ plugins: [guard], routes: { openai: route } }))).toBeUndefined()
    expect(openCorsWarning(resolveConfig({ cors: { origin: ['https://app.example'] }, routes: { openai: route } }))).toBeUndefined()
    expect(openCorsWarning(resolveConfig({ cors: false, routes: { openai: route } }))).toBeUndefined()
  })

  it('the warning is logged when the gateway starts', async () => {
    const { captureLogger } = await import('../helpers/capture-logger.ts')
    const { log, entries } = captureLogger()
    const started = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } } }, { log })
    await started.stop()
    expect(entries.some((e) => e.type === 'warn' && /CORS allows any origin/.test(e.text))).toBe(true)
  })
})
