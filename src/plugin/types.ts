import type { IncomingHttpHeaders } from 'node:http'
import type { Transform } from 'node:stream'
import type { ConsolaInstance } from 'consola'
import type { H3Event } from 'h3'
import type { ResolvedRoute } from '../config/types.ts'
import type { PluginStorage } from '../storage/types.ts'
import type { ForwardResult } from '../gateway/result.ts'

/** What a hook may return to answer the client itself instead of calling the upstream. */
export type EarlyResponse = Response

type Awaitable<T> = T | Promise<T>

/** Identity of the caller, set by an auth plugin (e.g. `keys`) and read by the plugins after it. */
export interface CallerIdentity {
  /** A name for the caller that is safe to log (never a secret). */
  name: string
  /** The caller's level, when the auth plugin has levels. */
  level?: string
  /** A dollar budget of the caller's own (`'$20/month'`, a runtime key's), which the `budget` plugin applies in place of its own tier. */
  budget?: string
}

/** A parsed Server-Sent Event, as the upstream sent it. */
export interface SSEEvent {
  /** The `event:` field, when present (Responses API, Anthropic). */
  readonly event: string | undefined
  /** The `data:` payload (several data lines joined with `\n`). */
  readonly data: string
  /** The raw text of the whole event, including its terminating blank line. Free to read: the fields above are parsed from it on first use. */
  readonly raw: string
  /**
   * `data` parsed as JSON, parsed at most once; `undefined` for `[DONE]` or non-JSON data. The same
   * object goes to every hook and to `onResponse` (`result.events()`): read it, don't change it.
   */
  json(): any
}

/**
 * What `onChunk` may return: nothing to pass the event on unchanged, `false` to drop it,
 * or a string to send in its place (a whole event, ending in a blank line).
 */
export type ChunkVerdict = void | false | string

/** One call to the upstream. Hooks may change everything here before it is sent. */
export interface UpstreamAttempt {
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly number: number
  /** Base URL of the upstream this attempt goes to (a route's target). Plugins may change it. */
  target: string
  /** Path and query appended to `target`, starting with `/`. */
  path: string
  /** Outgoing headers (lowercase names). Plugins may set, change or delete entries. */
  headers: Record<string, string | string[] | undefined>
  /**
   * The body this attempt sends: the client's (with the `onRequest` hooks' changes), or `null`
   * without one. A hook may set a string or Buffer in its place, e.g. the request rewritten for
   * another API from `await ctx.json()` (which every later hook and `onResponse` still see as the
   * client sent it); `content-length` is then set to match. A stream (a large upload piped through)
   * is sent as it is.
   */
  body: string | Buffer | import('node:stream').Readable | null
}

/**
 * Maps a response body chunk by chunk (`response.mapBody`), e.g. another API's stream into the
 * client's. Runs in the gateway's own pass over the body, as each chunk comes: no stream is made.
 */
export interface BodyMap {
  /** The next chunk as it came; returns what to send in its place (nothing, or '', when nothing yet). */
  write(chunk: Buffer): string | Buffer | undefined
  /** The body ended; returns what is left to send. A throw (here or in `write`) breaks the body as an upstream failure would. */
  end(): string | Buffer | undefined
  /**
   * The body broke (the upstream failed or went silent): returns what to send before the gateway's
   * own SSE error event, e.g. an error event in the client's API's shape.
   */
  fail?(error: Error): string | Buffer | undefined
}

/** The upstream's answer, once its headers have arrived. */
export interface UpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /**
   * The body, not yet read. A plugin that replaces the response must consume or destroy it. It is
   * made a stream on first use: until a hook touches it, the gateway relays the upstream's bytes
   * without one. A hook may also set another stream in its place.
   */
  body: import('node:stream').Readable
  /** The attempt that produced this response. */
  attempt: UpstreamAttempt
  /**
   * Maps the body chunk by chunk from here on (set `headers` to match, e.g. drop `content-length`):
   * the client, `onChunk`, `onResponse` and a later reader of `body` all get the mapped body. Cheaper
   * than setting a Transform as `body`: no stream is made unless a hook reads `body`. The gateway's
   * responses (what `afterUpstream` gets) always have it; one a plugin made may not.
   */
  mapBody?(map: BodyMap): void
}

/** Status and headers of the response about to be streamed to the client. */
export interface ResponseHead {
  status: number
  headers: Record<string, string | string[] | undefined>
}

/** Runs one upstream attempt (all `beforeUpstream` and `afterUpstream` hooks included). */
export type UpstreamCall = () => Promise<UpstreamResponse>

/** Everything a hook knows about the request being forwarded. One per request. */
export interface ForwardContext {
  /** A unique id for this request (also sent to the client as `x-aifd-request-id`). */
  readonly id: string
  /**
   * The request's h3 event: use h3's utilities on it (`getQuery(ctx.event)`, `getRequestHeader`,
   * `getCookie`, `setResponseHeader`, …). Response headers set on it reach the client on forwarded
   * routes too. The body is the gateway's: read it with `ctx.json()`, not h3's `readBody`.
   */
  readonly event: H3Event
  /** The route that matched. */
  readonly route: ResolvedRoute
  readonly method: string
  /** The request path as the client sent it (normalised), with the query. */
  readonly url: string
  /** Path and query after the route's prefix: what is appended to the target. */
  readonly upstreamPath: string
  /** The client's request headers (lowercase names). Read-only: change outgoing ones in `beforeUpstream`. */
  readonly headers: IncomingHttpHeaders
  /** The socket's peer address. */
  readonly remoteAddress: string
  /** The client's address; an IP plugin may replace it with one read from trusted proxy headers. */
  clientIp: string
  /** Set by an auth plugin. */
  caller: CallerIdentity | undefined
  /**
   * The API that answers this request, as logs and the dashboard name it: `openai` on `openai`
   * routes, the dialect (`anthropic`, `gemini`) on `general` routes that have one. A plugin that
   * sends the request to another API (`translate`) sets it.
   */
  provider: string | undefined
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal
  /** Request start, in `performance.now()` milliseconds. */
  readonly startedAt: number
  /** Whether the request carries a JSON body (content-type application/json). */
  readonly hasJsonBody: boolean
  /**
   * The JSON body, read and parsed on first call only. `undefined` when the request has no JSON body.
   * A body that is not valid JSON answers the client 400 and ends the request.
   */
  json<T = any>(): Promise<T | undefined>
  /**
   * Replace the JSON body sent upstream (call `json()` first, change the object, pass it back).
   * The body is re-serialised once, just before the first attempt.
   */
  setJson(body: unknown): void
  /**
   * Set one top-level field of the JSON body sent upstream (after `await json()`; the parsed object
   * changes too). A field the client did not send is appended to the body's bytes as they came, so
   * the rest is not re-serialised (a long chat history costs nothing); changing a field it sent
   * re-serialises, like `setJson`.
   */
  setField(name: string, value: unknown): void
  /** Headers added to whatever response the client gets (upstream's or a plugin's). */
  readonly responseHeaders: Record<string, string>
  /** Free per-request state for plugins; namespace keys by plugin name. */
  readonly state: Record<string, unknown>
  /** The gateway's logger (include `ctx.id` in a message when it matters which request it was). */
  readonly log: ConsolaInstance
}

/** Given to `setup` once per loaded config. */
export interface SetupContext {
  /** The route this instance of the plugin serves, or `undefined` for a global plugin instance. */
  readonly route: ResolvedRoute | undefined
  /** Every route of the config (global plugins serve all of them). */
  readonly routes: readonly ResolvedRoute[]
  /** Storage namespaced to this plugin's name; include the route's name in keys that are per route. */
  readonly storage: PluginStorage
  readonly log: ConsolaInstance
  /** `dev` while `aifd dev` serves, else `run`. */
  readonly mode: 'run' | 'dev'
}

/**
 * A gateway plugin. Every hook is optional; hooks run in chain order (global plugins first).
 * Built-in plugins are written against exactly this interface.
 */
export interface ForwardPlugin {
  /** Shown in the banner and in logs. */
  name: string
  /** Key settings to show in the startup banner (never secrets). */
  describe?(): string
  /**
   * The plugin refuses callers it does not know (an auth plugin, like `keys` with forward keys). A
   * route with none while CORS allows any origin gets a warning at start: any web page could call it
   * from a visitor's browser and read the answers.
   */
  checksCallers?: boolean
  /** Once per loaded config, per route the plugin is on. May return a disposer run on reload or exit. */
  setup?(ctx: SetupContext): Awaitable<void | (() => Awaitable<void>)>
  /**
   * Before anything goes upstream. Return a `Response` to answer the client now; the hooks of later
   * plugins and the upstream call are then skipped, but `onResponse` still runs for every plugin.
   */
  onRequest?(ctx: ForwardContext): Awaitable<void | EarlyResponse>
  /**
   * Wraps the upstream call: call `next()` once or more (retry, failover) and return a response.
   * The first plugin in the chain is the outermost wrapper.
   */
  wrapUpstream?(ctx: ForwardContext, next: UpstreamCall): Promise<UpstreamResponse>
  /** Before each attempt is sent: change its target, path or headers (key swap, failover). */
  beforeUpstream?(ctx: ForwardContext, attempt: UpstreamAttempt): Awaitable<void>
  /** After each attempt's headers arrive (also for attempts a retry discards): key health, metrics. */
  afterUpstream?(ctx: ForwardContext, response: UpstreamResponse): Awaitable<void>
  /**
   * Each SSE event of a streamed response, in order, synchronously, on the hot path.
   * Return `false` to drop the event or a string to send in its place.
   */
  onChunk?(ctx: ForwardContext, event: SSEEvent): ChunkVerdict
  /** A Node Transform to insert between upstream and client (after the SSE tap), e.g. pacing. */
  transformStream?(ctx: ForwardContext, response: ResponseHead): Transform | undefined
  /** After the response has ended or was aborted; never delays the client. */
  onResponse?(ctx: ForwardContext, result: ForwardResult): Awaitable<void>
  /**
   * Set `false` when `onResponse` never reads the body (`text`, `json`, `events`, `answer`, `usage`),
   * so the kernel need not keep response bodies for this plugin. Default true.
   */
  readsResponseBody?: boolean
  /** When forwarding failed; may return a response to send instead of the default error. */
  onError?(ctx: ForwardContext, error: Error): Awaitable<void | EarlyResponse>
}

/** A plugin factory: options in, plugin out. Options may be left out when every option is optional. */
export type PluginFactory<Options> = {} extends Options ? (options?: Options) => ForwardPlugin : (options: Options) => ForwardPlugin

