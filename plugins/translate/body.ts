import { Transform, type Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { BodyMap, UpstreamResponse } from '../../src/index.ts'
import type { StreamMapper } from './stream-mapper.ts'

/** The fields of one SSE event block (without its blank line). */
function fields(block: string): { name: string | undefined; data: string } {
  // The common forms, `data: …` and `event: …\ndata: …` on one line each, without splitting lines.
  const line = block.indexOf('\n')
  if (line === -1 && block.startsWith('data: ')) return { name: undefined, data: block.slice(6) }
  if (block.startsWith('event: ') && block.startsWith('data: ', line + 1) && block.indexOf('\n', line + 1) === -1) {
    return { name: block.slice(7, line), data: block.slice(line + 7) }
  }
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

/** Splits a provider's SSE body into events as chunks come, and gives back what the mapper makes of each. */
class SSEMap implements BodyMap {
  readonly #decoder = new StringDecoder('utf8')
  #tail = ''

  constructor(private readonly mapper: StreamMapper) {}

  write(chunk: Buffer): string {
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
    this.#tail = start === 0 ? text : text.slice(start)
    return out
  }

  end(): string {
    const rest = (this.#tail + this.#decoder.end()).trim()
    this.#tail = ''
    let out = ''
    if (rest !== '') {
      const { name, data } = fields(rest.replace(/\r\n?/g, '\n'))
      if (data !== '') out += this.mapper.event(name, data)
    }
    return out + this.mapper.end()
  }

  fail(error: Error): string | undefined {
    return this.mapper.fail?.(error)
  }
}

/** Holds a whole (small) body and gives back what `map` makes of its text at the end. */
class WholeMap implements BodyMap {
  readonly #chunks: Buffer[] = []

  constructor(private readonly map: (text: string) => string) {}

  write(chunk: Buffer): undefined {
    this.#chunks.push(chunk)
  }

  end(): string {
    return this.map(Buffer.concat(this.#chunks).toString('utf8'))
  }
}

const DECODERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, br: createBrotliDecompress, deflate: createInflate }

/** `map` as a Transform, for a body that must be a stream first (decompressed, or made by a plugin). */
function mapping(map: BodyMap): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        callback(null, map.write(chunk) || undefined)
      } catch (error) {
        callback(error as Error)
      }
    },
    flush(callback) {
      try {
        callback(null, map.end() || undefined)
      } catch (error) {
        callback(error as Error)
      }
    },
  })
}

/** Chains `from` into `to`, passing a break forward and a teardown back. */
function chain(from: Readable, to: Transform): Transform {
  from.once('error', (error) => to.destroy(error))
  to.once('close', () => from.destroy())
  return from.pipe(to)
}

/**
 * The response's body becomes what `map` makes of it, with headers that fit. Mapped in the
 * gateway's own pass over the body (`mapBody`: no stream); a body the upstream compressed although
 * it was asked not to is decoded first, as a stream.
 */
function replaceBody(response: UpstreamResponse, map: BodyMap, contentType: string): void {
  const encoding = String(response.headers['content-encoding'] ?? 'identity').toLowerCase()
  const decoder = DECODERS[encoding]
  if (!decoder && response.mapBody) response.mapBody(map)
  else response.body = chain(decoder ? chain(response.body, decoder()) : response.body, mapping(map))
  const { 'content-length': _length, 'content-encoding': _encoding, 'transfer-encoding': _transfer, etag: _etag, ...headers } = response.headers
  response.headers = { ...headers, 'content-type': contentType }
}

/** The response's SSE body, mapped event by event as it comes (never held whole). */
export function mapStream(response: UpstreamResponse, mapper: StreamMapper): void {
  replaceBody(response, new SSEMap(mapper), 'text/event-stream; charset=utf-8')
}

/** The response's JSON body (an answer, an error, a model list), mapped whole once it has come. */
export function mapJson(response: UpstreamResponse, map: (text: string) => unknown): void {
  replaceBody(response, new WholeMap((text) => JSON.stringify(map(text))), 'application/json')
}
