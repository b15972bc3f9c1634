import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatLogRecord } from '../../plugins/chatLog/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { buildForChildren } from './chatLog-build.ts'
import { logFiles, readRecords } from './chatLog-helpers.ts'

const fixtures = new URL('../fixtures/', import.meta.url).pathname
let root: string
let mock: MockUpstream
let work: string

beforeAll(async () => {
  root = buildForChildren('chatlog-test')
  mock = await startMockUpstream({ port: 0 })
  work = mkdtempSync(join(tmpdir(), 'aifd-chatlog-process-'))
})
afterAll(async () => {
  await mock?.close()
  rmSync(work, { recursive: true, force: true })
  if (root) rmSync(root, { recursive: true, force: true })
})

/** Runs a node child to its end; resolves with its exit code and stdout. */
async function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  return { code, stdout, stderr }
}

describe('chatLog in a real process', () => {
  it('writes every queued record to disk when the process gets SIGTERM', async () => {
    const dir = join(work, 'sigterm-logs')
    const child = spawn(process.execPath, [join(fixtures, 'chatlog-sigterm.mjs'), root, mock.url, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    try {
      const [line] = await once(createInterface({ input: child.stdout }), 'line')
      const { url } = JSON.parse(line as string) as { url: string }
      const total = 40
      await Promise.all(Array.from({ length: total }, async (_, i) => {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `queued ${i}` }], stream: i % 2 === 1 }),
        })
        expect(response.status).toBe(200)
        await response.text()
      }))
      await new Promise((r) => setTimeout(r, 100))
      expect(logFiles(dir)).toEqual([]) // all still queued (flushInterval is an hour)

      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      expect(code, stderr).toBe(0)
      const records = readRecords(dir)
      expect(records).toHaveLength(total)
      expect(new Set(records.map((r) => (r.request!.messages as Array<{ content: string }>)[0].content)).size).toBe(total)
      expect(records.every((r) => r.outcome === 'complete' && r.answer!.choices[0].content.length > 0)).toBe(true)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  it('converts a 200 MB log with flat memory', async () => {
    const logDir = join(work, 'big-logs')
    const folder = join(logDir, 'openai', 'chat')
    mkdirSync(folder, { recursive: true })
    // A realistic record (~2 KB), repeated: a 1 MB block written 100 times per file, two files.
    const record: ChatLogRecord = {
      time: '2026-01-02T03:04:05.000Z', id: 'id', route: 'openai', kind: 'chat', method: 'POST', path: '/v1/chat/completions',
      ip: '127.0.0.1', caller: 'alice', model: 'gpt-4o', stream: true,
      request: { model: 'gpt-4o', temperature: 0.5, messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'Tell me about logs. '.repeat(50) }] },
      answer: { id: 'chatcmpl-1', choices: [{ index: 0, role: 'assistant', content: 'Logs are lines. '.repeat(50), reasoning: '', toolCalls: [], finishReason: 'stop' }] },
      usage: { promptTokens: 300, completionTokens: 200, totalTokens: 500, estimated: false },
      cost: { usd: 0.00275, model: 'gpt-4o', estimated: false, unpriced: false },
      status: 200, outcome: 'complete', error: null, cacheHit: false, answeredBy: null, provider: 'openai', attempts: 1, target: 'https://api.openai.com', firstTokenMs: 120, totalMs: 900,
    }
    const line = `${JSON.stringify(record)}\n`
    const perBlock = Math.floor((1024 * 1024) / Buffer.byteLength(line))
    const block = Buffer.from(line.repeat(perBlock))
    const blocksPerFile = 100
    for (const name of ['2026-01-02.jsonl', '2026-01-02.1.jsonl']) {
      const fd = openSync(join(folder, name), 'w')
      for (let i = 0; i < blocksPerFile; i++) writeSync(fd, block)
      closeSync(fd)
    }
    const expected = perBlock * blocksPerFile * 2
    const inputBytes = statSync(join(folder, '2026-01-02.jsonl')).size * 2
    expect(inputBytes).toBeGreaterThan(200 * 1024 * 1024 * 0.95)

    const out = join(work, 'big.json')
    const { code, stdout, stderr } = await runNode(['--max-old-space-size=128', join(fixtures, 'chatlog-convert.mjs'), root, logDir, out])
    expect(code, stderr).toBe(0)
    const { result, maxRssMb } = JSON.parse(stdout) as { result: { records: number; skipped: number; files: number }; maxRssMb: number }
    expect(result).toMatchObject({ records: expected, skipped: 0, files: 2 })
    expect(maxRssMb).toBeLessThan(200)

    // One conversation per line between `[` and `]`: count them without loading the output.
    let lines = 0
    let second = ''
    for await (const text of createInterface({ input: createReadStream(out) })) {
      if (++lines === 2) second = text
    }
    expect(lines).toBe(expected + 2)
    expect(JSON.parse(second.replace(/,$/, ''))).toEqual({
      datetime: record.time, ip: '127.0.0.1', model: 'gpt-4o', temperature: 0.5, messages: record.request!.messages, tools: null,
      is_tool_calls: false, assistant: record.answer!.choices[0].content,
    })
  }, 30_000)
})
