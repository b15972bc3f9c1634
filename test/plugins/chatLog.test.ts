import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, jsonResponse, resolveConfig, startGateway, type ForwardConfig, type ForwardPlugin } from '../../src/index.ts'
import { chatLog } from '../../plugins/index.ts'
import type { ChatLogOptions } from '../../plugins/chatLog/index.ts'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { captureLogger, logFiles, readRecords, today, waitForRecords } from './chatLog-helpers.ts'

const API_KEY = 'sk-upstream-secret-0123456789'
let mock: MockUpstream
let dir: string
let gw: TestGateway | undefined
const stops: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
})
afterAll(async () => {
  await mock.close()
})
afterEach(async () => {
  await gw?.stop()
  gw = undefined
  for (const stop of stops.splice(0)) await stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A gateway with chatLog (fast flushes) in front of the mock, logging into a fresh temp folder. */
async function start(options: ChatLogOptions = {}, config: ForwardConfig = {}): Promise<{ gw: TestGateway; client: OpenAI }> {
  dir = mkdtempSync(join(tmpdir(), 'aifd-chatlog-'))
  gw = await startTestGateway({
    routes: { openai: { path: '/', target: mock.url } },
    plugins: [chatLog({ dir, flushInterval: 20, ...options })],
    ...config,
  })
  return { gw, client: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: API_KEY, maxRetries: 0 }) }
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } }, required: ['city'] },
  },
}

describe('chatLog: chat completions', () => {
  it('records a non-stream exchange with request, answer, usage, ids and timings, and never the key', async () => {
    const { client } = await start()
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'hi there' }]
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o', messages, temperature: 0.3 }).withResponse()
    const [record] = await waitForRecords(dir, 1)

    expect(record.file).toBe(join('openai', 'chat', `${today()}.jsonl`))
    // The kernel documents ctx.id as also sent as x-aifd-request-id; when it is, the two must agree.
    expect(record.id).toMatch(/^[0-9a-f-]{36}$/)
    const sentId = response.headers.get('x-aifd-request-id')
    if (sentId) expect(record.id).toBe(sentId)
    expect(Date.now() - Date.parse(record.time)).toBeLessThan(60_000)
    expect(record).toMatchObject({
      route: 'openai', kind: 'chat', method: 'POST', path: '/v1/chat/completions', ip: '127.0.0.1', caller: null,
      model: 'gpt-4o', stream: false, status: 200, outcome: 'complete', error: null, cacheHit: false, answeredBy: null, provider: 'openai',
      attempts: 1, target: mock.url,
    })
    expect(record.request).toEqual({ model: 'gpt-4o', messages, temperature: 0.3 })
    expect(record.answer!.choices).toHaveLength(1)
    expect(record.answer!.choices[0]).toMatchObject({ index: 0, role: 'assistant', content: expectedReply('hi there'), finishReason: 'stop', toolCalls: [] })
    expect(record.answer!.id).toBe(data.id)
    expect(record.usage).toEqual({ promptTokens: data.usage!.prompt_tokens, completionTokens: data.usage!.completion_tokens, totalTokens: data.usage!.total_tokens, estimated: false })
    // gpt-4o in the built-in table: $2.50 in, $10 out per million tokens.
    const usd = (data.usage!.prompt_tokens * 2.5 + data.usage!.completion_tokens * 10) / 1e6
    expect(record.cost).toEqual({ usd: expect.closeTo(usd, 12), model: 'gpt-4o', estimated: false, unpriced: false })
    expect(record.firstTokenMs).toBeGreaterThan(0)
    expect(record.totalMs).toBeGreaterThanOrEqual(record.firstTokenMs!)
    expect(readFileSync(join(dir, record.file), 'utf8')).not.toContain(API_KEY)
  })

  it('records a stream, reassembled, with usage counted and marked estimated when upstream sent none', async () => {
    const { client } = await start()
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream me' }], stream: true },
      { headers: { 'x-mock-chunks': '7' } },
    )
    let received = ''
    for await (const chunk of stream) received += chunk.choices[0]?.delta?.content ?? ''
    const [record] = await waitForRecords(dir, 1)
    expect(received).toBe(expectedReply('stream me', { chunks: 7 }))
    expect(record).toMatchObject({ stream: true, outcome: 'complete', status: 200, model: 'gpt-4o-mini' })
    expect(record.answer!.choices[0].content).toBe(received)
    expect(record.usage!.estimated).toBe(true)
    expect(record.usage!.completionTokens).toBeGreaterThan(0)
    // Counted usage gives a cost marked estimated, at gpt-4o-mini's built-in price.
    const { promptTokens, completionTokens } = record.usage!
    expect(record.cost).toEqual({ usd: expect.closeTo((promptTokens * 0.15 + completionTokens * 0.6) / 1e6, 12), model: 'gpt-4o-mini', estimated: true, unpriced: false })
    expect(record.firstTokenMs).not.toBeNull()
  })

  it('records tool calls whose arguments came in many pieces, whole', async () => {
    const { client } = await start()
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Paris' }], tools: [weatherTool], stream: true },
      { headers: { 'x-mock-chunks': '15' } },
    )
    let argumentPieces = 0
    let clientArguments = ''
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments
      if (piece) {
        argumentPieces++
        clientArguments += piece
      }
    }
    expect(argumentPieces).toBeGreaterThan(5)
    const [record] = await waitForRecords(dir, 1)
    const choice = record.answer!.choices[0]
    expect(choice.finishReason).toBe('tool_calls')
    expect(choice.toolCalls).toHaveLength(1)
    expect(choice.toolCalls[0].function.name).toBe('get_weather')
    expect(choice.toolCalls[0].id).toMatch(/^call_/)
    expect(choice.toolCalls[0].function.arguments).toBe(clientArguments)
    expect(JSON.parse(choice.toolCalls[0].function.arguments)).toEqual({ city: 'Paris', days: 42 })
    expect(record.request!.tools).toEqual([weatherTool])
  })

  it('records every choice of a stream with n=2, not only the first', async () => {
    const { client } = await start()
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'two ways' }], n: 2, stream: true })
    for await (const _ of stream) void _
    const [record] = await waitForRecords(dir, 1)
    expect(record.answer!.choices.map((c) => c.index)).toEqual([0, 1])
    expect(record.answer!.choices[0].content).toBe(expectedReply('two ways'))
    expect(record.answer!.choices[1].content).toBe(expectedReply('two ways', { choiceIndex: 1 }))
    expect(record.answer!.choices.every((c) => c.finishReason === 'stop')).toBe(true)
  })

  it('records an aborted stream as aborted, with what had arrived', async () => {
    const { client } = await start()
    const full = expectedReply('slow please', { chunks: 40 })
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'slow please' }], stream: true },
      { headers: { 'x-mock-chunks': '40', 'x-mock-chunk-delay-ms': '30' } },
    )
    let received = ''
    let chunks = 0
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta?.content ?? ''
      if (++chunks === 5) break // ends the SDK's request: the client goes away mid-stream
    }
    const [record] = await waitForRecords(dir, 1)
    expect(record.outcome).toBe('aborted')
    const content = record.answer!.choices[0].content
    expect(content.startsWith(received)).toBe(true)
    expect(content.length).toBeGreaterThan(0)
    expect(content.length).toBeLessThan(full.length)
    expect(full.startsWith(content)).toBe(true)
    expect(record.answer!.choices[0].finishReason).toBeNull()
  })

  it('records an upstream error with its message and code', async () => {
    const { client } = await start()
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-mock-status': '429' } })).rejects.toMatchObject({ status: 429 })
    const [record] = await waitForRecords(dir, 1)
    expect(record.status).toBe(429)
    expect(record.answer).toBeNull()
    expect(record.error!.message.length).toBeGreaterThan(0)
    expect(record.error!.code).not.toBeNull()
  })

  it('records 1000 concurrent requests, each exactly once', async () => {
    const { gw } = await start()
    const total = 1000
    let next = 0
    const statuses: number[] = []
    const worker = async () => {
      while (next < total) {
        const i = next++
        const response = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `request ${i}` }], stream: i % 2 === 0 }),
        })
        await response.text()
        statuses.push(response.status)
      }
    }
    await Promise.all(Array.from({ length: 100 }, worker))
    expect(statuses.filter((s) => s === 200)).toHaveLength(total)
    const records = await waitForRecords(dir, total)
    await new Promise((r) => setTimeout(r, 100)) // nothing more may arrive
    expect(readRecords(dir)).toHaveLength(total)
    expect(new Set(records.map((r) => r.id)).size).toBe(total)
    const asked = new Set(records.map((r) => (r.request!.messages as Array<{ content: string }>)[0].content))
    expect(asked.size).toBe(total)
    for (const record of records) expect(record.answer!.choices[0].content).toBe(expectedReply((record.request!.messages as Array<{ content: string }>)[0].content))
  })
})

describe('chatLog: other kinds of request', () => {
  it('sorts completions, embeddings, responses, images, audio and the rest into their folders', async () => {
    const { client } = await start()
    await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'complete me' })
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me' })
    const responseStream = await client.responses.create({ model: 'gpt-4o', input: 'respond to me', stream: true })
    for await (const _ of responseStream) void _
    await client.images.generate({ model: 'dall-e-3', prompt: 'a cat', response_format: 'b64_json' })
    const transcription = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.alloc(2048, 1), 'speech.wav') })
    await client.models.list()
    const records = await waitForRecords(dir, 6)
    const byKind = Object.fromEntries(records.map((r) => [r.kind, r]))
    expect(Object.keys(byKind).sort()).toEqual(['audio', 'completion', 'embedding', 'image', 'other', 'response'])
    for (const record of records) expect(record.file.startsWith(join('openai', record.kind))).toBe(true)

    expect(byKind.completion.answer!.choices[0].content).toBe(expectedReply('complete me'))
    expect(byKind.embedding).toMatchObject({ model: 'text-embedding-3-small', answer: null, request: { input: 'embed me' } })
    expect(byKind.embedding.usage!.estimated).toBe(false)
    expect(byKind.response).toMatchObject({ stream: true, model: 'gpt-4o' })
    expect(byKind.response.answer!.choices[0].content).toBe(expectedReply('respond to me'))
    expect(byKind.image).toMatchObject({ model: 'dall-e-3', request: { prompt: 'a cat' }, status: 200 })
    // Multipart is streamed through unparsed: metadata only.
    expect(byKind.audio).toMatchObject({ method: 'POST', path: '/v1/audio/transcriptions', request: null, model: null, status: 200, outcome: 'complete' })
    expect(transcription.text).toContain('2048 bytes')
    expect(byKind.other).toMatchObject({ method: 'GET', path: '/v1/models', request: null })
  })

  it('records only the kinds asked for', async () => {
    const { client } = await start({ kinds: ['embedding'] })
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'not me' }] })
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'me' })
    await waitForRecords(dir, 1)
    await new Promise((r) => setTimeout(r, 100))
    expect(readRecords(dir).map((r) => r.kind)).toEqual(['embedding'])
  })

  it('records general routes with a dialect (keys in the query masked) and skips those without', async () => {
    dir = mkdtempSync(join(tmpdir(), 'aifd-chatlog-'))
    gw = await startTestGateway({
      routes: {
        gemini: { path: '/gemini', target: mock.url, type: 'general', dialect: 'gemini' },
        opaque: { path: '/opaque', target: mock.url, type: 'general' },
      },
      plugins: [chatLog({ dir, flushInterval: 20 })],
    })
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hola' }] }] })
    const gemini = await fetch(`${gw.url}/gemini/v1beta/models/gemini-2.0-flash:generateContent?key=AIza-secret-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(gemini.status).toBe(200)
    const opaque = await fetch(`${gw.url}/opaque/v1beta/models/gemini-2.0-flash:generateContent?key=AIza-secret-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(opaque.status).toBe(200)
    await Promise.all([gemini.text(), opaque.text()])
    const [record] = await waitForRecords(dir, 1)
    await new Promise((r) => setTimeout(r, 100))
    expect(readRecords(dir)).toHaveLength(1)
    expect(record).toMatchObject({ route: 'gemini', kind: 'chat', model: 'gemini-2.0-flash', path: '/gemini/v1beta/models/gemini-2.0-flash:generateContent?key=***' })
    expect(record.answer!.choices[0].content).toContain('hola')
    expect(readFileSync(join(dir, record.file), 'utf8')).not.toContain('AIza-secret-key')
  })

  it('records the caller name, and requests another plugin answered (a cache hit)', async () => {
    const identify: ForwardPlugin = { name: 'identify', onRequest: (ctx) => void (ctx.caller = { name: 'alice', level: 'gold' }) }
    const cache: ForwardPlugin = {
      name: 'cache',
      onRequest: (ctx) => (ctx.headers['x-test-cached'] ? jsonResponse(200, { id: 'cached', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'from cache' }, finish_reason: 'stop' }] }) : undefined),
    }
    dir = mkdtempSync(join(tmpdir(), 'aifd-chatlog-'))
    gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } }, plugins: [identify, chatLog({ dir, flushInterval: 20 }), cache] })
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: API_KEY, maxRetries: 0 })
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'cached?' }] }, { headers: { 'x-test-cached': '1' } })
    expect(answer.choices[0].message.content).toBe('from cache')
    const [record] = await waitForRecords(dir, 1)
    expect(record).toMatchObject({ caller: 'alice', cacheHit: true, answeredBy: 'cache', attempts: 0, target: null, status: 200 })
    expect(record.answer!.choices[0].content).toBe('from cache')
    expect(record.request!.messages).toEqual([{ role: 'user', content: 'cached?' }])
  })
})

describe('chatLog: writing', () => {
  it('writes records before the flush interval once a few hundred KB of them are waiting, so memory stays flat under load', async () => {
    const { client } = await start({ flushInterval: '1h' })
    // Each record carries the prompt twice (request and echoed answer): 4 of these pass 256 KB.
    const long = 'x'.repeat(40_000)
    for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `${i} ${long}` }] })
    const records = await waitForRecords(dir, 4, 3000)
    expect(records.map((r) => (r.request!.messages as Array<{ content: string }>)[0].content.slice(0, 2))).toEqual(['0 ', '1 ', '2 ', '3 '])
    // A short record after that waits for the interval (an hour here) as before.
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'short' }] })
    await new Promise((r) => setTimeout(r, 200))
    expect(readRecords(dir)).toHaveLength(4)
  })

  it('writes the request as the client sent it, on one line, even when it came pretty-printed', async () => {
    const { gw } = await start()
    // Spelt 1.50 and a 20-digit id: a parse and re-serialise would write 1.5 and 12345678901234567000.
    const sent = '{\n  "model": "gpt-4o",\r\n  "messages": [{"role": "user", "content": "line one\\nline two"}],\n  "temperature": 1.50,\n  "user_id": 12345678901234567890\n}'
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }, body: sent })
    expect(res.status).toBe(200)
    const [record] = await waitForRecords(dir, 1)
    expect(record.request).toEqual(JSON.parse(sent))
    const lines = readFileSync(join(dir, record.file), 'utf8').split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('"temperature": 1.50,')
    expect(lines[0]).toContain('"user_id": 12345678901234567890')
    expect(lines[0]).toContain('"content": "line one\\nline two"')
  })

  it('masks data with redact rules and functions before writing', async () => {
    const { client } = await start({
      redact: [
        { pattern: /[\w.+-]+@[\w-]+\.[\w.]+/, replace: '[email]' },
        (record) => ({ ...record, ip: '0.0.0.0' }),
        (record) => (record.model === 'skip-me' ? null : record),
      ],
    })
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'mail bob@example.com and amy.x@mail.example.org' }] })
    await client.chat.completions.create({ model: 'skip-me', messages: [{ role: 'user', content: 'secret' }] })
    const [record] = await waitForRecords(dir, 1)
    await new Promise((r) => setTimeout(r, 100))
    expect(readRecords(dir)).toHaveLength(1)
    const text = readFileSync(join(dir, record.file), 'utf8')
    expect(text).not.toMatch(/bob@|amy\.x@/)
    expect((record.request!.messages as Array<{ content: string }>)[0].content).toBe('mail [email] and [email]')
    expect(record.answer!.choices[0].content).toContain('mail [email] and [email]')
    expect(record.ip).toBe('0.0.0.0')
  })

  it('rotates files by size: <date>.jsonl, <date>.1.jsonl, … none over the limit', async () => {
    const { client } = await start({ maxFileSize: '4kb' })
    for (let i = 0; i < 12; i++) await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `rotate ${i}` }] })
    const records = await waitForRecords(dir, 12)
    const files = logFiles(dir)
    expect(files.length).toBeGreaterThan(2)
    const stem = join('openai', 'chat', today())
    expect(files).toContain(`${stem}.jsonl`)
    expect(files).toContain(`${stem}.1.jsonl`)
    for (const file of files) {
      expect(file).toMatch(/\d{4}-\d{2}-\d{2}(\.\d+)?\.jsonl$/)
      expect(statSync(join(dir, file)).size).toBeLessThanOrEqual(4096)
    }
    expect(new Set(records.map((r) => r.id)).size).toBe(12)
  })

  it('keeps serving when the folder cannot be written, reports it once, and says when writing works again', async () => {
    const base = mkdtempSync(join(tmpdir(), 'aifd-chatlog-'))
    dir = base
    const blocker = join(base, 'not-a-folder')
    writeFileSync(blocker, 'a regular file')
    const { log, entries } = captureLogger()
    const running = await startGateway(resolveConfig({
      routes: { openai: { path: '/', target: mock.url } },
      plugins: [chatLog({ dir: join(blocker, 'Log'), flushInterval: 10 })],
      server: { port: 0, host: '127.0.0.1' },
    }), { log })
    stops.push(() => running.close(0))
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 })
    for (let i = 0; i < 5; i++) {
      const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `still served ${i}` }] })
      expect(answer.choices[0].message.content).toBe(expectedReply(`still served ${i}`))
      await new Promise((r) => setTimeout(r, 30)) // let a batch fail between requests
    }
    const errors = () => entries.filter((e) => e.type === 'error' && e.text.includes('chatLog'))
    expect(errors()).toHaveLength(1)
    expect(errors()[0].text).toContain('cannot write')

    // Make the path writable: the next batch lands, and the loss is reported.
    await new Promise((r) => setTimeout(r, 100))
    rmSync(blocker)
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'written' }] })
    const records = await waitForRecords(join(blocker, 'Log'), 1)
    expect(records.map((r) => (r.request!.messages as Array<{ content: string }>)[0].content)).toContain('written')
    expect(errors()).toHaveLength(1)
    const recovered = entries.find((e) => e.type === 'warn' && e.text.includes('written again'))
    // Every record is either on disk or counted as lost (normally all five before the fix).
    const lost = Number(/(\d+) were lost/.exec(recovered?.text ?? '')?.[1])
    expect(lost).toBeGreaterThanOrEqual(1)
    expect(lost + records.length).toBe(6)
  })

  it('prints a summary of each exchange when print is on', async () => {
    dir = mkdtempSync(join(tmpdir(), 'aifd-chatlog-'))
    const { log, entries } = captureLogger()
    const running = await startGateway(resolveConfig({
      routes: { openai: { path: '/', target: mock.url } },
      plugins: [chatLog({ dir, flushInterval: 10, print: true })],
      server: { port: 0, host: '127.0.0.1' },
    }), { log })
    stops.push(() => running.close(0))
    const client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 })
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'print me' }] })
    await waitForRecords(dir, 1)
    const printed = entries.find((e) => e.text.includes('[openai/chat]'))
    expect(printed?.text).toContain('gpt-4o')
    expect(printed?.text).toContain('user: print me')
    expect(printed?.text).toContain(`assistant: ${expectedReply('print me').slice(0, 40)}`)
  })

  it('refuses bad options when the config loads, naming the field', () => {
    expect(() => chatLog({ maxFileSize: 'huge' })).toThrow(ConfigError)
    expect(() => chatLog({ maxFileSize: 'huge' })).toThrow(/plugins\.chatLog\.maxFileSize/)
    expect(() => chatLog({ flushInterval: -1 })).toThrow(/plugins\.chatLog\.flushInterval/)
    expect(() => chatLog({ kinds: ['chats' as never] })).toThrow(/plugins\.chatLog\.kinds/)
    expect(() => chatLog({ redact: [{ pattern: 'x' as never }] })).toThrow(/plugins\.chatLog\.redact\[0\]/)
    expect(() => chatLog({ maxQueue: 0 })).toThrow(/plugins\.chatLog\.maxQueue/)
    dir = mkdtempSync(join(tmpdir(), 'aifd-chatlog-'))
  })
})
