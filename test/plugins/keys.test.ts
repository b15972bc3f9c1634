// The keys plugin against a real gateway and the mock upstream, with the official OpenAI SDK as the
// client on OpenAI routes. The gateway's log and every answer a client got are scanned at the end:
// no real key may appear in them.
import { randomUUID } from 'node:crypto'
import { inspect } from 'node:util'
import { createConsola, type LogObject } from 'consola'
import OpenAI, { APIError } from 'openai'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConfig, startGateway, type CallerIdentity, type ForwardConfig, type ForwardPlugin, type RunningGateway } from '../../src/index.ts'
import { keys, retry } from '../../plugins/index.ts'
import { MODELS, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'

/** Every real key in this file: none of them may reach a client or the log. */
const REAL = {
  limited: 'sk-ratelimited-REAL-aaa111',
  ok2: 'sk-ok-REAL-bbb222',
  ok3: 'sk-ok-REAL-ccc333',
  bad: 'sk-bad-REAL-ddd444',
  good: 'sk-good-REAL-eee555',
  basic: 'sk-basic-REAL-fff666',
  pool: 'sk-pool-REAL-ggg777',
  open1: 'sk-open-REAL-hhh888',
  open2: 'sk-open-REAL-iii999',
  gemini: 'sk-gemini-REAL-jjj000',
  anthropic: 'sk-anthropic-REAL-kkk111',
  retryLimited: 'sk-ratelimited-REAL-lll222',
  retryOk: 'sk-ok-REAL-mmm333',
  failoverBad: 'sk-bad-REAL-nnn444',
  failoverOk: 'sk-ok-REAL-ooo555',
}

const logLines: string[] = []
/** Status, headers and body of every answer a client in this file got. */
const answers: string[] = []
/** `ctx.caller` as the plugins after `keys` saw it, by test id. */
const callers = new Map<string, CallerIdentity | undefined>()

const recorder: ForwardPlugin = {
  name: 'recorder',
  onRequest(ctx) {
    const id = ctx.headers['x-test-id']
    if (typeof id === 'string') callers.set(id, ctx.caller)
  },
}

/** `fetch` that keeps a copy of everything the client was answered. */
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init)
  const body = await response.clone().text()
  answers.push(`${response.status} ${JSON.stringify([...response.headers])} ${body}`)
  return response
}

let mock: MockUpstream
let gw: RunningGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  const log = createConsola({ level: 5, reporters: [{ log: (entry: LogObject) => logLines.push(entry.args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ')) }] })
  const t = mock.url
  const config: ForwardConfig = {
    server: { port: 0, host: '127.0.0.1' },
    logLevel: 'debug',
    routes: {
      openai: {
        path: '/',
        target: t,
        plugins: [
          keys({
            levels: { default: { models: '*', keys: [REAL.good] }, basic: { models: ['gpt-4o-mini', 'gpt-3.5*'], keys: [REAL.basic] } },
            forwardKeys: { alice: { key: 'fk-alice', level: 'default' }, bob: { key: 'fk-bob', level: 'basic' } },
          }),
          recorder,
        ],
      },
      pool: { path: '/pool', target: t, plugins: [keys({ keys: [REAL.limited, REAL.ok2, REAL.ok3], forwardKeys: { alice: 'fk-alice' } })] },
      bad: { path: '/bad', target: t, plugins: [keys({ keys: [REAL.bad, REAL.ok2], forwardKeys: { alice: 'fk-alice' }, coolDown: '60s' })] },
      retried: {
        path: '/retried',
        target: t,
        plugins: [keys({ keys: [REAL.retryLimited, REAL.retryOk], forwardKeys: { alice: 'fk-alice' } }), retry({ backoff: { base: '10ms', max: '20ms' }, maxRetryAfter: '3s' })],
      },
      failover: {
        path: '/failover',
        target: t,
        plugins: [keys({ keys: [REAL.failoverBad, REAL.failoverOk], forwardKeys: { alice: 'fk-alice' } }), retry({ statuses: [401, 429, 503], backoff: { base: '10ms', max: '20ms' } })],
      },
      pass: { path: '/pass', target: t, plugins: [keys({ keys: [REAL.pool], forwardKeys: { carol: 'fk-carol' }, mode: 'passthrough' }), recorder] },
      open: { path: '/open', target: t, plugins: [keys({ keys: [REAL.open1, REAL.open2] }), recorder] },
      gemini: { path: '/gemini', target: t, type: 'general', dialect: 'gemini', plugins: [keys({ keys: [REAL.gemini], forwardKeys: { dave: 'fk-dave' } })] },
      anthropic: { path: '/anthropic', target: t, type: 'general', dialect: 'anthropic', plugins: [keys({ keys: [REAL.anthropic], forwardKeys: { erin: 'fk-erin' } })] },
    },
  }
  gw = await startGateway(resolveConfig(config), { log })
})

afterAll(async () => {
  await gw?.close(0)
  await mock?.close()
})

function openai(path: string, apiKey: string, id = randomUUID()): { client: OpenAI; id: string } {
  const client = new OpenAI({ baseURL: `${gw.url}${path}/v1`, apiKey, maxRetries: 0, fetch: recordingFetch, defaultHeaders: { 'x-test-id': id } })
  return { client, id }
}

/** The keys the upstream received for one test id, in order. */
const keysSeen = (id: string) => mock.requests.filter((r) => r.headers['x-test-id'] === id).map((r) => r.apiKey)
const hi = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] }

describe('forward keys (require mode)', () => {
  it('swaps a forward key for the real key and names the caller for later plugins', async () => {
    const { client, id } = openai('', 'fk-alice')
    const answer = await client.chat.completions.create(hi)
    expect(answer.choices[0].message.content).toContain('Hello! You said: hi')
    expect(keysSeen(id)).toEqual([REAL.good])
    expect(callers.get(id)).toEqual({ name: 'alice', level: 'default' })
  })

  it('swaps the key of a streamed request too', async () => {
    const { client, id } = openai('', 'fk-alice')
    const stream = await client.chat.completions.create({ ...hi, stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
    expect(text).toContain('Hello! You said: hi')
    expect(keysSeen(id)).toEqual([REAL.good])
  })

  it('answers 401 in OpenAI shape to a missing or unknown key, without calling the upstream', async () => {
    const unknown = openai('', 'fk-nobody')
    const error = await unknown.client.chat.completions.create(hi).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key')
    expect((error as Error).message).not.toContain('fk-nobody')

    // A real key is no pass either: only forward keys get in.
    const real = openai('', REAL.good)
    expect(await real.client.models.list().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.AuthenticationError)

    const id = randomUUID()
    const missing = await recordingFetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-id': id }, body: JSON.stringify(hi) })
    expect(missing.status).toBe(401)
    expect((await missing.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'missing_api_key' })
    expect([...keysSeen(unknown.id), ...keysSeen(real.id), ...keysSeen(id)]).toEqual([])
  })

  it('a flood of made-up keys changes nothing: they stay refused, and the forward key still works', async () => {
    // More distinct keys than the plugin remembers digests of, so its memo starts over on the way.
    const statuses = new Map<number, number>()
    for (let i = 0; i < 1100; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer fk-guess-${i + j}` } }).then((r) => r.status))
      for (const status of await Promise.all(batch)) statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
    expect(statuses).toEqual(new Map([[401, 1100]]))
    const { client, id } = openai('', 'fk-alice')
    expect((await client.chat.completions.create(hi)).choices[0].message.content).toContain('Hello!')
    expect(keysSeen(id)).toEqual([REAL.good])
  })
})

describe('levels', () => {
  it('refuses a model the level may not use with 403 naming the model', async () => {
    const { client, id } = openai('', 'fk-bob')
    const error = await client.chat.completions.create(hi).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_allowed')
    expect((error as Error).message).toContain('gpt-4o')
    expect(keysSeen(id)).toEqual([])
    const single = await client.models.retrieve('gpt-4o').catch((e: unknown) => e)
    expect(single).toBeInstanceOf(OpenAI.PermissionDeniedError)
  })

  it('allows exact names and wildcards, drawing from the level\'s own pool', async () => {
    const { client, id } = openai('', 'fk-bob')
    await client.chat.completions.create({ ...hi, model: 'gpt-4o-mini' })
    await client.chat.completions.create({ ...hi, model: 'gpt-3.5-turbo' })
    expect((await client.models.retrieve('gpt-4o-mini')).id).toBe('gpt-4o-mini')
    expect(keysSeen(id)).toEqual([REAL.basic, REAL.basic, REAL.basic])
    expect(callers.get(id)).toEqual({ name: 'bob', level: 'basic' })
  })

  it('lists only the models the level may use', async () => {
    const bob = openai('', 'fk-bob')
    const listed = (await bob.client.models.list()).data.map((m) => m.id)
    expect(listed.sort()).toEqual(['gpt-3.5-turbo', 'gpt-3.5-turbo-instruct', 'gpt-4o-mini'])
    // Also when the upstream compresses the list.
    const gzipped = await bob.client.models.list({ headers: { 'x-mock-gzip': '1' } })
    expect(gzipped.data.map((m) => m.id).sort()).toEqual(listed)
    // A level with every model sees the upstream's list as it is.
    const alice = openai('', 'fk-alice')
    expect((await alice.client.models.list()).data.map((m) => m.id)).toEqual(MODELS.map((m) => m.id))
  })
})

describe('key pool', () => {
  it('sets aside a key the upstream answered 429, for its Retry-After, then uses it again', async () => {
    const { client, id } = openai('/pool', 'fk-alice')
    const first = await client.chat.completions.create(hi).catch((e: unknown) => e)
    expect(first).toBeInstanceOf(OpenAI.RateLimitError)
    for (let i = 0; i < 4; i++) await client.chat.completions.create(hi)
    expect(keysSeen(id)).toEqual([REAL.limited, REAL.ok2, REAL.ok3, REAL.ok2, REAL.ok3])
    // retry-after: 1 → back after about a second.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    await client.chat.completions.create(hi).catch(() => {})
    await client.chat.completions.create(hi).catch(() => {})
    expect(keysSeen(id).slice(5)).toContain(REAL.limited)
  })

  it('answers a key the upstream refused (401) with 502 of its own, then skips that key', async () => {
    const { client, id } = openai('/bad', 'fk-alice')
    const error = await client.chat.completions.create(hi).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect((error as APIError).status).toBe(502)
    expect((error as APIError).code).toBe('upstream_key_rejected')
    // The mock's own 401 quotes the key's start ("sk-bad-R****"); the client must not get it.
    expect((error as Error).message).not.toContain('sk-bad')
    for (let i = 0; i < 3; i++) await client.chat.completions.create(hi)
    expect(keysSeen(id)).toEqual([REAL.bad, REAL.ok2, REAL.ok2, REAL.ok2])
  })

  it('gives each retry attempt the next healthy key', async () => {
    const { client, id } = openai('/retried', 'fk-alice')
    const started = performance.now()
    const answer = await client.chat.completions.create(hi)
    expect(answer.choices[0].message.content).toContain('Hello!')
    expect(keysSeen(id)).toEqual([REAL.retryLimited, REAL.retryOk])
    // retry waits out the 429's Retry-After (1 s) even though the next key is another one.
    expect(performance.now() - started).toBeGreaterThan(900)

    const failover = openai('/failover', 'fk-alice')
    expect((await failover.client.chat.completions.create(hi)).choices[0].message.content).toContain('Hello!')
    expect(keysSeen(failover.id)).toEqual([REAL.failoverBad, REAL.failoverOk])
  })
})

describe('modes', () => {
  it('passthrough: a client\'s own key goes upstream untouched; a forward key is still swapped', async () => {
    const own = openai('/pass', 'sk-client-own-key')
    await own.client.chat.completions.create(hi)
    expect(keysSeen(own.id)).toEqual(['sk-client-own-key'])
    expect(callers.get(own.id)).toBeUndefined()
    const carol = openai('/pass', 'fk-carol')
    await carol.client.chat.completions.create(hi)
    expect(keysSeen(carol.id)).toEqual([REAL.pool])
    expect(callers.get(carol.id)).toEqual({ name: 'carol', level: 'default' })
  })

  it('open (a pool without forward keys): every request gets a pooled key, round-robin', async () => {
    const { client, id } = openai('/open', 'anything')
    for (let i = 0; i < 3; i++) await client.chat.completions.create(hi)
    expect(keysSeen(id)).toEqual([REAL.open1, REAL.open2, REAL.open1])
    expect(callers.get(id)).toBeUndefined()
  })
})

describe('Realtime (WebSocket)', () => {
  /** Opens a session the way a browser does (the key as a subprotocol) and returns the protocol the client was answered. */
  function connect(key: string): Promise<{ protocol: string } | { status: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/v1/realtime?model=gpt-4o-realtime-preview`, ['realtime', `openai-insecure-api-key.${key}`])
      ws.once('open', () => {
        resolve({ protocol: ws.protocol })
        ws.close()
      })
      ws.once('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0 })
        res.resume()
        ws.terminate()
      })
      ws.once('error', () => {})
    })
  }

  it('swaps a forward key sent as a subprotocol, and refuses an unknown one', async () => {
    const sessions = mock.realtime.length
    expect(await connect('fk-alice')).toEqual({ protocol: 'realtime' })
    expect(mock.realtime.slice(sessions).map((s) => s.apiKey)).toEqual([REAL.good])
    expect(await connect('fk-nobody')).toEqual({ status: 401 })
    // A level that may not use the Realtime model named in the query is refused too.
    expect(await connect('fk-bob')).toEqual({ status: 403 })
    expect(mock.realtime.length).toBe(sessions + 1)
  })
})

describe('general routes', () => {
  const generate = (query: string, headers: Record<string, string>) => recordingFetch(`${gw.url}/gemini/v1beta/models/gemini-2.0-flash:generateContent${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  })

  it('swaps Gemini\'s ?key= in the query, keeping the other parameters', async () => {
    const id = randomUUID()
    const response = await generate('?alt=json&key=fk-dave&x=1%202', { 'x-test-id': id })
    expect(response.status).toBe(200)
    const [record] = mock.requests.filter((r) => r.headers['x-test-id'] === id)
    expect(record.path).toBe(`/v1beta/models/gemini-2.0-flash:generateContent?alt=json&x=1%202&key=${REAL.gemini}`)
  })

  it('swaps Gemini\'s x-goog-api-key header, and refuses an unknown key', async () => {
    const id = randomUUID()
    expect((await generate('', { 'x-test-id': id, 'x-goog-api-key': 'fk-dave' })).status).toBe(200)
    expect(keysSeen(id)).toEqual([REAL.gemini])
    expect(mock.requests.find((r) => r.headers['x-test-id'] === id)!.headers['x-goog-api-key']).toBe(REAL.gemini)
    const refused = await generate('?key=fk-nobody', { 'x-test-id': id })
    expect(refused.status).toBe(401)
    expect(keysSeen(id)).toHaveLength(1)
  })

  it('swaps Anthropic\'s x-api-key header', async () => {
    const id = randomUUID()
    const response = await recordingFetch(`${gw.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'fk-erin', 'anthropic-version': '2023-06-01', 'x-test-id': id },
      body: JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(response.status).toBe(200)
    const [record] = mock.requests.filter((r) => r.headers['x-test-id'] === id)
    expect(record.headers['x-api-key']).toBe(REAL.anthropic)
    expect(record.headers.authorization).toBeUndefined()
  })
})

describe('secrecy', () => {
  it('never shows a real key to a client or in the log', () => {
    // The scan is only worth something if the log saw the key trouble above and clients got answers.
    expect(logLines.some((line) => line.includes('set aside'))).toBe(true)
    expect(answers.length).toBeGreaterThan(20)
    const everything = [...logLines, ...answers].join('\n')
    for (const key of Object.values(REAL)) {
      expect(everything).not.toContain(key)
      // Upstreams quote a key's start in errors ("sk-bad-R****"): no 10-character start either.
      expect(everything).not.toContain(key.slice(0, 10))
    }
  })
})
