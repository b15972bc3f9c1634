// The official `openai` SDK (v6) through a bare gateway route, across every endpoint family the mock serves.
import { createHash, randomBytes } from 'node:crypto'
import OpenAI, { toFile } from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { embeddingVector, expectedReply, MODELS, PNG_1X1, speechBytes, startMockUpstream, transcriptText, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { KEY, lastRecord, sdk } from '../kernel/util.ts'

let mock: MockUpstream
let gw: TestGateway
let client: OpenAI

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, type: 'openai' } } })
  client = sdk(gw.url)
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

const user = (content: string) => [{ role: 'user' as const, content }]
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

describe('chat completions', () => {
  it('JSON: the reply, usage and the upstream request id reach the SDK', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hello json') }).withResponse()
    expect(data.object).toBe('chat.completion')
    expect(data.choices[0].message.content).toBe(expectedReply('hello json'))
    expect(data.usage!.completion_tokens).toBeGreaterThan(0)
    expect(response.headers.get('x-request-id')).toMatch(/^req_/)
    expect(lastRecord(mock)).toMatchObject({ path: '/v1/chat/completions', apiKey: KEY, status: 200 })
  })

  it('stream: deltas concatenate to the reply, the stream ends with a finish reason', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hello stream'), stream: true })
    let text = ''
    let finish: string | null = null
    let chunks = 0
    for await (const chunk of stream) {
      chunks++
      text += chunk.choices[0]?.delta.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe(expectedReply('hello stream'))
    expect(finish).toBe('stop')
    expect(chunks).toBeGreaterThanOrEqual(20)
  })

  it('tools: a tool call with complete JSON arguments, JSON and streamed (stream helper)', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } }, required: ['city'] } } }]
    const json = await client.chat.completions.create({ model: 'gpt-4o', messages: user('Paris'), tools, tool_choice: 'auto' })
    const call = json.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(json.choices[0].finish_reason).toBe('tool_calls')
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', days: 42 })

    const runner = client.chat.completions.stream({ model: 'gpt-4o', messages: user('Paris'), tools })
    const final = await runner.finalChatCompletion()
    const streamed = final.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(streamed.function.arguments).toBe(call.function.arguments)
  })

  it('n > 1: every choice, JSON and streamed', async () => {
    const json = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('two'), n: 2 })
    expect(json.choices.map((c) => c.message.content)).toEqual([expectedReply('two'), expectedReply('two', { choiceIndex: 1 })])
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('two'), n: 2, stream: true })
    const texts = ['', '']
    for await (const chunk of stream) for (const c of chunk.choices) texts[c.index] += c.delta.content ?? ''
    expect(texts).toEqual([expectedReply('two'), expectedReply('two', { choiceIndex: 1 })])
  })

  it('stream_options.include_usage: the last chunk carries usage and no choices', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('count me'), stream: true, stream_options: { include_usage: true } })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens)
    expect(chunks.slice(0, -1).every((c) => c.usage == null)).toBe(true)
  })

  it('an upstream 401 becomes the SDK AuthenticationError with the upstream message', async () => {
    const bad = sdk(gw.url, { apiKey: 'sk-bad-key' })
    const error = await bad.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }).catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(error.status).toBe(401)
    expect(error.code).toBe('invalid_api_key')
  })
})

describe('completions, embeddings, models, moderations', () => {
  it('legacy completions, JSON and stream', async () => {
    const json = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this' })
    expect(json.object).toBe('text_completion')
    expect(json.choices[0].text.length).toBeGreaterThan(0)
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this', stream: true })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? ''
    expect(text).toBe(json.choices[0].text)
  })

  it('embeddings as floats: the exact vector', async () => {
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me', encoding_format: 'float' })
    const expected = embeddingVector('text-embedding-3-small', 'embed me', 1536)
    expect(res.data[0].embedding).toHaveLength(1536)
    expect(Float32Array.from(res.data[0].embedding)).toEqual(expected.f32)
    expect(JSON.parse(lastRecord(mock).body.toString()).encoding_format).toBe('float')
  })

  it('embeddings as base64: the raw string, and the SDK default (base64 on the wire, decoded to floats)', async () => {
    const expected = embeddingVector('text-embedding-3-small', 'embed me', 256)
    const raw = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me', dimensions: 256, encoding_format: 'base64' })
    expect(raw.data[0].embedding).toBe(expected.base64)
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['embed me', 'and me'], dimensions: 256 })
    expect(JSON.parse(lastRecord(mock).body.toString()).encoding_format).toBe('base64')
    expect(Float32Array.from(decoded.data[0].embedding)).toEqual(expected.f32)
    expect(Float32Array.from(decoded.data[1].embedding)).toEqual(embeddingVector('text-embedding-3-small', 'and me', 256).f32)
  })

  it('models: list (every one) and retrieve; an unknown id is a NotFoundError', async () => {
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids.sort()).toEqual(MODELS.map((m: { id: string }) => m.id).sort())
    expect((await client.models.retrieve('gpt-4o')).id).toBe('gpt-4o')
    const error = await client.models.retrieve('no-such-model').catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.code).toBe('model_not_found')
  })

  it('moderations: flagged and not flagged', async () => {
    const res = await client.moderations.create({ model: 'omni-moderation-latest', input: ['a sunny day', 'I will kill the process'] })
    expect(res.results.map((r) => r.flagged)).toEqual([false, true])
    expect(res.results[1].categories.violence).toBe(true)
  })
})

describe('audio and images', () => {
  it('transcription: a multipart upload arrives byte for byte', async () => {
    const audio = randomBytes(300_000)
    const res = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'clip.wav', { type: 'audio/wav' }) })
    // The mock names the length and sha256 of the file part it parsed.
    expect(res.text).toBe(transcriptText('clip.wav', audio))
    expect(res.text).toContain(`${audio.length} bytes, sha256 ${sha256(audio)}`)
    const rec = lastRecord(mock)
    expect(rec.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    expect(rec.body.indexOf(audio)).toBeGreaterThan(0)
  })

  it('transcription with response_format text and a translation', async () => {
    const audio = randomBytes(1000)
    const text = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'a.mp3'), response_format: 'text' })
    expect(String(text).trim()).toBe(transcriptText('a.mp3', audio))
    const translated = await client.audio.translations.create({ model: 'whisper-1', file: await toFile(audio, 'b.mp3') })
    expect(translated.text).toBe(transcriptText('b.mp3', audio))
  })

  it('speech: binary audio out, exact bytes, whole or chunked', async () => {
    const input = 'The quick brown fox.'
    const res = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input })
    expect(res.headers.get('content-type')).toBe('audio/mpeg')
    expect(Buffer.from(await res.arrayBuffer()).equals(speechBytes(input))).toBe(true)
    const chunked = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input, response_format: 'wav' }, { headers: { 'x-mock-chunks': '7' } })
    expect(chunked.headers.get('content-type')).toBe('audio/wav')
    expect(Buffer.from(await chunked.arrayBuffer()).equals(speechBytes(input))).toBe(true)
  })

  it('image generation: b64_json decodes to the PNG; url form too', async () => {
    const b64 = await client.images.generate({ model: 'gpt-image-1', prompt: 'a cat', response_format: 'b64_json' })
    expect(Buffer.from(b64.data![0].b64_json!, 'base64').equals(PNG_1X1)).toBe(true)
    const url = await client.images.generate({ model: 'dall-e-3', prompt: 'a cat', n: 1 })
    expect(url.data![0].url).toMatch(/\/mock-images\/img-[0-9a-f]{16}\.png$/)
    expect(url.data![0].revised_prompt).toBe('a cat')
  })
})

describe('files and batches', () => {
  it('files: upload, retrieve, list, download the same bytes, delete', async () => {
    const data = randomBytes(100_000)
    const file = await client.files.create({ file: await toFile(data, 'blob.bin'), purpose: 'assistants' })
    expect(file).toMatchObject({ object: 'file', bytes: data.length, filename: 'blob.bin', purpose: 'assistants' })
    expect((await client.files.retrieve(file.id)).bytes).toBe(data.length)
    const listed: string[] = []
    for await (const f of client.files.list()) listed.push(f.id)
    expect(listed).toContain(file.id)
    const content = await client.files.content(file.id)
    expect(Buffer.from(await content.arrayBuffer()).equals(data)).toBe(true)
    expect((await client.files.delete(file.id)).deleted).toBe(true)
    const gone = await client.files.retrieve(file.id).catch((e) => e)
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('batches: create from an uploaded JSONL file, retrieve the completed batch and its output', async () => {
    const lines = ['first', 'second'].map((text, i) => JSON.stringify({ custom_id: `req-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: user(text) } }))
    const input = await client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'batch.jsonl'), purpose: 'batch' })
    const batch = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
    expect(batch.status).toBe('validating')
    const done = await client.batches.retrieve(batch.id)
    expect(done.status).toBe('completed')
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 })
    const output = await (await client.files.content(done.output_file_id!)).text()
    const results = output.trim().split('\n').map((l) => JSON.parse(l))
    expect(results.map((r) => [r.custom_id, r.response.body.choices[0].message.content])).toEqual([
      ['req-0', expectedReply('first')], ['req-1', expectedReply('second')],
    ])
    const ids: string[] = []
    for await (const b of client.batches.list()) ids.push(b.id)
    expect(ids).toContain(batch.id)
    const other = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
    expect((await client.batches.cancel(other.id)).status).toBe('cancelled')
  })
})

describe('Responses API', () => {
  it('JSON: output_text is the reply', async () => {
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'respond please' })
    expect(res.object).toBe('response')
    expect(res.status).toBe('completed')
    expect(res.output_text).toBe(expectedReply('respond please'))
    expect(res.usage!.output_tokens).toBeGreaterThan(0)
  })

  it('create({ stream: true }): the typed events in order, with sequence numbers', async () => {
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'stream please', stream: true })
    const events: OpenAI.Responses.ResponseStreamEvent[] = []
    for await (const event of stream) events.push(event)
    const types = events.map((e) => e.type)
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'])
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed'])
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('')
    expect(text).toBe(expectedReply('stream please'))
  })

  it('responses.stream(): the helper assembles the final response; function tools stream their arguments', async () => {
    const runner = client.responses.stream({ model: 'gpt-4o-mini', input: 'helper please' })
    let deltas = ''
    runner.on('response.output_text.delta', (e) => (deltas += e.delta))
    const final = await runner.finalResponse()
    // The helper's final response has no output_text convenience field (SDK behaviour): read the message.
    const message = final.output.find((o) => o.type === 'message') as OpenAI.Responses.ResponseOutputMessage
    const text = message.content.map((c) => (c.type === 'output_text' ? c.text : '')).join('')
    expect(text).toBe(expectedReply('helper please'))
    expect(deltas).toBe(text)
    expect(final.status).toBe('completed')

    const tools = [{ type: 'function' as const, name: 'lookup', strict: false, parameters: { type: 'object', properties: { q: { type: 'string' } } } }]
    const withTool = await client.responses.stream({ model: 'gpt-4o-mini', input: 'find it', tools }).finalResponse()
    const call = withTool.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall
    expect(call.name).toBe('lookup')
    expect(JSON.parse(call.arguments)).toEqual({ q: 'find it' })
  })
})
