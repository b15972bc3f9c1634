import { Transform, type TransformCallback } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { countTokens } from '../../src/index.ts'

const EVENT_END = /\r?\n\r?\n/g

/** Splits SSE text into whole events (each with its blank line) and the unfinished rest. */
function splitEvents(text: string): { events: string[]; rest: string } {
  const events: string[] = []
  let start = 0
  EVENT_END.lastIndex = 0
  for (let match = EVENT_END.exec(text); match; match = EVENT_END.exec(text)) {
    const end = match.index + match[0].length
    events.push(text.slice(start, end))
    start = end
  }
  return { events, rest: text.slice(start) }
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '')

/** The generated text in one parsed event: OpenAI chat and completions, Responses, Anthropic, Gemini. */
function deltaText(json: any): string {
  let text = ''
  if (Array.isArray(json.choices)) {
    for (const choice of json.choices) {
      const delta = choice?.delta
      if (!delta) {
        text += str(choice?.text)
        continue
      }
      text += str(delta.content) + str(delta.reasoning_content) + str(delta.reasoning)
      if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) text += str(call?.function?.arguments)
    }
  } else if (typeof json.type === 'string') {
    if (json.type.endsWith('.delta')) text += str(json.delta)
    else if (json.type === 'content_block_delta') text += str(json.delta?.text) + str(json.delta?.thinking) + str(json.delta?.partial_json)
  } else if (Array.isArray(json.candidates)) {
    for (const candidate of json.candidates) {
      for (const part of candidate?.content?.parts ?? []) text += str(part?.text)
    }
  }
  return text
}

/** Tokens of the text one SSE event adds, counted with tiktoken (each event's delta on its own). */
export function eventTokens(raw: string, model: string | undefined): number {
  let data = ''
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:')) data += line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
  }
  if (!data || data === '[DONE]') return 0
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return 0
  }
  return typeof json === 'object' && json !== null ? countTokens(deltaText(json), model) : 0
}

/**
 * Paces an SSE stream to at most one token per `msPerToken`, as a leaky bucket with no burst
 * credit: an event carrying n tokens is passed on, then the next one carrying tokens waits until
 * n × msPerToken have passed. The first event with tokens is never delayed; events without tokens
 * (role, finish, `[DONE]`) follow at once behind the ones before them. Only the events waiting
 * their turn are held (the upstream is paused by backpressure meanwhile), never the whole stream.
 */
export class TokenPacer extends Transform {
  #decoder = new StringDecoder('utf8')
  #tail = ''
  /** `performance.now()` before which the next event with tokens must not go. */
  #nextAt = 0
  #timer: NodeJS.Timeout | undefined
  readonly #stop = () => this.destroy()

  constructor(
    private readonly msPerToken: number,
    private readonly model: string | undefined,
    private readonly signal: AbortSignal,
  ) {
    super()
    // The client went away: drop what is waiting instead of keeping timers alive for it.
    signal.addEventListener('abort', this.#stop, { once: true })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { events, rest } = splitEvents(this.#tail + this.#decoder.write(chunk))
    this.#tail = rest
    this.#release(events, 0, undefined, callback)
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.#tail + this.#decoder.end()
    this.#tail = ''
    this.signal.removeEventListener('abort', this.#stop)
    if (!rest) return callback()
    this.#release([rest], 0, undefined, callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer)
    this.signal.removeEventListener('abort', this.#stop)
    callback(error)
  }

  #release(events: string[], from: number, counted: number | undefined, done: TransformCallback): void {
    for (let i = from; i < events.length; i++) {
      const tokens = i === from && counted !== undefined ? counted : eventTokens(events[i], this.model)
      if (tokens > 0) {
        const now = performance.now()
        if (this.#nextAt > now) {
          this.#timer = setTimeout(() => this.#release(events, i, tokens, done), this.#nextAt - now)
          return
        }
        this.#nextAt = Math.max(this.#nextAt, now) + tokens * this.msPerToken
      }
      this.push(events[i])
    }
    done()
  }
}
