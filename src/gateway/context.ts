import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { ConsolaInstance } from 'consola'
import type { H3Event } from 'h3'
import type { ResolvedRoute } from '../config/types.ts'
import type { CallerIdentity, ForwardContext } from '../plugin/types.ts'
import type { RequestAbort } from './abort.ts'
import { stopWatching, watchBodyIdle } from './body-timeout.ts'
import { ForwardError } from './errors.ts'
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.ts'
import { appendFields } from './json-fields.ts'

/** Reads a whole request body, refusing more than `limit` bytes; gives up when the request is aborted (the body timeout). */
function readBody(req: IncomingMessage, route: ResolvedRoute, abort: RequestAbort): Promise<Buffer> {
  const limit = route.bodyLimit
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = (error: unknown) => {
      req.removeAllListeners('data')
      abort.off('abort', onAbort)
      reject(error)
    }
    const onAbort = () => stop(abort.reason)
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        stop(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => {
      abort.off('abort', onAbort)
      stopWatching(watch)
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
    })
    req.once('error', stop)
    abort.once('abort', onAbort)
    const watch = watchBodyIdle(req, route.bodyTimeout, abort)
  })
}

export function tooLarge(limit: number): ForwardError {
  return new ForwardError(413, `Request body is larger than the limit of ${limit} bytes`, 'invalid_request_error', 'body_too_large')
}

const UNREAD = Symbol('unread')

/** The per-request context handed to every hook. */
export class RequestContext implements ForwardContext {
  #id: string | undefined
  readonly startedAt = performance.now()
  readonly headers: IncomingMessage['headers']
  readonly method: string
  readonly remoteAddress: string
  readonly hasJsonBody: boolean
  clientIp: string
  caller: CallerIdentity | undefined = undefined
  provider: string | undefined
  readonly responseHeaders: Record<string, string> = {}
  readonly state: Record<string, unknown> = {}
  /** The body's bytes once read whole, else undefined (not read, or piped upstream as a stream). */
  bodyBytes: Buffer | undefined
  #text: string | undefined
  #json: unknown = UNREAD
  #jsonChanged = false
  /** Top-level fields `setField` added to the body as the client sent it (appended to its bytes). */
  #addedFields: string[] | undefined
  #reading: Promise<Buffer> | undefined

  constructor(
    readonly event: H3Event,
    readonly req: IncomingMessage,
    readonly route: ResolvedRoute,
    readonly url: string,
    readonly upstreamPath: string,
    readonly abort: RequestAbort,
    private readonly routeLog: ConsolaInstance,
  ) {
    this.headers = req.headers
    this.method = req.method ?? 'GET'
    this.remoteAddress = req.socket.remoteAddress ?? ''
    this.clientIp = this.remoteAddress
    this.provider = route.type === 'openai' ? 'openai' : route.dialect
    const type = req.headers['content-type']
    this.hasJsonBody = type !== undefined && type.includes('json')
  }

  get id(): string {
    return (this.#id ??= randomUUID())
  }

  get signal(): AbortSignal {
    return this.abort.signal
  }

  get log(): ConsolaInstance {
    // The shared logger: a tagged one per request would cost a consola instance each time.
    return this.routeLog
  }

  /** Reads the whole body (once), whatever its type. */
  async readBytes(): Promise<Buffer> {
    this.#reading ??= readBody(this.req, this.route, this.abort).then((bytes) => (this.bodyBytes = bytes))
    return this.bodyBytes ?? (await this.#reading)
  }

  /** Reads the body as text (once), if the request carries JSON. */
  async readText(): Promise<string | undefined> {
    if (!this.hasJsonBody) return undefined
    return (this.#text ??= (await this.readBytes()).toString('utf8'))
  }

  async json<T = any>(): Promise<T | undefined> {
    if (this.#json === UNREAD) {
      const text = await this.readText()
      if (text === undefined || text === '') {
        this.#json = undefined
      } else {
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch (error) {
          throw new ForwardError(400, `The request body is not valid JSON: ${(error as Error).message}`, 'invalid_request_error', 'invalid_json')
        }
        if (nestsDeeperThan(parsed, text, MAX_JSON_DEPTH)) {
          throw new ForwardError(400, `The request body's JSON nests deeper than ${MAX_JSON_DEPTH} levels`, 'invalid_request_error', 'invalid_json')
        }
        this.#json = parsed
      }
    }
    return this.#json as T | undefined
  }

  setJson(body: unknown): void {
    this.#json = body
    this.#jsonChanged = true
  }

  setField(name: string, value: unknown): void {
    const body = this.#json
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new TypeError(`ctx.setField('${name}') needs the request's JSON object: call and await ctx.json() first`)
    }
    const fields = body as Record<string, unknown>
    const added = !Object.hasOwn(fields, name)
    fields[name] = value
    if (added && !this.#jsonChanged && this.bodyBytes) (this.#addedFields ??= []).push(name)
    // A field the client sent, changed: its old value is somewhere in the bytes, so re-serialise.
    else this.#jsonChanged = true
  }

  /** The body as text, as the client sent it, if a hook read it as JSON. */
  get bodyText(): string | undefined {
    return this.#text
  }

  /** The parsed body, if a hook read it. */
  get parsedJson(): unknown {
    return this.#json === UNREAD ? undefined : this.#json
  }

  /** The body to send upstream when it was read: re-serialised only if a hook replaced it or changed a field the client sent. */
  outgoingBody(): string | Buffer | undefined {
    if (this.#jsonChanged) return JSON.stringify(this.#json)
    if (this.#addedFields && this.bodyBytes) return appendFields(this.bodyBytes, this.#json as Record<string, unknown>, this.#addedFields)
    return this.bodyBytes
  }
}
