import { Transform, type TransformCallback } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import type { ChunkVerdict, SSEEvent } from '../plugin/types.ts'

const NOT_PARSED = Symbol('not parsed')

class ParsedEvent implements SSEEvent {
  #json: unknown = NOT_PARSED
  constructor(readonly raw: string, readonly event: string | undefined, readonly data: string) {}
  json(): any {
    if (this.#json === NOT_PARSED) {
      try {
        this.#json = this.data && this.data !== '[DONE]' ? JSON.parse(this.data) : undefined
      } catch {
        this.#json = undefined
      }
    }
    return this.#json
  }
}

/** Parses one raw event (without its terminating blank line). Comments and unknown fields are kept in `raw` only. */
export function parseEvent(block: string, raw: string): SSEEvent {
  let event: string | undefined
  let data: string | undefined
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
      data = data === undefined ? value : `${data}\n${value}`
    } else if (line.startsWith('event:')) {
      event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6)
    }
  }
  return new ParsedEvent(raw, event, data ?? '')
}

const BOUNDARY = /\r?\n\r?\n/g

/** Splits SSE text into events; returns the events and the unfinished tail. */
export function splitEvents(text: string): { events: SSEEvent[]; rest: string } {
  const events: SSEEvent[] = []
  let start = 0
  BOUNDARY.lastIndex = 0
  for (let match = BOUNDARY.exec(text); match; match = BOUNDARY.exec(text)) {
    const end = match.index + match[0].length
    const block = text.slice(start, match.index)
    if (block.trim()) events.push(parseEvent(block, text.slice(start, end)))
    start = end
  }
  return { events, rest: text.slice(start) }
}

/** Parses a whole SSE body. */
export function parseSSE(text: string): SSEEvent[] {
  const { events, rest } = splitEvents(text)
  if (rest.trim()) events.push(parseEvent(rest, rest))
  return events
}

/** An SSE error event in OpenAI's error shape, to end a stream that broke after it started. */
export function sseErrorEvent(message: string, code: string, type = 'upstream_error'): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`
}

/**
 * Sits between the upstream's SSE body and the client when a plugin has an `onChunk` hook: emits
 * whole events (a partial event is held until its blank line), each passed to the hook, which may
 * drop or replace it.
 */
export class SSETap extends Transform {
  #decoder = new StringDecoder('utf8')
  #tail = ''

  constructor(private readonly onEvent: (event: SSEEvent) => ChunkVerdict) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { events, rest } = splitEvents(this.#tail + this.#decoder.write(chunk))
    this.#tail = rest
    if (events.length === 0) return callback()
    callback(null, this.#emit(events))
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.#tail + this.#decoder.end()
    this.#tail = ''
    callback(null, rest.trim() ? this.#emit([parseEvent(rest, rest)]) : undefined)
  }

  #emit(events: SSEEvent[]): string | undefined {
    let out = ''
    for (const event of events) {
      const verdict = this.onEvent(event)
      if (verdict === false) continue
      out += typeof verdict === 'string' ? verdict : event.raw
    }
    return out || undefined
  }
}
