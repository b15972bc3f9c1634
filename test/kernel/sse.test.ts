import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { parseSSE } from '../../src/index.ts'
import { EventTap, SSETap } from '../../src/gateway/sse.ts'
import type { ChunkVerdict, SSEEvent } from '../../src/index.ts'

/** Pipes `chunks` through a tap with `onEvent`; returns what came out (as bytes) and the events seen. */
async function tap(chunks: (string | Buffer)[], onEvent: (event: SSEEvent) => ChunkVerdict = () => undefined) {
  const seen: SSEEvent[] = []
  const out: Buffer[] = []
  const stream = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)), { objectMode: false }).pipe(new SSETap(new EventTap(onEvent, (e) => seen.push(e))))
  for await (const chunk of stream) out.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))
  return { text: Buffer.concat(out).toString('utf8'), outChunks: out, seen }
}

const body = 'data: {"n":1}\n\nevent: ping\ndata: a\ndata: b\n\n: comment\n\ndata: [DONE]\n\n'

describe('SSE tap', () => {
  it('passes a stream through byte for byte, however it is cut into chunks', async () => {
    const bytes = Buffer.from(`${body}data: {"t":"héllo ✓ 😀"}\n\n`)
    for (const size of [1, 2, 3, 7, 1000]) {
      const chunks: Buffer[] = []
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
      const { text, seen } = await tap(chunks)
      expect(text).toBe(bytes.toString('utf8'))
      expect(seen.map((e) => e.data)).toEqual(['{"n":1}', 'a\nb', '', '[DONE]', '{"t":"héllo ✓ 😀"}'])
    }
  })

  it('hands on the very chunks that came when they hold whole events and nothing changed', async () => {
    const chunk = Buffer.from(body)
    const { outChunks } = await tap([chunk])
    expect(outChunks).toHaveLength(1)
    expect(outChunks[0]).toBe(chunk)
  })

  it('parses fields: event names, several data lines, CRLF line ends, JSON once', async () => {
    const { seen } = await tap(['event: delta\r\ndata: {"a":1}\r\n\r\ndata:x\r\n\r\n'])
    expect(seen.map((e) => [e.event, e.data])).toEqual([['delta', '{"a":1}'], [undefined, 'x']])
    expect(seen[0].json()).toBe(seen[0].json())
    expect(seen[1].json()).toBeUndefined()
  })

  it('drops and replaces events, keeping the order of the others', async () => {
    const { text } = await tap(['data: 1\n\ndata: 2\n\n', 'data: 3\n\ndata: 4\n\n'], (e) => (e.data === '2' ? false : e.data === '3' ? 'data: three\n\n' : undefined))
    expect(text).toBe('data: 1\n\ndata: three\n\ndata: 4\n\n')
  })

  it('drops and replaces events in chunks with extra blank lines and non-ASCII text', async () => {
    const drop2 = (e: SSEEvent): ChunkVerdict => (e.data === '2' ? false : e.data === 'é' ? 'data: É\n\n' : undefined)
    const { text } = await tap(['\n\ndata: 1\n\n\n\ndata: 2\n\ndata: 3\n\n', 'data: é\n\ndata: 2\n\ndata: ü\n\n'], drop2)
    expect(parseSSE(text).map((e) => e.data)).toEqual(['1', '3', 'É', 'ü'])
    expect(text).not.toContain('data: 2')
  })

  it('a multi-byte character cut right after an event boundary is not sent twice', async () => {
    const smile = Buffer.from('😀')
    const { text } = await tap([Buffer.concat([Buffer.from('data: a\n\ndata: '), smile.subarray(0, 1)]), Buffer.concat([smile.subarray(1), Buffer.from('\n\n')])])
    expect(text).toBe('data: a\n\ndata: 😀\n\n')
    const cutAtBoundary = await tap([Buffer.concat([Buffer.from('data: a\n\n'), smile.subarray(0, 2)]), Buffer.concat([smile.subarray(2), Buffer.from('x\n\n')])])
    expect(cutAtBoundary.text).toBe('data: a\n\n😀x\n\n')
  })

  it('a stream that ends without a blank line still delivers its last event', async () => {
    const { text, seen } = await tap(['data: 1\n\ndata: last'])
    expect(text).toBe('data: 1\n\ndata: last')
    expect(seen.map((e) => e.data)).toEqual(['1', 'last'])
  })

  it('parseSSE reads a whole body the same way', () => {
    expect(parseSSE(body).map((e) => e.data)).toEqual(['{"n":1}', 'a\nb', '', '[DONE]'])
  })
})
