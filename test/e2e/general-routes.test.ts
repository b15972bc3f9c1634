// General routes with real clients: Anthropic through @anthropic-ai/sdk, Gemini through plain fetch,
// and the usage/answer the kernel reads for a declared dialect (seen by an onResponse plugin).
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ForwardPlugin, ForwardResult } from '../../src/index.ts'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { lastRecord, until } from '../kernel/util.ts'

let mock: MockUpstream
let gw: TestGateway
let anthropic: Anthropic
const results: ForwardResult[] = []
const recorder: ForwardPlugin = { name: 'recorder', onResponse: (_ctx, result) => void results.push(result) }

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      anthropic: { path: '/anthropic', target: mock.url, type: 'general', dialect: 'anthropic', plugins: [recorder] },
      gemini: { path: '/gemini', target: mock.url, type: 'general', dialect: 'gemini', plugins: [recorder] },
      opaque: { path: '/opaque', target: mock.url, type: 'general', plugins: [recorder] },
    },
  })
  anthropic = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: 'sk-ant-test', maxRetries: 0 })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => {
  mock.reset()
  results.length = 0
})

/** The one result the request just made produced (onResponse runs after the client has its answer). */
async function settled(): Promise<ForwardResult> {
  expect(await until(() => results.length === 1)).toBe(true)
  return results[0]
}

describe('Anthropic-style route through @anthropic-ai/sdk', () => {
  it('JSON: the reply reaches the SDK; its key and anthropic-version reach the upstream; usage is read', async () => {
    const message = await anthropic.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 1024, messages: [{ role: 'user', content: 'hi claude' }] })
    expect(message.content[0]).toMatchObject({ type: 'text', text: expectedReply('hi claude') })
    const rec = lastRecord(mock)
    expect(rec).toMatchObject({ path: '/v1/messages', apiKey: 'sk-ant-test', route: 'anthropic.messages' })
    expect(rec.headers['anthropic-version']).toBeTruthy()

    const result = await settled()
    expect(result.usage()).toEqual({
      promptTokens: message.usage.input_tokens,
      completionTokens: message.usage.output_tokens,
      totalTokens: message.usage.input_tokens + message.usage.output_tokens,
      estimated: false,
    })
    expect(result.answer()!.choices[0]).toMatchObject({ content: expectedReply('hi claude'), finishReason: 'end_turn' })
  })

  it('SSE: the stream helper assembles the message; the kernel reads the same text and usage from the events', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-5-5', max_tokens: 1024, messages: [{ role: 'user', content: 'stream claude' }] })
    let deltas = 0
    stream.on('text', () => deltas++)
    const message = await stream.finalMessage()
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')
    expect(text).toBe(expectedReply('stream claude'))
    expect(deltas).toBe(20)

    const result = await settled()
    expect(result.stream).toBe(true)
    expect(result.answer()!.choices[0].content).toBe(text)
    expect(result.usage()).toMatchObject({ promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens, estimated: false })
  })

  it('tools, streamed: the tool_use input arrives whole; the kernel sees the same tool call', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }]
    const message = await anthropic.messages.stream({ model: 'claude-sonnet-5-5', max_tokens: 256, tools, messages: [{ role: 'user', content: 'Oslo' }] }).finalMessage()
    const block = message.content.find((b) => b.type === 'tool_use')!
    expect(block).toMatchObject({ name: 'get_weather', input: { city: 'Oslo' } })
    const call = (await settled()).answer()!.choices[0].toolCalls[0]
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Oslo' })
  })

  it('an upstream auth error becomes the SDK AuthenticationError', async () => {
    const bad = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: 'sk-bad-key', maxRetries: 0 })
    const error = await bad.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(error.status).toBe(401)
  })
})

describe('Gemini-style route through fetch', () => {
  const body = { contents: [{ role: 'user', parts: [{ text: 'hi gemini' }] }] }
  const post = (path: string, init: { headers?: Record<string, string> } = {}) =>
    fetch(`${gw.url}/gemini${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: JSON.stringify(body) })

  it(':generateContent with ?key=: the reply and usageMetadata; the kernel reads the same usage', async () => {
    const res = await post('/v1beta/models/gemini-2.0-flash:generateContent?key=gk-query')
    expect(res.status).toBe(200)
    const json = await res.json()
    expect(json.candidates[0].content.parts[0].text).toBe(expectedReply('hi gemini'))
    expect(lastRecord(mock)).toMatchObject({ apiKey: 'gk-query', path: '/v1beta/models/gemini-2.0-flash:generateContent?key=gk-query' })
    const usage = json.usageMetadata
    expect((await settled()).usage()).toEqual({ promptTokens: usage.promptTokenCount, completionTokens: usage.candidatesTokenCount, totalTokens: usage.totalTokenCount, estimated: false })
  })

  it(':streamGenerateContent?alt=sse with x-goog-api-key: CRLF-separated events arrive intact; the kernel assembles them', async () => {
    const res = await post('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse', { headers: { 'x-goog-api-key': 'gk-header' } })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const raw = await res.text()
    const events = raw.split('\r\n\r\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')))
    expect(events).toHaveLength(20)
    const text = events.map((e) => e.candidates[0].content.parts[0].text).join('')
    expect(text).toBe(expectedReply('hi gemini'))
    expect(lastRecord(mock).apiKey).toBe('gk-header')

    const result = await settled()
    expect(result.events()).toHaveLength(20)
    expect(result.answer()!.choices[0]).toMatchObject({ content: text, finishReason: 'STOP' })
    const usage = events.at(-1).usageMetadata
    expect(result.usage()).toEqual({ promptTokens: usage.promptTokenCount, completionTokens: usage.candidatesTokenCount, totalTokens: usage.totalTokenCount, estimated: false })
  })

  it(':streamGenerateContent without alt=sse (one JSON array): the kernel reads it too', async () => {
    const res = await post('/v1beta/models/gemini-2.0-flash:streamGenerateContent', { headers: { 'x-goog-api-key': 'gk-header' } })
    const array = await res.json()
    expect(Array.isArray(array)).toBe(true)
    const result = await settled()
    expect(result.answer()!.choices[0].content).toBe(expectedReply('hi gemini'))
    expect(result.usage()!.totalTokens).toBe(array.at(-1).usageMetadata.totalTokenCount)
  })

  it('a missing key: the upstream 403 in Gemini shape passes through unchanged', async () => {
    const res = await post('/v1beta/models/gemini-2.0-flash:generateContent')
    expect(res.status).toBe(403)
    expect((await res.json()).error.status).toBe('PERMISSION_DENIED')
  })
})

describe('a general route without a dialect', () => {
  it('passes bodies opaquely: the client gets them whole, answer() and usage() are undefined', async () => {
    const res = await fetch(`${gw.url}/opaque/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test' },
      body: JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'opaque' }] }),
    })
    const text = await res.text()
    expect(JSON.parse(text).content[0].text).toBe(expectedReply('opaque'))
    expect(lastRecord(mock).headers['x-api-key']).toBe('sk-ant-test')
    const result = await settled()
    expect(result.text()).toBe(text)
    expect(result.answer()).toBeUndefined()
    expect(result.usage()).toBeUndefined()
  })
})
