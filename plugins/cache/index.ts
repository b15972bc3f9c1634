import type { ForwardContext, ForwardResult, PluginStorage } from '../../src/index.ts'
import { definePlugin, requestSlot, streamResponse } from '../../src/index.ts'
import { entryFromResult, type CacheEntry } from './entry.ts'
import { Flight, unlessAborted } from './flight.ts'
import { cacheKey, endpointOf } from './key.ts'
import { RecentKeys } from './lru.ts'
import { resolveCacheOptions, type CacheOptions } from './options.ts'
import { replay, type Want } from './replay.ts'

export type { CacheOptions } from './options.ts'

/** Entries kept by default on memory storage, which never drops expired entries nobody reads. */
const MEMORY_MAX_ENTRIES = 1000

/** A request that goes upstream and stores what comes back. */
interface Miss {
  key: string
  want: Want
  /** Set when this request leads a single flight that others wait for. */
  flight: Flight | undefined
}

/** What a cacheable request is: its key and the form it wants the answer in. */
interface Lookup {
  key: string
  want: Want
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function hasBody(headers: ForwardContext['headers']): boolean {
  const length = headers['content-length']
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined
}

/**
 * The form two requests with the same key must both ask for to share one live stream. For chat and
 * legacy completions the key leaves the form out; for other endpoints the key already fixes it.
 */
function variantOf(want: Want): string {
  if (want.endpoint === 'other') return 'as keyed'
  return want.stream ? (want.usage ? 'sse+usage' : 'sse') : 'json'
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '')
}

/**
 * Caches AI answers. On `openai` routes a request opts in with `caching: true` in its body (the field
 * is removed before the body goes upstream); on `general` routes `default: true` caches every GET and
 * JSON POST. Streams are replayed as streams, and chat answers convert between stream and JSON.
 * Identical concurrent misses share one upstream request.
 */
export const cache = definePlugin((options: CacheOptions | void) => {
  // `| void` above lets a config write `cache()` with no options.
  const config = resolveCacheOptions(options ?? undefined)
  let storage: PluginStorage | undefined
  let recent: RecentKeys | undefined
  const flights = new Map<string, Flight>()
  const misses = requestSlot<Miss>('cache miss')

  /** Whose answers this request may see: `''` for everyone, else the caller; `undefined`: do not cache. */
  function scopeOf(ctx: ForwardContext): string | undefined {
    if (config.scope === 'global') return ''
    if (ctx.caller) return `caller:${ctx.caller.name}`
    return config.scope === 'key' ? undefined : ''
  }

  /** The key and wanted form of a cacheable request; `undefined` to let it bypass the cache. */
  async function lookupOf(ctx: ForwardContext): Promise<Lookup | undefined> {
    const route = ctx.route
    if (route.type === 'openai') {
      if (ctx.method !== 'POST' || !ctx.hasJsonBody) return undefined
      const body = await ctx.json()
      if (!isRecord(body)) return undefined
      let enabled = config.byDefault
      let sent = body
      if ('caching' in body) {
        // The upstream does not know this field (OpenAI rejects unknown ones): always strip it.
        const { caching, ...rest } = body
        ctx.setJson(rest)
        sent = rest
        if (typeof caching === 'boolean') enabled = caching
      }
      if (!enabled) return undefined
      const scope = scopeOf(ctx)
      if (scope === undefined) return undefined
      const endpoint = endpointOf(ctx.upstreamPath)
      const stream = sent.stream === true
      const want: Want = { endpoint, stream, usage: stream && isRecord(sent.stream_options) && sent.stream_options.include_usage === true }
      const key = cacheKey({ route: route.name, method: ctx.method, path: ctx.upstreamPath, scope, body: sent, openai: true, stream: endpoint === 'other' ? stream : undefined })
      return { key, want }
    }
    if (!config.byDefault || (ctx.method !== 'GET' && ctx.method !== 'POST')) return undefined
    let body: unknown
    if (ctx.hasJsonBody) body = await ctx.json()
    else if (hasBody(ctx.headers)) return undefined // uploads and other opaque bodies
    const scope = scopeOf(ctx)
    if (scope === undefined) return undefined
    const key = cacheKey({ route: route.name, method: ctx.method, path: ctx.upstreamPath, scope, body, openai: false, stream: undefined })
    return { key, want: { endpoint: 'other', stream: false, usage: false } }
  }

  function answerHit(ctx: ForwardContext, storedAt: number, response: Response): Response {
    ctx.responseHeaders['x-aifd-cache'] = 'HIT'
    ctx.responseHeaders['age'] = String(Math.max(0, Math.floor((Date.now() - storedAt) / 1000)))
    return response
  }

  function goUpstream(ctx: ForwardContext, lookup: Lookup, flight: Flight | undefined): void {
    ctx.responseHeaders['x-aifd-cache'] = 'MISS'
    misses.set(ctx, { key: lookup.key, want: lookup.want, flight })
  }

  /** Waits for the leader's answer. `undefined` when it failed or cannot serve this form: go upstream. */
  async function fromFlight(ctx: ForwardContext, flight: Flight, want: Want): Promise<Response | undefined> {
    if (flight.variant === variantOf(want)) {
      await unlessAborted(flight.headed, ctx.signal)
      const live = flight.live
      if (live && !flight.failed && !ctx.signal.aborted) {
        return streamResponse(flight.subscribe(), { 'content-type': live.contentType, 'cache-control': 'no-cache' }, live.status)
      }
    }
    const entry = await unlessAborted(flight.settled, ctx.signal)
    return entry && replay(entry, want)
  }

  async function join(ctx: ForwardContext, lookup: Lookup, flight: Flight): Promise<Response | undefined> {
    const response = await fromFlight(ctx, flight, lookup.want)
    if (response) return answerHit(ctx, Date.now(), response)
    // The leader failed (or its form does not convert): this request asks the upstream itself,
    // without leading a new flight, so a failing upstream is never waited on in a chain.
    goUpstream(ctx, lookup, undefined)
    return undefined
  }

  function endFlight(key: string, flight: Flight | undefined): void {
    if (flight && flights.get(key) === flight) flights.delete(key)
  }

  function failFlight(miss: Miss, result: ForwardResult | undefined): void {
    const { flight } = miss
    if (!flight) return
    endFlight(miss.key, flight)
    if (result?.outcome === 'aborted') flight.fail('The shared upstream answer was cancelled: the request fetching it went away', 'shared_request_aborted')
    else flight.fail(result?.error?.message ?? 'The shared upstream answer failed', (result?.error as { code?: string } | undefined)?.code ?? 'upstream_error')
  }

  /** Answers being written to storage right now. */
  const writes = new Set<Promise<void>>()

  async function store(miss: Miss, entry: CacheEntry): Promise<void> {
    try {
      await storage!.set(miss.key, entry, { ttl: config.ttlMs })
      for (const old of recent?.add(miss.key) ?? []) await storage!.remove(old)
    } finally {
      // Kept until now so a request arriving while the write is under way joins instead of missing.
      endFlight(miss.key, miss.flight)
    }
  }

  return {
    name: 'cache',

    describe() {
      const when = config.byDefault ? 'on unless caching: false' : 'opt-in (caching: true)'
      return `${when}, ttl ${config.ttlText}, scope ${config.scope === 'auto' ? 'per caller when known' : config.scope}`
    },

    setup(ctx) {
      storage = ctx.storage
      const disposeAfterWrites = async () => void (await Promise.allSettled([...writes]))
      const limit = config.maxEntries ?? (ctx.storage.driver === 'memory' ? MEMORY_MAX_ENTRIES : undefined)
      if (limit !== undefined) recent ??= new RecentKeys(limit)
      if (!config.byDefault) {
        for (const route of ctx.route ? [ctx.route] : ctx.routes) {
          if (route.type === 'general') ctx.log.warn(`route ${route.name} is general (no \`caching\` field): the cache stays off there unless default: true`)
        }
      }
      return disposeAfterWrites
    },

    async onRequest(ctx) {
      const lookup = await lookupOf(ctx)
      if (!lookup) {
        ctx.responseHeaders['x-aifd-cache'] = 'BYPASS'
        return
      }
      const running = flights.get(lookup.key)
      if (running) return join(ctx, lookup, running)

      let entry: CacheEntry | null = null
      try {
        entry = await storage!.get<CacheEntry>(lookup.key)
      } catch (error) {
        // Storage down: answer from upstream rather than fail the request.
        ctx.log.warn(`cache read failed, going upstream: ${(error as Error).message}`)
      }
      if (entry?.v === 2) {
        const response = replay(entry, lookup.want)
        if (response) {
          recent?.touch(lookup.key)
          return answerHit(ctx, entry.storedAt, response)
        }
      }
      // Another request may have started the same miss while we read.
      const started = flights.get(lookup.key)
      if (started) return join(ctx, lookup, started)
      const flight = new Flight(variantOf(lookup.want))
      flights.set(lookup.key, flight)
      goUpstream(ctx, lookup, flight)
    },

    transformStream(ctx, head) {
      const miss = misses.get(ctx)
      const flight = miss?.flight
      if (!flight) return undefined
      if (head.status < 200 || head.status >= 300) {
        // Will not be stored: let the waiters go now rather than after the error body.
        failFlight(miss, undefined)
        return undefined
      }
      const type = headerText(head.headers['content-type'])
      const encoding = headerText(head.headers['content-encoding'])
      if (type.startsWith('text/event-stream') && (encoding === '' || encoding === 'identity')) return flight.tap(head.status, type)
      flight.notLive()
      return undefined
    },

    async onResponse(ctx, result) {
      const miss = misses.get(ctx)
      if (!miss) return
      const entry = entryFromResult(result, miss.want.endpoint, config.maxBodyBytes)
      if (!entry) return failFlight(miss, result)
      // Waiters first: storing may take a network round trip.
      miss.flight?.complete(entry)
      const write = store(miss, entry).catch((error: Error) => ctx.log.warn(`cache write failed: ${error.message}`))
      // Kept until done, so a shutdown or reload waits for answers still being written.
      writes.add(write)
      await write
      writes.delete(write)
    },
  }
})
