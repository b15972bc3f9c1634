// Built-in plugins on endpoints other than chat: uploads, binary audio.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI, { toFile } from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cache, chatLog, keys } from '../../plugins/index.ts'
import { speechBytes, startMockUpstream, transcriptText, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { sdk } from '../kernel/util.ts'

let mock: MockUpstream

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
})
afterAll(async () => {
  await mock?.close()
})

const countOf = (route: string) => mock.requests.filter((r) => r.route === route).length

describe('keys on uploads', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startTestGateway({
      routes: { openai: { path: '/', target: mock.url, type: 'openai', plugins: [keys({ keys: ['sk-real-upload'], forwardKeys: { alice: 'fk-alice-upload' } })] } },
    })
  })
  afterAll(async () => gw?.stop())

  it('a multipart upload with a forward key goes upstream whole, with the real key', async () => {
    const audio = Buffer.alloc(64 * 1024, 7)
    const res = await sdk(gw.url, { apiKey: 'fk-alice-upload' }).audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'alice.wav') })
    expect(res.text).toBe(transcriptText('alice.wav', audio))
    const seen = mock.requests.filter((r) => r.route === 'audio.transcriptions').at(-1)!
    expect(seen.apiKey).toBe('sk-real-upload')
  })

  it('an upload with an unknown key is refused before anything reaches the upstream', async () => {
    const before = countOf('audio.transcriptions')
    const upload = sdk(gw.url, { apiKey: 'fk-nobody' }).audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.alloc(1024), 'x.wav') })
    await expect(upload).rejects.toMatchObject({ status: 401 })
    expect(countOf('audio.transcriptions')).toBe(before)
  })
})

describe('cache on every endpoint', () => {
  let gw: TestGateway
  let client: OpenAI
  beforeAll(async () => {
    gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, type: 'openai', plugins: [cache({ default: true })] } } })
    client = sdk(gw.url)
  })
  afterAll(async () => gw?.stop())

  it('never caches a multipart upload: the same file twice reaches the upstream twice, byte for byte', async () => {
    mock.reset()
    const audio = Buffer.alloc(5000, 7)
    for (let i = 0; i < 2; i++) {
      const res = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'same.wav') })
      expect(res.text).toBe(transcriptText('same.wav', audio))
    }
    expect(countOf('audio.transcriptions')).toBe(2)
  })

  it('still caches JSON on the same route (the control for the test above)', async () => {
    mock.reset()
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'cache me' }] }
    const first = await client.chat.completions.create(body)
    const second = await client.chat.completions.create(body)
    expect(second.choices[0].message.content).toBe(first.choices[0].message.content)
    expect(countOf('chat.completions')).toBe(1)
  })

  it('binary speech passes through whole with the cache on', async () => {
    const res = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'cached speech?' })
    expect(Buffer.from(await res.arrayBuffer()).equals(speechBytes('cached speech?'))).toBe(true)
  })
})

describe('chatLog on audio', () => {
  let dir: string
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('records a transcription by metadata only: kind audio, status, no request body, no file bytes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'aifd-chatlog-'))
    const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, type: 'openai', plugins: [chatLog({ dir, flushInterval: 20 })] } } })
    const audio = Buffer.alloc(200_000, 0x41) // 'AAAA…': easy to spot if any of it were logged
    try {
      const res = await sdk(gw.url).audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'meeting.wav') })
      expect(res.text).toBe(transcriptText('meeting.wav', audio))
    } finally {
      await gw.stop() // flushes the writer
    }
    const files = await readdir(join(dir, 'openai', 'audio'))
    expect(files).toHaveLength(1)
    const lines = (await readFile(join(dir, 'openai', 'audio', files[0]), 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).not.toContain('AAAAAAAAAA')
    expect(lines[0].length).toBeLessThan(4000)
    const record = JSON.parse(lines[0])
    expect(record).toMatchObject({ kind: 'audio', method: 'POST', path: '/v1/audio/transcriptions', status: 200, outcome: 'complete', request: null, answer: null, attempts: 1 })
  })
})
