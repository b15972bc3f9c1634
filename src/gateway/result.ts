import { gunzipSync, brotliDecompressSync, inflateSync } from 'node:zlib'
import type { ResolvedRoute } from '../config/types.ts'
import type { SSEEvent } from '../plugin/types.ts'
import { countChatTokens, countTokens } from '../tokenizer.ts'
import { assembleAnswer, openaiStreamUsage, type AssembledAnswer, type Usage } from './assemble.ts'
import { parseSSE } from './sse.ts'
import type { ConsolaInstance } from 'consola'
import type { Cost } from '../pricing/types.ts'

const NOT_PARSED = Symbol('not parsed')

/** The most a kept compressed body is expanded to for `onResponse` hooks (the client gets it as sent). */
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

export type { AssembledAnswer, AssembledChoice, ToolCall, Usage } from './assemble.ts'

/** How the exchange ended. */
export type Outcome =
  /** The whole response reached the client. */
  | 'complete'
  /** The client went away before the end. */
  | 'aborted'
  /** The upstream failed (before or during the response). */
  | 'error'

/** Milliseconds since the request arrived. */
export interface Timings {
  /** Upstream response headers arrived. */
  headersMs: number | undefined
  /** First body byte (first token, for streams) reached the gateway. */
  firstByteMs: number | undefined
  /** The response ended. */
  totalMs: number
}

export interface ResultInit {
  route: ResolvedRoute
  status: number
  headers: Record<string, string | string[] | undefined>
  stream: boolean
  outcome: Outcome
  error: Error | undefined
  attempts: number
  target: string | undefined
  answeredBy: string | undefined
  timings: Timings
  body: Buffer[] | undefined
  /** The stream's events, when already parsed on the way through (the same bytes as `body`). */
  events?: SSEEvent[]
  bodyTruncated: boolean
  requestJson: unknown
  /** The request's JSON body as text, as the client sent it, when a hook read it. */
  requestText?: string
  /** Where `cost()` warns, once per model, about a model without a price. */
  log?: ConsolaInstance
}

/**
 * What `onResponse` hooks receive: the exchange as it ended. Parsing is lazy: the body is only
 * decoded and the answer only assembled when a hook asks, once.
 */
export class ForwardResult {
  /** The status the client got. */
  readonly status: number
  /** The response headers as received (upstream's or the answering plugin's). */
  readonly headers: Record<string, string | string[] | undefined>
  /** Whether the response was an SSE stream. */
  readonly stream: boolean
  readonly outcome: Outcome
  /** The failure, when `outcome` is `error`. */
  readonly error: Error | undefined
  /** Upstream attempts made (0 when a plugin answered). */
  readonly attempts: number
  /** The target of the last attempt. */
  readonly target: string | undefined
  /** Name of the plugin that answered instead of the upstream (e.g. `cache`), if one did. */
  readonly answeredBy: string | undefined
  readonly timings: Timings
  /** True when the body was larger than the gateway keeps for hooks. */
  readonly bodyTruncated: boolean
  /** The request's JSON body, if a hook parsed it (`ctx.json()`), else `undefined`. */
  readonly request: unknown
  /**
   * That body as text, exactly as the client sent it (before any `setJson`/`setField`), when a hook
   * read it: lets a plugin store it without serialising the parsed object again.
   */
  readonly requestText: string | undefined
  readonly #route: ResolvedRoute
  readonly #chunks: Buffer[] | undefined
  #text: string | undefined
  #json: unknown = NOT_PARSED
  #events: SSEEvent[] | undefined
  #answer: AssembledAnswer | undefined | null = null
  #usage: Usage | undefined | null = null
  #cost: Cost | undefined | null = null
  readonly #log: ConsolaInstance | undefined

  constructor(init: ResultInit) {
    this.status = init.status
    this.headers = init.headers
    this.stream = init.stream
    this.outcome = init.outcome
    this.error = init.error
    this.attempts = init.attempts
    this.target = init.target
    this.answeredBy = init.answeredBy
    this.timings = init.timings
    this.bodyTruncated = init.bodyTruncated
    this.#route = init.route
    this.#chunks = init.body
    this.#events = init.events
    this.request = init.requestJson
    this.requestText = init.requestText
    this.#log = init.log
  }

  /** The response body as text (decompressed), if it was JSON or SSE and kept. */
  text(): string | undefined {
    if (this.#text === undefined && this.#chunks) {
      let buffer = Buffer.concat(this.#chunks)
      try {
        const encoding = String(this.headers['content-encoding'] ?? '')
        // Bounded: a small compressed body can expand to gigabytes (a "zip bomb").
        const options = { maxOutputLength: MAX_DECOMPRESSED_BYTES }
        if (encoding === 'gzip') buffer = gunzipSync(buffer, options)
        else if (encoding === 'br') buffer = brotliDecompressSync(buffer, options)
        else if (encoding === 'deflate') buffer = inflateSync(buffer, options)
      } catch {
        return undefined
      }
      this.#text = buffer.toString('utf8')
    }
    return this.#text
  }

  /** The response body parsed as JSON (non-stream responses). */
  json<T = any>(): T | undefined {
    if (this.stream) return undefined
    if (this.#json === NOT_PARSED) {
      const text = this.text()
      try {
        this.#json = text ? JSON.parse(text) : undefined
      } catch {
        this.#json = undefined
      }
    }
    return this.#json as T | undefined
  }

  /** Every SSE event of a streamed response, in order. */
  events(): SSEEvent[] | undefined {
    if (!this.stream) return undefined
    if (!this.#events) {
      const text = this.text()
      this.#events = text ? parseSSE(text) : []
    }
    return this.#events
  }

  /** The answer (every choice's content, tool calls, reasoning, finish reason), for routes that understand it. */
  answer(): AssembledAnswer | undefined {
    if (this.#answer === null) {
      const dialect = this.#route.type === 'openai' ? 'openai' : this.#route.dialect
      this.#answer = dialect ? assembleAnswer(dialect, this.stream ? undefined : this.json(), this.events()) : undefined
    }
    return this.#answer
  }

  /**
   * Token usage: the upstream's report when it sent one, else counted with tiktoken from the request
   * and the answer and marked `estimated`. `undefined` when neither is possible (opaque routes).
   */
  usage(): Usage | undefined {
    if (this.#usage === null) this.#usage = this.#readUsage()
    return this.#usage
  }

  /**
   * What the exchange cost in US dollars, from `usage()` and the config's price table (built-in
   * prices and the config's `prices`). Estimated usage gives a cost marked `estimated`; a model
   * without a price gives `unpriced: true` and `usd: null` (and one warning per model), never 0.
   * `undefined` when nothing was spent: no upstream call (a refusal, a cache hit), an error status,
   * or no usage to read (opaque routes).
   */
  cost(): Cost | undefined {
    if (this.#cost === null) {
      this.#cost = undefined
      const usage = this.attempts > 0 && this.status < 400 ? this.usage() : undefined
      if (usage) {
        const requested = (this.request as { model?: unknown } | undefined)?.model
        const model = typeof requested === 'string' ? requested : undefined
        const prices = this.#route.prices
        // The requested name first (cheap, and what budgets reserved at); the answer's own name
        // (Gemini names its model only there, a dated snapshot) when that one has no price.
        let cost = prices.cost(usage, model)
        if (cost.unpriced) cost = prices.cost(usage, model, this.answer()?.model)
        if (cost.unpriced && prices.firstUnpriced(cost.model)) {
          this.#log?.warn(`cost: the model "${cost.model ?? '(none named)'}" has no price, so its exchanges are reported unpriced; add it to the config's \`prices\``)
        }
        this.#cost = cost
      }
    }
    return this.#cost
  }

  #readUsage(): Usage | undefined {
    // An OpenAI stream's report sits in its last events: no need to assemble the answer to read it.
    if (this.#answer === null && this.stream && this.#route.type === 'openai') {
      const reported = openaiStreamUsage(this.events() ?? [])
      if (reported) return reported
    }
    const answer = this.answer()
    if (answer?.usage) return answer.usage
    const request = this.request as { model?: string; messages?: any[]; prompt?: unknown; input?: unknown; tools?: unknown } | undefined
    if (!answer || !request) return undefined
    const model = request.model
    const prompt = Array.isArray(request.messages)
      ? countChatTokens(request.messages, model, request.tools)
      : countTokens(typeof request.prompt === 'string' ? request.prompt : typeof request.input === 'string' ? request.input : JSON.stringify(request.prompt ?? request.input ?? ''), model)
    let completion = 0
    for (const choice of answer.choices) {
      completion += countTokens(choice.content, model) + countTokens(choice.reasoning, model)
      for (const call of choice.toolCalls) completion += countTokens(call.function.name + call.function.arguments, model)
    }
    return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: true }
  }
}
