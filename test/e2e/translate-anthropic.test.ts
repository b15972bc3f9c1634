// translate({ to: 'anthropic' }): the official `openai` SDK against the mock speaking Anthropic's Messages API.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ANTHROPIC_MODELS, expectedReply, PNG_1X1, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { cache, chatLog, keys, retry, tokenLimit, translate } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { waitForRecords } from '../plugins/chatLog-helpers.ts'
import { KEY, sdk } from '../kernel/util.ts'

let mock: MockUpstream
let gw: TestGateway
let client: OpenAI
let logDir: string

const REAL_KEY = 'sk-ant-real-key-0123456789'
const FORWARD_KEY = 'fk-alice-0123456789'

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'aifd-translate-'))
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      claude: { path: '/claude', target: mock.url, type: 'openai', plugins: [translate({ to: 'anthropic', models: { 'gpt-4o': 'claude-sonnet-4-5' } })] },
      chain: {
        path: '/chain', target: mock.url, type: 'openai',
        plugins: [
          keys({ keys: [REAL_KEY], forwardKeys: { alice: FORWARD_KEY } }),
          translate({ to: 'anthropic', models: { 'gpt-4o': 'claude-sonnet-4-5' } }),
          tokenLimit({ limit: '100k/minute' }),
          cache(),
          retry({ attempts: 3, backoff: { base: 1, max: 5 } }),
          chatLog({ dir: logDir, flushInterval: 10 }),
        ],
      },
    },
  })
  client = sdk(`${gw.url}/claude`)
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
  rmSync(logDir, { recursive: true, force: true })
})
beforeEach(() => mock.reset())

const user = (content: string) => [{ role: 'user' as const, content }]
/** The last request the mock got, its body parsed. */
const sent = () => {
  const record = mock.requests[mock.requests.length - 1]
  return { ...record, json: JSON.parse(record.body.toString('utf8') || 'null') }
}
const weather = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]

describe('requests', () => {
  it('goes to /v1/messages with the key in x-api-key, anthropic-version, the mapped model, system and a default max_tokens', async () => {
    const answer = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'developer', content: 'Speak English.' }, { role: 'user', content: 'hello json' }],
      temperature: 0.5, top_p: 0.9, stop: 'END',
    })
    expect(answer.choices[0].message.content).toBe(expectedReply('hello json'))
    const request = sent()
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages', apiKey: KEY, status: 200 })
    expect(request.headers['x-api-key']).toBe(KEY)
    expect(request.headers.authorization).toBeUndefined()
    expect(request.headers['anthropic-version']).toBe('2023-06-01')
    expect(request.json).toEqual({
      model: 'claude-sonnet-4-5', system: 'Be brief.\n\nSpeak English.', max_tokens: 4096,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello json' }] }],
      temperature: 0.5, top_p: 0.9, stop_sequences: ['END'],
    })
  })

  it('max_completion_tokens (or max_tokens) becomes max_tokens; a model not in the map goes as written', async () => {
    const answer = await client.chat.completions.create({ model: 'claude-3-5-haiku-20241022', messages: user('cap me'), max_completion_tokens: 3 })
    expect(sent().json).toMatchObject({ model: 'claude-3-5-haiku-20241022', max_tokens: 3 })
    expect(answer.choices[0].finish_reason).toBe('length')
    await client.chat.completions.create({ model: 'gpt-4o', messages: user('cap me'), max_tokens: 7 })
    expect(sent().json.max_tokens).toBe(7)
  })

  it('images by URL and as base64 data become image blocks', async () => {
    const data = PNG_1X1.toString('base64')
    await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'what is this' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } },
      ] }],
    })
    expect(sent().json.messages[0].content).toEqual([
      { type: 'text', text: 'what is this' },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data } },
    ])
  })

  it('tools, tool_choice and parallel_tool_calls map to Anthropic tools', async () => {
    await client.chat.completions.create({ model: 'gpt-4o', messages: user('Paris'), tools: weather, tool_choice: 'required', parallel_tool_calls: false })
    expect(sent().json).toMatchObject({
      tools: [{ name: 'get_weather', description: 'Weather in a city', input_schema: weather[0].function.parameters }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    })
    await client.chat.completions.create({ model: 'gpt-4o', messages: user('Paris'), tools: weather, tool_choice: { type: 'function', function: { name: 'get_weather' } } })
    expect(sent().json.tool_choice).toEqual({ type: 'tool', name: 'get_weather' })
    await client.chat.completions.create({ model: 'gpt-4o', messages: user('Paris'), tools: weather, tool_choice: 'none' })
    expect(sent().json.tool_choice).toEqual({ type: 'none' })
  })

  it.each([
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ frequency_penalty: 1 }, 'frequency_penalty'],
    [{ logit_bias: { 50256: -100 } }, 'logit_bias'],
    [{ audio: { voice: 'alloy', format: 'mp3' } }, 'audio'],
    [{ response_format: { type: 'json_object' } }, 'response_format'],
    [{ made_up_field: 1 }, 'made_up_field'],
  ])('%j is refused with a 400 naming the field, nothing sent upstream', async (extra, field) => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x'), ...(extra as object) }).catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.status).toBe(400)
    expect(error.param).toBe(field)
    expect(error.message).toContain(field)
    expect(mock.requests).toHaveLength(0)
  })

  it('neutral values of those fields (n: 1, logprobs: false) pass', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('neutral'), n: 1, logprobs: false, presence_penalty: 0 })
    expect(answer.choices[0].message.content).toBe(expectedReply('neutral'))
  })

  it('a content part Anthropic has no block for (audio) is refused naming its place', async () => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }).catch((e) => e)
    expect(error.status).toBe(400)
    expect(error.param).toBe('messages[0].content[0].type')
    expect(mock.requests).toHaveLength(0)
  })
})

describe('JSON answers', () => {
  it('content, finish_reason and usage with cached tokens', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('hello usage') }, { headers: { 'x-mock-cached-tokens': '2' } })
    expect(answer.object).toBe('chat.completion')
    expect(answer.id).toMatch(/^chatcmpl-msg_/)
    expect(answer.model).toBe('claude-sonnet-4-5')
    expect(answer.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: expectedReply('hello usage') } })
    const usage = answer.usage!
    expect(usage.prompt_tokens_details?.cached_tokens).toBe(2)
    expect(usage.prompt_tokens).toBeGreaterThan(2)
    expect(usage.completion_tokens).toBeGreaterThan(0)
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens)
  })

  it('a tool call, then its result: tool_use/tool_result blocks paired as Anthropic requires, ids kept', async () => {
    const first = await client.chat.completions.create({ model: 'gpt-4o', messages: user('Paris'), tools: weather })
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(first.choices[0].finish_reason).toBe('tool_calls')
    expect(first.choices[0].message.content).toBeNull()
    expect(call.id).toMatch(/^toolu_/)
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    const second = await client.chat.completions.create({
      model: 'gpt-4o', tools: weather,
      messages: [...user('Paris'), first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' }],
    })
    expect(second.choices[0].message.content).toBe(expectedReply('sunny, 21 C'))
    expect(sent().json.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Paris' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny, 21 C' }] },
    ])
  })

  it('reasoning_effort becomes thinking; the thinking comes back as reasoning_content', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('think'), reasoning_effort: 'low', max_tokens: 100 })
    expect(sent().json).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 1124 })
    const message = answer.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string }
    expect(message.reasoning_content).toBe('Let me think about "think".')
    expect(message.content).toBe(expectedReply('think'))
  })

  it('response_format json_schema: the answer is the schema-shaped JSON, finish_reason stop', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('Rome'), response_format: { type: 'json_schema', json_schema: { name: 'place', schema } } })
    expect(sent().json).toMatchObject({ tools: [{ name: 'place', input_schema: schema }], tool_choice: { type: 'tool', name: 'place' } })
    expect(JSON.parse(answer.choices[0].message.content!)).toEqual({ city: 'Rome' })
    expect(answer.choices[0].finish_reason).toBe('stop')
    expect(answer.choices[0].message.tool_calls).toBeUndefined()
  })
})

describe('streams', () => {
  it('chat.completions.stream() with tools and include_usage: tool call argument deltas, finish_reason and usage', async () => {
    const stream = client.chat.completions.stream({ model: 'gpt-4o', messages: user('Lyon'), tools: weather, stream_options: { include_usage: true } }, { headers: { 'x-mock-chunks': '4' } })
    const argumentDeltas: string[] = []
    stream.on('tool_calls.function.arguments.delta', (event) => argumentDeltas.push(event.arguments_delta))
    const final = await stream.finalChatCompletion()
    const call = final.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(call.id).toMatch(/^toolu_/)
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Lyon' })
    expect(argumentDeltas.length).toBeGreaterThan(1)
    expect(argumentDeltas.join('')).toBe(call.function.arguments)
    expect(final.choices[0].finish_reason).toBe('tool_calls')
    expect(final.usage!.completion_tokens).toBeGreaterThan(0)
    expect(final.usage!.total_tokens).toBe(final.usage!.prompt_tokens + final.usage!.completion_tokens)
  })

  it('text and thinking arrive delta by delta; without include_usage no usage chunk reaches the client', async () => {
    const response = await fetch(`${gw.url}/claude/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: user('stream me'), stream: true, reasoning_effort: 'medium' }),
    })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await response.text()
    const events = text.split('\n\n').filter(Boolean)
    expect(events.at(-1)).toBe('data: [DONE]')
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)))
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices.length === 1)).toBe(true)
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' })
    const content = chunks.map((c) => c.choices[0].delta.content ?? '').join('')
    const reasoning = chunks.map((c) => c.choices[0].delta.reasoning_content ?? '').join('')
    expect(content).toBe(expectedReply('stream me'))
    expect(reasoning).toBe('Let me think about "stream me".')
    expect(chunks.filter((c) => c.choices[0].delta.content).length).toBeGreaterThanOrEqual(20)
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop')
    expect(text).not.toContain('ping')
  })

  it('is not held back: the first delta reaches the client while Anthropic is still streaming', async () => {
    const response = await fetch(`${gw.url}/claude/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '150', 'x-mock-chunks': '6' },
      body: JSON.stringify({ model: 'gpt-4o', messages: user('slow'), stream: true }),
    })
    const reader = response.body!.getReader()
    let seen = ''
    while (!seen.includes('"content":"Hello')) seen += new TextDecoder().decode((await reader.read()).value)
    // The mock is still sending: its request has not completed when the first delta is here.
    expect(mock.requests[0].completed).toBe(false)
    await reader.cancel()
  })

  it('an error event mid-stream ends the stream with the gateway SSE error event; the SDK throws it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: user('boom'), stream: true }, { headers: { 'x-mock-stream-error': 'overloaded_error' } })
    let content = ''
    const error = await (async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? ''
    })().catch((e) => e)
    expect(content.length).toBeGreaterThan(0)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.message).toContain('Overloaded')
    const raw = await fetch(`${gw.url}/claude/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-mock-stream-error': 'overloaded_error' },
      body: JSON.stringify({ model: 'gpt-4o', messages: user('boom'), stream: true }),
    }).then((r) => r.text())
    expect(raw.trim().split('\n\n').at(-1)).toBe('data: {"error":{"message":"Overloaded","type":"api_error","param":null,"code":"overloaded_error"}}')
  })
})

describe('a broken upstream', () => {
  it('a connection cut mid-stream ends the translated stream with the gateway error event', async () => {
    const raw = await fetch(`${gw.url}/claude/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-mock-break-after': '6', 'x-mock-chunk-delay-ms': '5' },
      body: JSON.stringify({ model: 'gpt-4o', messages: user('cut'), stream: true }),
    }).then((r) => r.text())
    const events = raw.trim().split('\n\n')
    expect(events[0]).toContain('"role":"assistant"')
    expect(events.some((e) => e.includes('"content":"Hello!"'))).toBe(true)
    expect(JSON.parse(events.at(-1)!.slice(6)).error.type).toBe('upstream_error')
  })
})

describe('errors and models', () => {
  it.each([
    [400, OpenAI.BadRequestError, 'invalid_request_error'],
    [401, OpenAI.AuthenticationError, 'authentication_error'],
    [403, OpenAI.PermissionDeniedError, 'permission_error'],
    [404, OpenAI.NotFoundError, 'not_found_error'],
    [429, OpenAI.RateLimitError, 'rate_limit_error'],
    [529, OpenAI.InternalServerError, 'overloaded_error'],
  ])('Anthropic %i comes back with its status in OpenAI error shape', async (status, type, code) => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x') }, { headers: { 'x-mock-status': String(status) } }).catch((e) => e)
    expect(error).toBeInstanceOf(type)
    expect(error.status).toBe(status)
    expect(error.code).toBe(code)
    expect(error.message).toMatch(/mock upstream/i)
  })

  it("a request Anthropic refuses: its message, status 400, and never the key", async () => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x'), temperature: 1.5 }).catch((e) => e)
    expect(error.status).toBe(400)
    expect(error.error).toEqual({ message: 'temperature: Input should be less than or equal to 1', type: 'invalid_request_error', param: null, code: 'invalid_request_error' })
    const bad = await sdk(`${gw.url}/claude`, { apiKey: 'sk-bad-secret-key-123' }).chat.completions.create({ model: 'gpt-4o', messages: user('x') }).catch((e) => e)
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(JSON.stringify(bad.error)).not.toContain('sk-bad-secret-key-123')
  })

  it('GET /v1/models and /v1/models/{id} answer in OpenAI shape', async () => {
    const list = []
    for await (const model of client.models.list()) list.push(model)
    expect(list.map((m) => m.id)).toEqual(ANTHROPIC_MODELS.map((m) => m.id))
    expect(list[0]).toEqual({ id: ANTHROPIC_MODELS[0].id, object: 'model', created: Date.parse(ANTHROPIC_MODELS[0].created_at) / 1000, owned_by: 'anthropic' })
    expect(sent().headers['x-api-key']).toBe(KEY)
    const one = await client.models.retrieve(ANTHROPIC_MODELS[1].id)
    expect(one.id).toBe(ANTHROPIC_MODELS[1].id)
    const missing = await client.models.retrieve('claude-none').catch((e) => e)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('an endpoint with no Anthropic counterpart gets 404 unsupported_endpoint', async () => {
    const error = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((e) => e)
    expect(error.status).toBe(404)
    expect(error.code).toBe('unsupported_endpoint')
    expect(mock.requests).toHaveLength(0)
  })
})

describe('with keys, tokenLimit, cache, retry and chatLog on the route', () => {
  it('each sees the OpenAI exchange: real key upstream, retried 529, cached and replayed, logged with the real usage', async () => {
    const alice = sdk(`${gw.url}/chain`, { apiKey: FORWARD_KEY })
    const body = { model: 'gpt-4o', messages: user('chain me'), stream: true as const, caching: true }
    const first = await alice.chat.completions.create(body as never, { headers: { 'x-mock-status': '529', 'x-mock-fail-times': '1', 'x-mock-fail-key': 'chain' } }).withResponse()
    let text = ''
    let usageChunks = 0
    for await (const chunk of first.data as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage) usageChunks++
    }
    expect(text).toBe(expectedReply('chain me'))
    // tokenLimit asked for usage; neither it nor translate shows it to a client that did not.
    expect(usageChunks).toBe(0)
    expect(first.response.headers.get('x-aifd-cache')).toBe('MISS')
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('100000')
    expect(mock.requests.map((r) => r.status)).toEqual([529, 200])
    expect(mock.requests.every((r) => r.headers['x-api-key'] === REAL_KEY && r.headers.authorization === undefined)).toBe(true)
    expect(mock.requests.some((r) => JSON.stringify(r.headers).includes(FORWARD_KEY))).toBe(false)
    expect(JSON.parse(mock.requests[1].body.toString())).not.toHaveProperty('caching')

    await new Promise((resolve) => setTimeout(resolve, 50))
    const again = await alice.chat.completions.create(body as never).withResponse()
    let replayed = ''
    for await (const chunk of again.data as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) replayed += chunk.choices[0]?.delta.content ?? ''
    expect(again.response.headers.get('x-aifd-cache')).toBe('HIT')
    expect(replayed).toBe(text)
    expect(mock.requests).toHaveLength(2)

    const records = await waitForRecords(logDir, 2)
    const [live, hit] = records.sort((a, b) => a.time.localeCompare(b.time))
    expect(live).toMatchObject({ route: 'chain', caller: 'alice', model: 'gpt-4o', provider: 'anthropic', stream: true, status: 200, attempts: 2, cacheHit: false })
    expect(live.request).toMatchObject({ model: 'gpt-4o', messages: user('chain me') })
    expect(live.answer!.choices[0]).toMatchObject({ content: expectedReply('chain me'), finishReason: 'stop' })
    expect(live.usage).toMatchObject({ estimated: false })
    expect(live.usage!.completionTokens).toBeGreaterThan(0)
    expect(hit).toMatchObject({ cacheHit: true, attempts: 0, provider: 'anthropic' })
    expect(hit.answer!.choices[0].content).toBe(expectedReply('chain me'))
  })
})
