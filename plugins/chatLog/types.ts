import type { AssembledChoice, Duration, Outcome, Usage } from '../../src/index.ts'

/** What a request was, from its path: the sub-folder its records go to. */
export type ChatLogKind = 'chat' | 'completion' | 'embedding' | 'audio' | 'image' | 'response' | 'other'

export const CHAT_LOG_KINDS: readonly ChatLogKind[] = ['chat', 'completion', 'embedding', 'audio', 'image', 'response', 'other']

/** The assistant's answer as recorded: every choice, whole (streams are reassembled). */
export interface ChatLogAnswer {
  /** The upstream's response id (`chatcmpl-…`, `resp_…`), when it sent one. */
  id: string | null
  /** Every choice: content, reasoning, tool calls with their full arguments, finish reason. */
  choices: AssembledChoice[]
}

/**
 * One line of a chat log (`<dir>/<route>/<kind>/<date>.jsonl`). Every field is always present;
 * unknown values are `null`, so readers can rely on the shape.
 */
export interface ChatLogRecord {
  /** When the request arrived, ISO 8601 in UTC. */
  time: string
  /** The gateway's request id (also sent to the client as `x-aifd-request-id`). */
  id: string
  /** The route's name. */
  route: string
  kind: ChatLogKind
  method: string
  /** Path and query as the client sent them; credentials in the query (`?key=`) are masked. */
  path: string
  /** The client's address (as the ipFilter plugin resolved it, behind trusted proxies). */
  ip: string
  /** The forward key's name, as the keys plugin identified the caller; never a key itself. */
  caller: string | null
  /** The model asked for (from the body, the path for Gemini, or the answer). */
  model: string | null
  /** Whether the answer was streamed (SSE). */
  stream: boolean
  /** The request's JSON body as sent (messages, tools, parameters); `null` for multipart and bodiless requests. */
  request: Record<string, unknown> | null
  /** The answer, for chat, completion and response requests that got one. */
  answer: ChatLogAnswer | null
  /** Token usage: the upstream's, or counted by the gateway (`estimated: true`). */
  usage: Usage | null
  /**
   * What it cost (`result.cost()`): `{ usd, model, estimated, unpriced }`. `usd` is `null` for a
   * model without a price (`unpriced: true`); `estimated` when the usage was counted by the gateway.
   * `null` when nothing was spent upstream (refused, cache hit, error, no usage).
   */
  cost: { usd: number | null; model: string | null; estimated: boolean; unpriced: boolean } | null
  /** The status the client got; 0 when the client left before any. */
  status: number
  /** `complete`, `aborted` (the client left) or `error` (the upstream failed). */
  outcome: Outcome
  /** Why the request failed: the gateway's error, or the error body of a 4xx/5xx answer. */
  error: { message: string; code: string | null } | null
  /** Answered from the cache plugin. */
  cacheHit: boolean
  /** The plugin that answered instead of the upstream (`cache`, `keys`, `rateLimit`, …). */
  answeredBy: string | null
  /** The API behind the route (`openai`, `anthropic`, `gemini`; the one `translate` sends to), when known. */
  provider: string | null
  /** Upstream attempts made (more than 1 when retried; 0 when a plugin answered). */
  attempts: number
  /** The upstream base URL of the last attempt, without credentials or query. */
  target: string | null
  /** Milliseconds from the request's arrival to the first byte (first token, for streams). */
  firstTokenMs: number | null
  /** Milliseconds from the request's arrival to the end of the response. */
  totalMs: number
}

/** Masks every match of `pattern` in every string of a record. */
export interface RedactRule {
  /** What to mask. Every match is replaced, whether or not the RegExp has the `g` flag. */
  pattern: RegExp
  /** What to write instead. Default `[redacted]`. `$1`-style references work as in `String.replace`. */
  replace?: string
}

/**
 * Changes a record before it is written: return the record (changed or a new one), or `null` to
 * not write it at all. Runs off the response path, in the writer's batch.
 */
export type RedactFunction = (record: ChatLogRecord) => ChatLogRecord | null

/** One redaction step: a pattern rule or a function. */
export type RedactStep = RedactRule | RedactFunction

export interface ChatLogOptions {
  /** Folder the logs go under, as `<dir>/<route>/<kind>/<date>.jsonl`. Relative to the working directory. Default `Log`. */
  dir?: string
  /** Start a new file (`<date>.1.jsonl`, `<date>.2.jsonl`, …) before the current one would pass this size: bytes or `"50mb"`. Default `"50mb"`. */
  maxFileSize?: number | string
  /** How long records wait in memory before they are appended, in ms or `"1s"`. A crash loses at most this much. Under load they go sooner: whenever about 256 KB of lines are waiting. Default `"1s"`. */
  flushInterval?: Duration
  /** Which kinds of request to record (`chat`, `completion`, `embedding`, `audio`, `image`, `response`, `other`). Default all. */
  kinds?: readonly ChatLogKind[]
  /** Records waiting to be written, at most; beyond this (a stuck disk) new records are dropped and counted. Default 100000. */
  maxQueue?: number
  /** Also print a short coloured summary of each exchange on the console (as the original's PRINT_CHAT). Default false. */
  print?: boolean
  /**
   * Mask data before it is written (and printed): pattern rules are applied to every string of the
   * record; functions get the record and return it changed, or `null` to skip it. Steps run in order.
   * @example [{ pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g, replace: '[email]' }]
   */
  redact?: RedactStep | readonly RedactStep[]
}
