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
    const { raw, end } = this
    // Most events are one `data: …` line: no need to split lines.
    if (raw.startsWith('data: ') && raw.indexOf('\n') === end && raw.indexOf('\r') === -1) {
      this.#data = raw.slice(6, end)
      return
    }
    let data: string | undefined
    for (const line of raw.slice(0, end).split(/\r?\n/)) {
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

/** Events split from SSE text, where each starts in it, and the unfinished tail. */
interface Split {
  events: SSEEvent[]
  starts: number[]
  rest: string
}

/** Splits SSE text into events; returns the events, their offsets and the unfinished tail. */
export function splitEvents(text: string): Split {
  const split: Split = { events: [], starts: [], rest: '' }
  let start = 0
  /** The text from `start` up to `fieldsEnd` (its fields) and `end` (its blank line) is one event. */
  const add = (fieldsEnd: number, end: number) => {
    if (!isBlank(text, start, fieldsEnd)) {
      split.events.push(new ParsedEvent(text.slice(start, end), fieldsEnd - start))
      split.starts.push(start)
    }
    start = end
  }
  if (!text.includes('\r')) {
    // The common case, `\n` line ends: a native substring search instead of a regular expression.
    for (let at = text.indexOf('\n\n'); at !== -1; at = text.indexOf('\n\n', start)) add(at, at + 2)
  } else {
    BOUNDARY.lastIndex = 0
    for (let match = BOUNDARY.exec(text); match; match = BOUNDARY.exec(text)) add(match.index, match.index + match[0].length)
  }
  split.rest = start === 0 ? text : text.slice(start)
  return split
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

/** The longest event the tap holds while waiting for its end (1 MB of text; no real event comes near it). */
const MAX_EVENT_CHARS = 1024 * 1024

function verdictText(verdict: ChunkVerdict, event: SSEEvent): string {
  return verdict === undefined ? event.raw : verdict === false ? '' : verdict
}

/**
 * The chunk's events with dropped ones cut out and replaced ones swapped in, as bytes cut from the
 * chunk itself (`split` was made from the chunk's text, one byte per character).
 */
function spliceBytes(chunk: Buffer, { events, starts }: Split, verdicts: ChunkVerdict[]): Buffer | undefined {
  const parts: Buffer[] = []
  let kept = starts[0]
  for (let i = 0; i < events.length; i++) {
    const verdict = verdicts[i]
    if (verdict === undefined) continue
    if (starts[i] > kept) parts.push(chunk.subarray(kept, starts[i]))
    if (verdict !== false) parts.push(Buffer.from(verdict))
    kept = starts[i] + events[i].raw.length
  }
  const last = events.length - 1
  const end = starts[last] + events[last].raw.length
  if (end > kept) parts.push(chunk.subarray(kept, end))
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : Buffer.concat(parts)
}

/**
 * Reads an upstream SSE body chunk by chunk when a plugin has an `onChunk` hook: finds whole events
 * (a partial event is held until its blank line) and passes each to the hook, which may drop or
 * replace it. `write` returns what to send on for a chunk: a chunk of whole events that no hook
 * changed is the very Buffer that came.
 */
export class EventTap {
  #decoder = new StringDecoder('utf8')
  #tail = ''
  /** The last chunk ended an event: no partial event or character is held back. */
  #aligned = true
  /** The stream broke the SSE format past repair (an event larger than MAX_EVENT_CHARS): bytes pass untouched. */
  #bypassed = false

  /** `seen`, when given, receives every event as the upstream sent it (for `onResponse`, parsed once). */
  constructor(private readonly onEvent: (event: SSEEvent) => ChunkVerdict, private readonly seen?: (event: SSEEvent) => void) {}

  /** What to send on for `chunk`: its bytes, text, or `undefined` when nothing (yet). */
  write(chunk: Buffer): Buffer | string | undefined {
    if (this.#bypassed) return chunk
    const text = this.#decoder.write(chunk)
    const split = splitEvents(this.#tail === '' ? text : this.#tail + text)
    const { events, rest } = split
    const aligned = this.#aligned
    if (rest.length > MAX_EVENT_CHARS) return this.#bypass(events, rest)
    this.#tail = rest
    this.#aligned = rest === '' && chunk[chunk.length - 1] === LF
    if (events.length === 0) return undefined
    const verdicts = this.#verdicts(events)
    if (verdicts === undefined) {
      // Nothing held before or after, nothing changed: the chunk's own bytes, not a re-encoded copy.
      return aligned && this.#aligned ? chunk : events.map((e) => e.raw).join('')
    }
    // ASCII from the chunk's start: characters are bytes, so what passes is cut from the chunk as is.
    if (aligned && chunk.length === text.length) return spliceBytes(chunk, split, verdicts)
    let out = ''
    for (let i = 0; i < events.length; i++) out += verdictText(verdicts[i], events[i])
    return out || undefined
  }

  /**
   * An upstream that never ends its event (no blank line) would have the tap hold, and re-scan with
   * every chunk, an ever longer tail: memory and quadratic time. Past MAX_EVENT_CHARS the stream is
   * not SSE any more as far as the tap is concerned: what it holds goes on as it came, and so does
   * everything after it, unparsed.
   */
  #bypass(events: SSEEvent[], rest: string): string {
    this.#bypassed = true
    this.#tail = ''
    const verdicts = events.length > 0 ? this.#verdicts(events) : undefined
    let out = ''
    for (let i = 0; i < events.length; i++) out += verdicts === undefined ? events[i]!.raw : verdictText(verdicts[i], events[i]!)
    return out + rest
  }

  /** What to send on once the body ended: an unfinished last event, if any. */
  end(): string | undefined {
    if (this.#bypassed) return this.#decoder.end() || undefined
    const rest = this.#tail + this.#decoder.end()
    this.#tail = ''
    if (!rest.trim()) return undefined
    const event = parseEvent(rest, rest)
    const verdicts = this.#verdicts([event])
    return verdicts === undefined ? rest : verdictText(verdicts[0], event) || undefined
  }

  /** Each event's verdict, or `undefined` when every one passes unchanged (the common case, no array made). */
  #verdicts(events: SSEEvent[]): ChunkVerdict[] | undefined {
    let verdicts: ChunkVerdict[] | undefined
    for (let i = 0; i < events.length; i++) {
      this.seen?.(events[i])
      const verdict = this.onEvent(events[i])
      if (verdict === undefined) continue
      verdicts ??= new Array<ChunkVerdict>(events.length)
      verdicts[i] = verdict
    }
    return verdicts
  }
}

/** An `EventTap` as a Transform, for when more Transforms (`transformStream` hooks) follow it. */
export class SSETap extends Transform {
  constructor(private readonly tap: EventTap) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.tap.write(chunk))
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.tap.end())
  }
}
