// translate({ to: 'gemini' }): the official `openai` SDK against the mock speaking Gemini's generateContent API.
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { expectedReply, GEMINI_MODELS, PNG_1X1, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { translate } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { KEY, sdk } from '../kernel/util.ts'

let mock: MockUpstream
let gw: TestGateway
let client: OpenAI

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({ routes: { gemini: { path: '/gemini', target: mock.url, type: 'openai', plugins: [translate({ to: 'gemini', models: { 'gpt-4o': 'gemini-2.5-flash' } })] } } })
  client = sdk(`${gw.url}/gemini`)
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

const user = (content: string) => [{ role: 'user' as const, content }]
const sent = () => {
  const record = mock.requests[mock.requests.length - 1]
  return { ...record, json: JSON.parse(record.body.toString('utf8') || 'null') }
}
const weather = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]
const post = (body: object, headers: Record<string, string> = {}) => fetch(`${gw.url}/gemini/v1/chat/completions`, {
  method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
})
const chunksOf = (text: string) => text.trim().split('\n\n').filter((e) => e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)))

describe('requests', () => {
  it('go to generateContent with x-goog-api-key, systemInstruction, contents and generationConfig', async () => {
    const answer = await client.chat.completions.create({
      model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello gemini' }],
      temperature: 0.2, top_p: 0.8, max_completion_tokens: 50, stop: ['END'], seed: 7,
    })
    expect(answer.choices[0].message.content).toBe(expectedReply('hello gemini'))
    const request = sent()
    expect(request).toMatchObject({ method: 'POST', path: '/v1beta/models/gemini-2.5-flash:generateContent', apiKey: KEY, status: 200 })
    expect(request.headers['x-goog-api-key']).toBe(KEY)
    expect(request.headers.authorization).toBeUndefined()
    expect(request.json).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [{ role: 'user', parts: [{ text: 'hello gemini' }] }],
      generationConfig: { temperature: 0.2, topP: 0.8, maxOutputTokens: 50, stopSequences: ['END'], seed: 7 },
    })
  })

  it('images: base64 as inlineData, URLs as fileData', async () => {
    const data = PNG_1X1.toString('base64')
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: [
      { type: 'text', text: 'what' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } },
      { type: 'image_url', image_url: { url: 'https://example.com/a.webp' } },
    ] }] })
    expect(sent().json.contents[0].parts).toEqual([{ text: 'what' }, { inlineData: { mimeType: 'image/png', data } }, { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/a.webp' } }])
  })

  it.each([
    [{ logprobs: true }, 'logprobs'],
    [{ parallel_tool_calls: false, tools: weather }, 'parallel_tool_calls'],
    [{ logit_bias: { 1: 2 } }, 'logit_bias'],
  ])('%j is refused with a 400 naming the field', async (extra, field) => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x'), ...(extra as object) }).catch((e) => e)
    expect(error.status).toBe(400)
    expect(error.param).toBe(field)
    expect(mock.requests).toHaveLength(0)
  })
})

describe('JSON answers', () => {
  it('usage with cached tokens; n becomes candidateCount and each candidate a choice', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('two'), n: 2 }, { headers: { 'x-mock-cached-tokens': '1' } })
    expect(sent().json.generationConfig).toEqual({ candidateCount: 2 })
    expect(answer.choices.map((c) => c.message.content)).toEqual([expectedReply('two'), expectedReply('two', { choiceIndex: 1 })])
    expect(answer.choices.map((c) => c.finish_reason)).toEqual(['stop', 'stop'])
    expect(answer.model).toBe('gemini-2.5-flash')
    expect(answer.usage!.prompt_tokens_details?.cached_tokens).toBe(1)
    expect(answer.usage!.total_tokens).toBe(answer.usage!.prompt_tokens + answer.usage!.completion_tokens)
  })

  it('a function call with a generated id, then its result as a functionResponse named after the call', async () => {
    const first = await client.chat.completions.create({ model: 'gpt-4o', messages: user('Oslo'), tools: weather, tool_choice: 'auto' })
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(first.choices[0].finish_reason).toBe('tool_calls')
    expect(call.id).toMatch(/^call_/)
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Oslo' })
    expect(sent().json).toMatchObject({ tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather in a city', parametersJsonSchema: weather[0].function.parameters }] }], toolConfig: { functionCallingConfig: { mode: 'AUTO' } } })
    const second = await client.chat.completions.create({ model: 'gpt-4o', tools: weather, messages: [...user('Oslo'), first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'snow' }] })
    expect(second.choices[0].message.content).toBe(expectedReply('snow'))
    expect(sent().json.contents).toEqual([
      { role: 'user', parts: [{ text: 'Oslo' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { content: 'snow' } } }] },
    ])
  })

  it('SAFETY finishes with content_filter', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x') }, { headers: { 'x-mock-finish-reason': 'SAFETY' } })
    expect(answer.choices[0].finish_reason).toBe('content_filter')
  })

  it('reasoning_effort becomes thinkingConfig; thoughts come back as reasoning_content and reasoning tokens', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: user('ponder'), reasoning_effort: 'medium' })
    expect(sent().json.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 8192, includeThoughts: true } })
    expect((answer.choices[0].message as { reasoning_content?: string }).reasoning_content).toBe('Let me think about "ponder".')
    expect(answer.choices[0].message.content).toBe(expectedReply('ponder'))
    expect(answer.usage!.completion_tokens_details?.reasoning_tokens).toBeGreaterThan(0)
  })

  it('response_format json_schema becomes responseMimeType and responseJsonSchema', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    await client.chat.completions.create({ model: 'gpt-4o', messages: user('x'), response_format: { type: 'json_schema', json_schema: { name: 's', schema } } })
    expect(sent().json.generationConfig).toEqual({ responseMimeType: 'application/json', responseJsonSchema: schema })
  })
})

describe('streams', () => {
  it('chat.completions.stream() with tools and include_usage, through streamGenerateContent?alt=sse', async () => {
    const stream = client.chat.completions.stream({ model: 'gpt-4o', messages: user('Rome'), tools: weather, stream_options: { include_usage: true } })
    const final = await stream.finalChatCompletion()
    expect(sent().path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')
    const call = final.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Rome' })
    expect(call.id).toMatch(/^call_/)
    expect(final.choices[0].finish_reason).toBe('tool_calls')
    expect(final.usage!.completion_tokens).toBeGreaterThan(0)
  })

  it('text and thoughts delta by delta (CRLF events), finish chunk, [DONE]; no usage chunk unless asked', async () => {
    const text = await post({ model: 'gpt-4o', messages: user('flow'), stream: true, reasoning_effort: 'low' }).then((r) => r.text())
    expect(text.trim().endsWith('data: [DONE]')).toBe(true)
    const chunks = chunksOf(text)
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true)
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(expectedReply('flow'))
    expect(chunks.map((c) => c.choices[0].delta.reasoning_content ?? '').join('')).toBe('Let me think about "flow".')
    expect(chunks.filter((c) => c.choices[0].delta.content).length).toBe(20)
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop')
  })

  it('SAFETY in a stream finishes with content_filter; include_usage gives the usage chunk last', async () => {
    const chunks = chunksOf(await post({ model: 'gpt-4o', messages: user('x'), stream: true, stream_options: { include_usage: true } }, { 'x-mock-finish-reason': 'SAFETY' }).then((r) => r.text()))
    expect(chunks.at(-2).choices[0].finish_reason).toBe('content_filter')
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: expect.any(Number) } })
  })

  it('an error event mid-stream ends with the gateway error event', async () => {
    const text = await post({ model: 'gpt-4o', messages: user('x'), stream: true }, { 'x-mock-stream-error': 'UNAVAILABLE' }).then((r) => r.text())
    expect(JSON.parse(text.trim().split('\n\n').at(-1)!.slice(6))).toEqual({ error: { message: 'The model is overloaded. Please try again later.', type: 'api_error', param: null, code: 'unavailable' } })
  })
})

describe('errors and models', () => {
  it.each([
    [429, OpenAI.RateLimitError, 'resource_exhausted'],
    [503, OpenAI.InternalServerError, 'unavailable'],
    [404, OpenAI.NotFoundError, 'not_found'],
  ])('Gemini %i keeps its status, in OpenAI error shape', async (status, type, code) => {
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: user('x') }, { headers: { 'x-mock-status': String(status) } }).catch((e) => e)
    expect(error).toBeInstanceOf(type)
    expect(error.status).toBe(status)
    expect(error.code).toBe(code)
  })

  it('a bad key: Gemini 400 INVALID_ARGUMENT with its message, never the key', async () => {
    const error = await sdk(`${gw.url}/gemini`, { apiKey: 'sk-bad-gemini-secret' }).chat.completions.create({ model: 'gpt-4o', messages: user('x') }).catch((e) => e)
    expect(error.status).toBe(400)
    expect(error.error).toEqual({ message: 'API key not valid. Please pass a valid API key.', type: 'invalid_request_error', param: null, code: 'invalid_argument' })
  })

  it('GET /v1/models lists Gemini models by their short names', async () => {
    const ids = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(GEMINI_MODELS.map((m) => m.name.slice('models/'.length)))
    expect(sent().path).toBe('/v1beta/models')
    expect((await client.models.retrieve('gemini-2.5-pro')).owned_by).toBe('google')
  })
})
