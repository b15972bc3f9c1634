// translate({ from: 'anthropic' }): @anthropic-ai/sdk clients served by the mock's OpenAI chat completions.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { expectedReply, MODELS, PNG_1X1, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { chatLog, keys, translate } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { waitForRecords } from '../plugins/chatLog-helpers.ts'

let mock: MockUpstream
let gw: TestGateway
let client: Anthropic
let logDir: string
const KEY = 'sk-openai-test'
const models = { 'claude-sonnet-4-5': 'gpt-4o', 'claude-thinker': 'mock-reasoning' }

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'aifd-translate-from-'))
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      oai: { path: '/oai', target: mock.url, type: 'general', dialect: 'anthropic', plugins: [translate({ from: 'anthropic', models })] },
      keyed: {
        path: '/keyed', target: mock.url, type: 'general', dialect: 'anthropic',
        plugins: [keys({ keys: ['sk-real-openai-key'], forwardKeys: { bob: 'fk-bob-123456' } }), translate({ from: 'anthropic', models }), chatLog({ dir: logDir, flushInterval: 10 })],
      },
      down: { path: '/down', target: 'http://127.0.0.1:9', type: 'general', dialect: 'anthropic', plugins: [translate({ from: 'anthropic' })] },
    },
  })
  client = new Anthropic({ baseURL: `${gw.url}/oai`, apiKey: KEY, maxRetries: 0 })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
  rmSync(logDir, { recursive: true, force: true })
})
beforeEach(() => mock.reset())

const sent = () => {
  const record = mock.requests[mock.requests.length - 1]
  return { ...record, json: JSON.parse(record.body.toString('utf8') || 'null') }
}
const tools = [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }]

describe('messages.create', () => {
  it('goes to /v1/chat/completions with a Bearer key, system first, the mapped model; the answer is an Anthropic message', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 300, system: 'Be kind.', stop_sequences: ['END'], messages: [{ role: 'user', content: 'hi there' }] })
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-4o', stop_reason: 'end_turn', content: [{ type: 'text', text: expectedReply('hi there') }] })
    expect(message.id).toMatch(/^msg_/)
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBeGreaterThan(0)
    const request = sent()
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions', apiKey: KEY, status: 200 })
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(request.headers['x-api-key']).toBeUndefined()
    expect(request.headers['anthropic-version']).toBeUndefined()
    expect(request.json).toEqual({ model: 'gpt-4o', max_tokens: 300, stop: ['END'], messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'hi there' }] })
  })

  it('a tool call, then its tool_result: tool_calls and a tool message, ids kept', async () => {
    const first = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Bern' }] })
    expect(first.stop_reason).toBe('tool_use')
    const use = first.content.find((b) => b.type === 'tool_use')!
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Bern' } })
    expect(sent().json).toMatchObject({ tool_choice: 'required', tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: tools[0].input_schema } }] })
    const second = await client.messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 100, tools,
      messages: [{ role: 'user', content: 'Bern' }, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'fog' }] }],
    })
    expect(second.content).toEqual([{ type: 'text', text: expectedReply('fog') }])
    expect(sent().json.messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: use.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Bern"}' } }] },
      { role: 'tool', tool_call_id: use.id, content: 'fog' },
    ])
  })

  it('images become image_url parts; a document block is refused with Anthropic 400', async () => {
    const data = PNG_1X1.toString('base64')
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }, { type: 'text', text: 'what' }] }] })
    expect(sent().json.messages[0].content).toEqual([{ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }, { type: 'text', text: 'what' }])
    const error = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('messages.0.content.0.type') } })
  })
})

describe('messages.stream', () => {
  it('finalMessage() with tools: the tool_use input arrives whole from input_json_delta events', async () => {
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, tools, messages: [{ role: 'user', content: 'Quito' }] })
    const partial: string[] = []
    stream.on('inputJson', (delta) => partial.push(delta))
    const message = await stream.finalMessage()
    expect(message.stop_reason).toBe('tool_use')
    expect(message.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Quito' } })
    expect(partial.length).toBeGreaterThan(1)
    expect(sent().json).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(message.usage.output_tokens).toBeGreaterThan(0)
  })

  it('finalMessage() with thinking: reasoning_content becomes a thinking block before the text', async () => {
    const stream = client.messages.stream({ model: 'claude-thinker', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'why' }] })
    let thinking = ''
    stream.on('thinking', (delta) => (thinking += delta))
    const message = await stream.finalMessage()
    expect(sent().json).toMatchObject({ model: 'mock-reasoning', reasoning_effort: 'low' })
    expect(message.content.map((b) => b.type)).toEqual(['thinking', 'text'])
    expect(message.content[0]).toMatchObject({ thinking: 'Let me think about "why".' })
    expect(thinking).toBe('Let me think about "why".')
    expect(message.content[1]).toMatchObject({ text: expectedReply('why') })
  })

  it("a stream the target cuts ends with Anthropic's error event, which the SDK throws", async () => {
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'cut' }] }, { headers: { 'x-mock-break-after': '5', 'x-mock-chunk-delay-ms': '2' } })
    let text = ''
    stream.on('text', (delta) => (text += delta))
    const error = await stream.finalMessage().catch((e) => e)
    expect(text.length).toBeGreaterThan(0)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(error.message).toContain("The upstream's stream broke")
  })

  it("Anthropic's event order, no [DONE]", async () => {
    const response = await fetch(`${gw.url}/oai/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'x-mock-chunks': '3' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'order' }] }),
    })
    const text = await response.text()
    const names = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
    expect(names).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'])
    expect(text).not.toContain('[DONE]')
    const delta = JSON.parse(/event: message_delta\ndata: (.*)/.exec(text)![1])
    expect(delta).toMatchObject({ delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: expect.any(Number), input_tokens: expect.any(Number) } })
  })
})

describe('errors, models, count_tokens', () => {
  it('an upstream 429 comes back as Anthropic rate_limit_error with the status kept', async () => {
    const error = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-mock-status': '429' } }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.RateLimitError)
    expect(error.error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for requests (mock upstream forced 429).' } })
  })

  it("the gateway's own failure (target down) in Anthropic's shape", async () => {
    const down = new Anthropic({ baseURL: `${gw.url}/down`, apiKey: KEY, maxRetries: 0 })
    const error = await down.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e)
    expect(error.status).toBe(502)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'api_error' } })
  })

  it('models.list() in Anthropic shape', async () => {
    const ids = []
    for await (const model of client.models.list()) {
      expect(model.type).toBe('model')
      ids.push(model.id)
    }
    expect(ids).toEqual(MODELS.map((m) => m.id))
    expect(sent().headers.authorization).toBe(`Bearer ${KEY}`)
  })

  it('count_tokens is answered by the gateway (no OpenAI counterpart)', async () => {
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'count these few words please' }] })
    expect(counted.input_tokens).toBeGreaterThan(5)
    expect(mock.requests).toHaveLength(0)
  })

  it('with keys and chatLog: the real key goes as Bearer, the log holds the Anthropic-shaped exchange with upstream usage', async () => {
    const bob = new Anthropic({ baseURL: `${gw.url}/keyed`, apiKey: 'fk-bob-123456', maxRetries: 0 })
    const message = await bob.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'log me' }] }).finalMessage()
    expect(sent().headers.authorization).toBe('Bearer sk-real-openai-key')
    const [record] = await waitForRecords(logDir, 1)
    expect(record).toMatchObject({ route: 'keyed', caller: 'bob', provider: 'openai', stream: true, status: 200 })
    expect(record.answer!.choices[0]).toMatchObject({ content: expectedReply('log me'), finishReason: 'end_turn' })
    expect(record.usage).toEqual({ promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens, totalTokens: message.usage.input_tokens + message.usage.output_tokens, estimated: false })
  })
})
