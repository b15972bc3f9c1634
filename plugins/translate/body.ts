import { pipeline, Transform, type Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { UpstreamResponse } from '../../src/index.ts'
import type { StreamMapper } from './stream-mapper.ts'

function noop(): void {}

/** The fields of one SSE event block (without its blank line). */
function fields(block: string): { name: string | undefined; data: string } {
  let name: string | undefined
  let data: string | undefined
  for (const line of block.split('\n')) {
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
      data = data === undefined ? value : `${data}\n${value}`
    } else if (line.startsWith('event:')) {
      name = line.slice(line.charCodeAt(6) === 32 ? 7 : 6)
    }
  }
  return { name, data: data ?? '' }
}

/** Splits a provider's SSE body into events as chunks come, and writes what the mapper makes of each. */
class SSEMapping extends Transform {
  readonly #decoder = new StringDecoder('utf8')
  #tail = ''

  constructor(private readonly mapper: StreamMapper) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, out?: string) => void): void {
    let text = this.#tail + this.#decoder.write(chunk)
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n')
    let out = ''
    let start = 0
    for (let at = text.indexOf('\n\n'); at !== -1; at = text.indexOf('\n\n', start)) {
      const block = text.slice(start, at)
      start = at + 2
      if (block.trim() === '') continue
      const { name, data } = fields(block)
      if (data !== '') out += this.mapper.event(name, data)
    }
    this.#tail = text.slice(start)
    done(null, out === '' ? undefined : out)
  }

  override _flush(done: (error?: Error | null, out?: string) => void): void {
    const rest = (this.#tail + this.#decoder.end()).trim()
    let out = ''
    if (rest !== '') {
      const { name, data } = fields(rest)
      if (data !== '') out += this.mapper.event(name, data)
    }
    out += this.mapper.end()
    done(null, out === '' ? undefined : out)
  }
}

/** Reads a whole (small) body and writes what `map` makes of its text. */
class WholeMapping extends Transform {
  readonly #chunks: Buffer[] = []

  readonly #map: (text: string) => string

  constructor(map: (text: string) => string) {
    super()
    this.#map = map
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.#chunks.push(chunk)
    done()
  }

  override _flush(done: (error?: Error | null, out?: string) => void): void {
    try {
      done(null, this.#map(Buffer.concat(this.#chunks).toString('utf8')))
    } catch (error) {
      done(error as Error)
    }
  }
}

const DECODERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, br: createBrotliDecompress, deflate: createInflate }

/**
 * Puts `mapping` between the upstream's body and the client: the response's body becomes the
 * mapping's output (decoded first when the upstream compressed it), with headers that fit it. An
 * upstream that breaks mid-body breaks the mapped body too (the kernel then ends the stream with its
 * error event); a client that leaves tears the whole pipeline down.
 */
function replaceBody(response: UpstreamResponse, mapping: Transform, contentType: string): void {
  const encoding = String(response.headers['content-encoding'] ?? 'identity').toLowerCase()
  const decoder = DECODERS[encoding]?.()
  const stages: (Readable | Transform)[] = decoder ? [response.body, decoder, mapping] : [response.body, mapping]
  pipeline(stages as [Readable, Transform], noop)
  const { 'content-length': _length, 'content-encoding': _encoding, 'transfer-encoding': _transfer, etag: _etag, ...headers } = response.headers
  response.headers = { ...headers, 'content-type': contentType }
  response.body = mapping
}

/** The response's SSE body, mapped event by event as it comes (never held whole). */
export function mapStream(response: UpstreamResponse, mapper: StreamMapper): void {
  replaceBody(response, new SSEMapping(mapper), 'text/event-stream; charset=utf-8')
}

/** The response's JSON body (an answer, an error, a model list), mapped whole once it has come. */
export function mapJson(response: UpstreamResponse, map: (text: string) => unknown): void {
  replaceBody(response, new WholeMapping((text) => JSON.stringify(map(text))), 'application/json')
}
