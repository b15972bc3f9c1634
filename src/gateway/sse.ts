import { Transform, type TransformCallback } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import type { ChunkVerdict, SSEEvent } from '../plugin/types.ts'

const NOT_PARSED = Symbol('not parsed')

/**
 * One event. Only `raw` is made up front: `event` and `data` are parsed from it on first use, and
 * `json()` on first call, so hooks that only glance at `raw` cost almost nothing per event.
 */
class ParsedEvent implements SSEEvent {
  #event: string | undefined
  #data: string | undefined
  #json: unknown = NOT_PARSED

  /** `raw` is the whole event with its blank line; `end` is where its fields end within it. */
  constructor(readonly raw: string, private readonly end: number) {}

  get event(): string | undefined {
    if (this.#data === undefined) this.#parse()
    return this.#event
  }

  get data(): string {
    if (this.#data === undefined) this.#parse()
    return this.#data!
  }

  json(): any {
    if (this.#json === NOT_PARSED) {
      const data = this.data
      try {
        this.#json = data && data !== '[DONE]' ? JSON.parse(data) : undefined
      } catch {
        this.#json = undefined
      }
    }
    return this.#json
  }

  #parse(): void {
    let data: string | undefined
    for (const line of this.raw.slice(0, this.end).split(/\r?\n/)) {
      if (line.startsWith('data:')) {
        const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
        data = data === undefined ? value : `${data}\n${value}`
      } else if (line.startsWith('event:')) {
        this.#event = line.slice(line.charCodeAt(6) === 32 ? 7 : 6)
      }
    }
    this.#data = data ?? ''
  }
}

/** Parses one raw event (`block` is it without its terminating blank line). Comments and unknown fields are kept in `raw` only. */
export function parseEvent(block: string, raw: string): SSEEvent {
  return new ParsedEvent(raw, block.length)
}

const BOUNDARY = /\r?\n\r?\n/g

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) > 32) return false
  return true
}

/** Splits SSE text into events; returns the events and the unfinished tail. */
export function splitEvents(text: string): { events: SSEEvent[]; rest: string } {
  const events: SSEEvent[] = []
  let start = 0
  if (!text.includes('\r')) {
    // The common case, `\n` line ends: a native substring search instead of a regular expression.
    for (let at = text.indexOf('\n\n'); at !== -1; at = text.indexOf('\n\n', start)) {
      if (!isBlank(text, start, at)) events.push(new ParsedEvent(text.slice(start, at + 2), at - start))
      start = at + 2
    }
    return { events, rest: start === 0 ? text : text.slice(start) }
  }
  BOUNDARY.lastIndex = 0
  for (let match = BOUNDARY.exec(text); match; match = BOUNDARY.exec(text)) {
    const end = match.index + match[0].length
    if (!isBlank(text, start, match.index)) events.push(new ParsedEvent(text.slice(start, end), match.index - start))
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

const LF = 0x0a

/**
 * Sits between the upstream's SSE body and the client when a plugin has an `onChunk` hook: emits
 * whole events (a partial event is held until its blank line), each passed to the hook, which may
 * drop or replace it. A chunk of whole events that no hook changed goes on as the very bytes that came.
 */
export class SSETap extends Transform {
  #decoder = new StringDecoder('utf8')
  #tail = ''
  /** The last chunk ended an event: no partial event or character is held back. */
  #aligned = true

  /** `seen`, when given, receives every event as the upstream sent it (for `onResponse`, parsed once). */
  constructor(private readonly onEvent: (event: SSEEvent) => ChunkVerdict, private readonly seen?: (event: SSEEvent) => void) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.#decoder.write(chunk)
    const { events, rest } = splitEvents(this.#tail === '' ? text : this.#tail + text)
    const aligned = this.#aligned
    this.#tail = rest
    this.#aligned = rest === '' && chunk[chunk.length - 1] === LF
    if (events.length === 0) return callback()
    const out = this.#emit(events)
    // Nothing held before or after, nothing changed: the chunk's own bytes, not a re-encoded copy.
    callback(null, out === true ? (aligned && this.#aligned ? chunk : events.map((e) => e.raw).join('')) : out)
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.#tail + this.#decoder.end()
    this.#tail = ''
    if (!rest.trim()) return callback()
    const out = this.#emit([parseEvent(rest, rest)])
    callback(null, out === true ? rest : out)
  }

  /** What to send for these events: `true` when every one passes unchanged. */
  #emit(events: SSEEvent[]): string | undefined | true {
    let out: string | undefined
    for (let i = 0; i < events.length; i++) {
      const event = events[i]
      this.seen?.(event)
      const verdict = this.onEvent(event)
      if (verdict === undefined) {
        if (out !== undefined) out += event.raw
        continue
      }
      // The first change: what passed before it is written out as text from here on.
      if (out === undefined) out = events.slice(0, i).map((e) => e.raw).join('')
      if (typeof verdict === 'string') out += verdict
    }
    return out === undefined ? true : out || undefined
  }
}
