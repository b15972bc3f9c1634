import { Readable, Transform } from 'node:stream'
import type { BodyMap, UpstreamAttempt, UpstreamResponse } from '../plugin/types.ts'

/** Where the relay takes a body's chunks: what `pipe()` would do, as three plain calls. */
export interface BodySink {
  /** A chunk, in order. */
  data(chunk: Buffer): void
  /** The body ended whole. */
  end(): void
  /** The body broke (the upstream went away, the idle timeout, the client left). */
  error(error: unknown): void
}

/** A response body the relay can read: an upstream's as undici hands it over, or any Readable. */
export interface BodySource {
  /** Starts delivering to `sink`, chunks that came before first. Once only. */
  start(sink: BodySink): void
  pause(): void
  resume(): void
  /** Stops delivering; what still comes is dropped. */
  stop(): void
}

function noop(): void {}

/** A body the relay reads without a stream, which a hook may still take as one (`readable`). */
export interface DirectBody extends BodySource {
  /** A hook took the body as a stream: the relay must read `readable` instead. */
  readonly materialised: boolean
  /** The body as a Readable, made on first use. */
  readonly readable: Readable
  /** Stops the body at its source (the upstream call is aborted when still running). */
  destroy(reason?: unknown): void
}

/** A Readable fed by `source`: what a hook gets when it reads a direct body as a stream. */
function readableOf(source: DirectBody): Readable {
  const readable = new DirectReadable(source)
  // As undici's own body had from us: a body that breaks while no one listens must not end the process.
  readable.on('error', noop)
  source.start({
    data: (chunk) => {
      if (!readable.push(chunk)) source.pause()
    },
    end: () => readable.push(null),
    error: (error) => readable.destroy(error instanceof Error ? error : new Error(String(error))),
  })
  return readable
}

/** Chunks held while no reader is attached, before undici is asked to stop reading the socket. */
const HELD_BYTES = 64 * 1024

/**
 * An upstream response body, fed by undici's dispatch handler and read by the relay directly: no
 * stream per response. A Node stream costs more per request than everything else the relay does
 * (its construction, `push`, `'data'` events, the end and close machinery), so one is made only when
 * a plugin asks for `response.body` (`readable`), and the relay then reads that.
 */
export class UpstreamBody implements DirectBody {
  #held: Buffer[] = []
  #heldBytes = 0
  #ended = false
  #failure: { error: unknown } | undefined
  #sink: BodySink | undefined
  #stopped = false
  #paused = false
  #readable: Readable | undefined
  /** undici's: call when reading may go on after `push` returned false. */
  #resumeUpstream: () => void
  /** undici's: aborts the upstream call. */
  #abortUpstream: (reason: unknown) => void

  constructor(resume: () => void, abort: (reason: unknown) => void) {
    this.#resumeUpstream = resume
    this.#abortUpstream = abort
  }

  /** A plugin took the body as a stream (`response.body`): the relay must read that instead. */
  get materialised(): boolean {
    return this.#readable !== undefined
  }

  /** The body as a Readable, made on first use; chunks already held come first. */
  get readable(): Readable {
    return (this.#readable ??= readableOf(this))
  }

  // -- undici's side

  /** A chunk came; `false` asks undici to stop reading until `resume`. */
  push(chunk: Buffer): boolean {
    if (this.#stopped) return true
    const sink = this.#sink
    if (sink) {
      sink.data(chunk)
      return !this.#paused
    }
    this.#held.push(chunk)
    this.#heldBytes += chunk.length
    this.#paused = this.#heldBytes >= HELD_BYTES
    return !this.#paused
  }

  finish(): void {
    this.#ended = true
    if (!this.#stopped) this.#sink?.end()
  }

  fail(error: unknown): void {
    if (this.#ended || this.#failure) return
    this.#failure = { error }
    if (!this.#stopped) this.#sink?.error(error)
  }

  // -- the reader's side

  start(sink: BodySink): void {
    if (this.#sink) throw new Error('an upstream body is read once')
    this.#sink = sink
    const held = this.#held
    this.#held = []
    this.#heldBytes = 0
    // Paused for holding, not by the reader: the reader's own pause (while the held chunks are written) counts from here.
    const heldBack = this.#paused
    this.#paused = false
    for (let i = 0; i < held.length && !this.#stopped; i++) sink.data(held[i]!)
    if (this.#stopped) return
    if (this.#ended) sink.end()
    else if (this.#failure) sink.error(this.#failure.error)
    else if (heldBack && !this.#paused) this.#resumeUpstream()
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#resumeUpstream()
  }

  stop(): void {
    this.#stopped = true
    this.#held = []
    // Whatever still comes is dropped; undici must not wait for a reader that left.
    this.resume()
  }

  /** Stops the body at its source: the upstream call is aborted when it is still running. */
  destroy(reason?: unknown): void {
    this.stop()
    if (!this.#ended && !this.#failure) this.#abortUpstream(reason ?? new Error('The response body was discarded'))
  }
}

function bytes(out: string | Buffer): Buffer {
  return typeof out === 'string' ? Buffer.from(out) : out
}

/**
 * A direct body seen through a hook's `BodyMap` (`response.mapBody`): each chunk is mapped in the
 * relay's own pass as it comes, with no stream on either side. A map that throws breaks the body
 * as an upstream failure would.
 */
export class MappedBody implements DirectBody {
  #readable: Readable | undefined
  #failed = false

  constructor(private readonly source: DirectBody, private readonly map: BodyMap) {}

  get materialised(): boolean {
    return this.#readable !== undefined
  }

  get readable(): Readable {
    return (this.#readable ??= readableOf(this))
  }

  start(sink: BodySink): void {
    const { map } = this
    const fail = (error: unknown) => {
      this.#failed = true
      this.source.stop()
      sink.error(error)
    }
    this.source.start({
      data: (chunk) => {
        if (this.#failed) return
        let out
        try {
          out = map.write(chunk)
        } catch (error) {
          return fail(error)
        }
        if (out !== undefined && out.length > 0) sink.data(bytes(out))
      },
      end: () => {
        if (this.#failed) return
        let out
        try {
          out = map.end()
        } catch (error) {
          return fail(error)
        }
        if (out !== undefined && out.length > 0) sink.data(bytes(out))
        sink.end()
      },
      error: (error) => {
        if (this.#failed) return
        let out
        try {
          out = map.fail?.(error instanceof Error ? error : new Error(String(error)))
        } catch {
          // The gateway's own error event still ends the body.
        }
        if (out !== undefined && out.length > 0) sink.data(bytes(out))
        sink.error(error)
      },
    })
  }

  pause(): void {
    this.source.pause()
  }

  resume(): void {
    this.source.resume()
  }

  stop(): void {
    this.source.stop()
  }

  destroy(reason?: unknown): void {
    this.source.destroy(reason)
  }
}

/** `map` over a body that is already a stream: the same mapping, as a Transform. */
function mappedStream(body: Readable, map: BodyMap): Readable {
  const mapped = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        callback(null, map.write(chunk))
      } catch (error) {
        callback(error as Error)
      }
    },
    flush(callback) {
      try {
        callback(null, map.end())
      } catch (error) {
        callback(error as Error)
      }
    },
  })
  body.once('error', (error) => mapped.destroy(error))
  mapped.once('close', () => body.destroy())
  return body.pipe(mapped)
}

/**
 * The stream a plugin gets as `response.body`. Like undici's own body it has `dump()`: read and
 * drop a small rest so the connection can serve another request, instead of closing it.
 */
class DirectReadable extends Readable {
  constructor(private readonly body: DirectBody) {
    super()
  }

  override _read(): void {
    this.body.resume()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.body.destroy(error ?? undefined)
    callback(error)
  }

  /** Reads and drops the rest of the body when it is at most `limit` bytes, else destroys it. */
  async dump({ limit = 128 * 1024 }: { limit?: number } = {}): Promise<void> {
    let read = 0
    try {
      for await (const chunk of this) {
        read += (chunk as Buffer).length
        if (read > limit) break
      }
    } catch {
      // A body that breaks while being dropped needs nothing more.
    }
    if (!this.readableEnded) this.destroy()
  }
}

/** A Readable as a `BodySource`: for answers whose body a plugin made, or took as a stream. */
export class ReadableSource implements BodySource {
  #sink: BodySink | undefined
  #stopped = false

  constructor(private readonly stream: Readable) {}

  start(sink: BodySink): void {
    this.#sink = sink
    this.stream.on('data', this.#onData)
    this.stream.once('end', this.#onEnd)
    this.stream.once('error', this.#onError)
  }

  pause(): void {
    this.stream.pause()
  }

  resume(): void {
    this.stream.resume()
  }

  stop(): void {
    this.#stopped = true
    this.stream.off('data', this.#onData)
    this.stream.off('end', this.#onEnd)
  }

  #onData = (chunk: Buffer): void => this.#sink!.data(chunk)
  #onEnd = (): void => this.#sink!.end()
  #onError = (error: Error): void => {
    if (!this.#stopped) this.#sink!.error(error)
  }
}

/**
 * The `UpstreamResponse` hooks see. Its `body` is made a stream only when a hook reads it (or sets
 * another); until then the relay reads the upstream directly.
 */
export class FetchedResponse implements UpstreamResponse {
  #replaced: Readable | undefined
  #mapped: MappedBody | undefined

  constructor(
    public status: number,
    public headers: Record<string, string | string[] | undefined>,
    private readonly upstream: UpstreamBody,
    public attempt: UpstreamAttempt,
  ) {}

  get body(): Readable {
    return this.#replaced ?? (this.#mapped ?? this.upstream).readable
  }

  set body(body: Readable) {
    this.#replaced = body
  }

  mapBody(map: BodyMap): void {
    const current = this.direct
    // A body no hook has taken as a stream is mapped in the relay's pass; else as a stream.
    if (current) this.#mapped = new MappedBody(current, map)
    else this.#replaced = mappedStream(this.body, map)
  }

  /** The upstream body (mapped, when a hook mapped it), when no hook took it as a stream or replaced it. */
  get direct(): DirectBody | undefined {
    if (this.#replaced !== undefined) return undefined
    const body = this.#mapped ?? this.upstream
    return body.materialised ? undefined : body
  }
}
