import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { chatLog } from '../../plugins/index.ts'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { convertLogs, formatConvertReport, progressReporter, type ConvertedChat, type ConvertProgress } from '../../src/cli/convert.ts'
import { startTestGateway } from '../helpers/gateway.ts'
import { logFiles, today } from './chatLog-helpers.ts'

let mock: MockUpstream
let dir: string
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
}

/** Logs made by a real gateway: two chats and a failed one on `openai`, one chat on `other`, plus two corrupt lines. */
beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  dir = mkdtempSync(join(tmpdir(), 'aifd-convert-'))
  const gw = await startTestGateway({
    routes: { openai: { path: '/', target: mock.url }, other: { path: '/other', target: mock.url } },
    plugins: [chatLog({ dir, flushInterval: '1h' })],
  })
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-test', maxRetries: 0 })
  await client.chat.completions.create({ model: 'gpt-4o', temperature: 0.7, messages: [{ role: 'user', content: 'first' }] })
  const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, tools: [weatherTool], messages: [{ role: 'user', content: 'Oslo' }] })
  for await (const _ of stream) void _
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'fails' }] }, { headers: { 'x-mock-status': '500' } }).catch(() => {})
  await client.embeddings.create({ model: 'text-embedding-3-small', input: 'not a chat' })
  const other = new OpenAI({ baseURL: `${gw.url}/other/v1`, apiKey: 'sk-test', maxRetries: 0 })
  await other.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'elsewhere' }] })
  await gw.stop() // the disposer writes what is queued
  appendFileSync(join(dir, 'openai', 'chat', `${today()}.jsonl`), 'this is not json\n\n{"neither":"a record"}\n')
})
afterAll(async () => {
  await mock.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('aifd convert', () => {
  it('writes complete chats as the original chat_<route>.json format, skipping corrupt lines with where they are', async () => {
    const result = await convertLogs({ logDir: dir, route: 'openai', onProgress: false })
    const out = join(dir, 'chat_openai.json')
    expect(result).toMatchObject({ records: 2, skipped: 2, files: 1, ignored: 1, outputs: [out] })
    const file = join(dir, 'openai', 'chat', `${today()}.jsonl`)
    expect(result.corrupt).toEqual([
      { file, line: 4, reason: expect.stringMatching(/JSON/) },
      { file, line: 6, reason: 'not a chat log record' },
    ])
    expect(formatConvertReport(result)).toContain(`${file}:4: `)

    const chats = JSON.parse(readFileSync(out, 'utf8')) as ConvertedChat[]
    expect(chats).toHaveLength(2)
    expect(chats[0]).toEqual({
      datetime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), ip: '127.0.0.1', model: 'gpt-4o', temperature: 0.7,
      messages: [{ role: 'user', content: 'first' }], tools: null, is_tool_calls: false, assistant: expectedReply('first'),
    })
    expect(chats[1]).toMatchObject({ temperature: null, tools: [weatherTool], is_tool_calls: true })
    const calls = chats[1].assistant as Array<{ id: string; type: string; function: { name: string; arguments: string } }>
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } })
    expect(JSON.parse(calls[0].function.arguments)).toEqual({ city: 'Oslo' })
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('writes one file per route by default, or all routes into --out', async () => {
    const perRoute = await convertLogs({ logDir: dir, onProgress: false })
    expect(perRoute.outputs).toEqual([join(dir, 'chat_openai.json'), join(dir, 'chat_other.json')])
    expect(JSON.parse(readFileSync(join(dir, 'chat_other.json'), 'utf8'))).toMatchObject([{ model: 'gpt-4o-mini', assistant: expectedReply('elsewhere') }])

    const out = join(dir, 'all.json')
    const together = await convertLogs({ logDir: dir, out, onProgress: false })
    expect(together).toMatchObject({ records: 3, files: 2, outputs: [out] })
    expect((JSON.parse(readFileSync(out, 'utf8')) as ConvertedChat[]).map((c) => c.model)).toEqual(['gpt-4o', 'gpt-4o', 'gpt-4o-mini'])
  })

  it('writes to stdout with --out -', async () => {
    let written = ''
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written += String(chunk)
      return true
    })
    try {
      const result = await convertLogs({ logDir: dir, route: 'other', out: '-', onProgress: false })
      expect(result.outputs).toEqual(['-'])
    } finally {
      write.mockRestore()
    }
    expect(JSON.parse(written)).toMatchObject([{ model: 'gpt-4o-mini' }])
    expect(existsSync(join(dir, '-'))).toBe(false)
  })

  it('reports progress up to the whole size', async () => {
    const seen: ConvertProgress[] = []
    await convertLogs({ logDir: dir, out: join(dir, 'progress.json'), onProgress: (p) => seen.push(p) })
    const last = seen.at(-1)!
    const total = logFiles(dir).filter((f) => f.includes('chat')).reduce((sum, f) => sum + readFileSync(join(dir, f)).length, 0)
    expect(last).toMatchObject({ bytesRead: total, totalBytes: total, records: 3 })
  })

  it('draws percentage lines when stderr is not a terminal', () => {
    const lines: string[] = []
    const stream = { isTTY: false, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream
    const report = progressReporter(stream, 0)
    for (let bytes = 0; bytes <= 1000; bytes += 50) report({ file: 'f', bytesRead: bytes, totalBytes: 1000, records: bytes })
    expect(lines.map((l) => l.match(/(\d+)%/)![1])).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100'])
  })

  it('fails clearly on a missing folder or route', async () => {
    await expect(convertLogs({ logDir: join(dir, 'nope'), onProgress: false })).rejects.toThrow(/nope is not a folder/)
    await expect(convertLogs({ logDir: dir, route: 'gemini', onProgress: false })).rejects.toThrow(/No logs for route "gemini".*openai, other/)
  })
})
