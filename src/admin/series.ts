import { LATENCY_BINS, latencyBin, quantile } from './latency.ts'

/** What one finished exchange adds to the charts. */
export interface Sample {
  totalMs: number
  tokens: number
  /** `true` hit, `false` miss, `undefined` when the cache was not asked. */
  cacheHit: boolean | undefined
  rateLimited: boolean
  upstreamError: boolean
  /** US dollars the exchange cost (0 when unpriced or nothing was spent). */
  costUsd: number
}

/** One chart point: what happened during `step` seconds starting at `t` (epoch ms). */
export interface SeriesPoint {
  t: number
  requests: number
  /** Median and 99th percentile latency in ms (`null` without requests). */
  p50: number | null
  p99: number | null
  tokens: number
  cacheHits: number
  cacheLookups: number
  rateLimited: number
  errors: number
  /** US dollars spent (priced exchanges only). */
  costUsd: number
}

class Bucket {
  start = -1
  requests = 0
  tokens = 0
  cacheHits = 0
  cacheLookups = 0
  rateLimited = 0
  errors = 0
  costUsd = 0
  /** Allocated on the first request, so idle buckets cost a few numbers. */
  latency: Uint32Array | undefined

  reset(start: number): void {
    this.start = start
    this.requests = this.tokens = this.cacheHits = this.cacheLookups = this.rateLimited = this.errors = this.costUsd = 0
    this.latency?.fill(0)
  }

  add(sample: Sample): void {
    this.requests++
    this.tokens += sample.tokens
    if (sample.cacheHit !== undefined) {
      this.cacheLookups++
      if (sample.cacheHit) this.cacheHits++
    }
    if (sample.rateLimited) this.rateLimited++
    if (sample.upstreamError) this.errors++
    this.costUsd += sample.costUsd
    ;(this.latency ??= new Uint32Array(LATENCY_BINS))[latencyBin(sample.totalMs)]++
  }
}

/**
 * A ring of fixed-width time buckets (e.g. 600 one-second buckets = the last 10 minutes). A bucket
 * is reused when its slot comes round again, so memory is fixed however long the gateway runs.
 */
export class TimeSeries {
  readonly #buckets: Bucket[]
  constructor(
    /** Bucket width in ms. */
    readonly stepMs: number,
    /** Buckets kept. */
    readonly size: number,
  ) {
    this.#buckets = Array.from({ length: size }, () => new Bucket())
  }

  #slot(start: number): Bucket {
    const bucket = this.#buckets[Math.floor(start / this.stepMs) % this.size]
    if (bucket.start !== start) bucket.reset(start)
    return bucket
  }

  add(sample: Sample, now: number): void {
    this.#slot(now - (now % this.stepMs)).add(sample)
  }

  /**
   * The last `count` points, oldest first, ending with the bucket that holds `now` (still filling),
   * merged `group` buckets per point.
   */
  points(now: number, count = this.size, group = 1): SeriesPoint[] {
    const current = now - (now % this.stepMs)
    const width = this.stepMs * group
    const end = current - (current % width)
    const first = end - (Math.min(count, Math.floor(this.size / group)) - 1) * width
    const out: SeriesPoint[] = []
    for (let t = first; t <= end; t += width) out.push(this.merge(t, t + width))
    return out
  }

  /** Everything recorded from `from` (inclusive) to `to` (exclusive), epoch ms on bucket bounds, as one point. */
  merge(from: number, to: number): SeriesPoint {
    const point: SeriesPoint = { t: from, requests: 0, p50: null, p99: null, tokens: 0, cacheHits: 0, cacheLookups: 0, rateLimited: 0, errors: 0, costUsd: 0 }
    const merged = new Uint32Array(LATENCY_BINS)
    for (let s = Math.max(from, to - this.size * this.stepMs); s < to; s += this.stepMs) {
      const bucket = this.#buckets[Math.floor(s / this.stepMs) % this.size]
      if (bucket.start !== s || bucket.requests === 0) continue
      point.requests += bucket.requests
      point.tokens += bucket.tokens
      point.cacheHits += bucket.cacheHits
      point.cacheLookups += bucket.cacheLookups
      point.rateLimited += bucket.rateLimited
      point.errors += bucket.errors
      point.costUsd += bucket.costUsd
      for (let i = 0; i < LATENCY_BINS; i++) merged[i] += bucket.latency![i]
    }
    point.p50 = round(quantile(merged, point.requests, 0.5))
    point.p99 = round(quantile(merged, point.requests, 0.99))
    return point
  }

  /** The last `ms` milliseconds up to now (the current, still filling bucket included), as one point. */
  recent(now: number, ms: number): SeriesPoint {
    const end = now - (now % this.stepMs) + this.stepMs
    return this.merge(end - ms, end)
  }
}

function round(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 10) / 10
}

/** Chart ranges the dashboard offers: how far back, and from which series at what resolution. */
export const RANGES = {
  '5m': { series: 'seconds', count: 300, group: 1 },
  '1h': { series: 'minutes', count: 60, group: 1 },
  '24h': { series: 'minutes', count: 288, group: 5 },
} as const

export type RangeName = keyof typeof RANGES
