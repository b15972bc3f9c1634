import { ExchangeLog, describeExchange, summaryOf, type ExchangeDetail, type ExchangeSummary } from './exchange.ts'
import { NO_CALLER, NO_MODEL, PeriodUsageTable, localDay, localMonth, type PeriodUsage } from './key-usage.ts'
import { GatewayMetrics } from './metrics.ts'
import { RANGES, TimeSeries, type RangeName, type SeriesPoint } from './series.ts'
import type { ForwardContext, ForwardResult } from '../index.ts'

/** Seconds each tick sends: enough to cover a tick that is a couple of seconds late. */
const TICK_POINTS = 3

export interface MonitorHubOptions {
  /** Exchanges kept for the live log and the conversation view. Default 500. */
  capacity?: number
  /** Also export Node's process metrics (CPU, memory, event loop lag) on /metrics. Default true. */
  processMetrics?: boolean
}

/** What the dashboard's live stream carries. */
export type HubEvent =
  | { type: 'exchange'; exchange: ExchangeSummary }
  /** Once a second: the second that just ended, and the gauges now. */
  | { type: 'tick'; points: SeriesPoint[]; lastMinute: SeriesPoint; inFlight: number; openStreams: number; usageToday: PeriodUsage; usageMonth: PeriodUsage }

/** The charts, gauges and per-key usage for one range. */
export interface Stats {
  range: RangeName
  /** Point width in seconds. */
  step: number
  points: SeriesPoint[]
  /** The last 60 seconds as one point (the dashboard's cards). */
  lastMinute: SeriesPoint
  inFlight: number
  openStreams: number
  /** Requests, tokens and dollars per caller and per model, today and this month (local time, this process). */
  usageToday: PeriodUsage
  usageMonth: PeriodUsage
}

/**
 * Where the monitor plugin records and the admin server reads: the recent exchanges, per-second and
 * per-minute chart buckets, per-key usage today, and the Prometheus metrics. One per process; it
 * outlives config reloads, so the dashboard keeps its history when the config changes.
 */
export class MonitorHub {
  readonly metrics: GatewayMetrics
  readonly exchanges: ExchangeLog
  readonly #seconds = new TimeSeries(1000, 600)
  readonly #minutes = new TimeSeries(60_000, 1440)
  readonly #today = new PeriodUsageTable(localDay)
  readonly #month = new PeriodUsageTable(localMonth)
  readonly #listeners = new Set<(event: HubEvent) => void>()
  #inFlight = 0
  #openStreams = 0
  #ticker: NodeJS.Timeout | undefined

  constructor(options: MonitorHubOptions = {}) {
    this.exchanges = new ExchangeLog(options.capacity ?? 500)
    this.metrics = new GatewayMetrics({ defaultMetrics: options.processMetrics ?? true })
  }

  get inFlight(): number {
    return this.#inFlight
  }

  get openStreams(): number {
    return this.#openStreams
  }

  requestStarted(): void {
    this.#inFlight++
    this.metrics.inFlight.inc()
  }

  requestEnded(): void {
    this.#inFlight--
    this.metrics.inFlight.dec()
  }

  streamOpened(): void {
    this.#openStreams++
    this.metrics.openStreams.inc()
  }

  streamClosed(): void {
    this.#openStreams--
    this.metrics.openStreams.dec()
  }

  /** Records a finished exchange everywhere and tells the dashboards. */
  record(ctx: ForwardContext, result: ForwardResult): ExchangeDetail {
    const exchange = describeExchange(ctx, result)
    const prompt = exchange.promptTokens ?? 0
    const completion = exchange.completionTokens ?? 0
    const refusedBy = result.status === 429 && result.answeredBy && result.attempts === 0 ? result.answeredBy : undefined
    const upstreamError = upstreamErrorCode(exchange)
    const now = Date.now()
    const sample = { totalMs: exchange.totalMs, tokens: prompt + completion, cacheHit: exchange.cache === undefined ? undefined : exchange.cache === 'hit', rateLimited: refusedBy !== undefined, upstreamError: upstreamError !== undefined, costUsd: exchange.costUsd ?? 0 }
    this.#seconds.add(sample, now)
    this.#minutes.add(sample, now)
    const entry = { key: exchange.key ?? NO_CALLER, model: exchange.model ?? NO_MODEL, promptTokens: prompt, completionTokens: completion, costUsd: exchange.costUsd, estimated: exchange.estimated }
    this.#today.add(entry)
    this.#month.add(entry)
    this.metrics.record({
      route: exchange.route,
      status: exchange.status,
      model: exchange.model,
      key: exchange.key,
      totalMs: exchange.totalMs,
      firstTokenMs: exchange.stream ? exchange.firstByteMs : undefined,
      promptTokens: prompt,
      completionTokens: completion,
      cache: exchange.cache,
      refusedBy,
      target: exchange.target,
      retries: Math.max(0, exchange.attempts - 1),
      upstreamError,
      costUsd: exchange.costUsd,
      costEstimated: exchange.estimated,
    })
    this.exchanges.add(exchange)
    this.#emit({ type: 'exchange', exchange: summaryOf(exchange) })
    return exchange
  }

  stats(range: RangeName, now = Date.now()): Stats {
    const spec = RANGES[range]
    const series = spec.series === 'seconds' ? this.#seconds : this.#minutes
    return {
      range,
      step: (series.stepMs * spec.group) / 1000,
      points: series.points(now, spec.count, spec.group),
      lastMinute: this.#seconds.recent(now, 60_000),
      inFlight: this.#inFlight,
      openStreams: this.#openStreams,
      usageToday: this.#today.list(),
      usageMonth: this.#month.list(),
    }
  }

  /** Listens to exchanges and the once-a-second tick; returns the unsubscribe function. */
  subscribe(listener: (event: HubEvent) => void): () => void {
    this.#listeners.add(listener)
    this.#ticker ??= setInterval(() => this.#tick(), 1000).unref()
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) {
        clearInterval(this.#ticker)
        this.#ticker = undefined
      }
    }
  }

  #tick(): void {
    const now = Date.now()
    // The last few seconds, the current one included: a tick that comes late (a busy event loop)
    // or early never leaves a second out of the chart, and the still-filling second shows at once.
    const points = this.#seconds.points(now, TICK_POINTS)
    this.#emit({ type: 'tick', points, lastMinute: this.#seconds.recent(now, 60_000), inFlight: this.#inFlight, openStreams: this.#openStreams, usageToday: this.#today.list(), usageMonth: this.#month.list() })
  }

  #emit(event: HubEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // One broken dashboard connection must not stop the others.
      }
    }
  }
}

/**
 * The error code when the upstream failed: the gateway's code (`upstream_unreachable`, timeouts…)
 * or `http_5xx` for an upstream that answered with a server error. Errors of the request itself
 * (bad JSON, too large) and plugin refusals are not upstream errors.
 */
function upstreamErrorCode(exchange: ExchangeSummary): string | undefined {
  if (exchange.outcome === 'error' && exchange.error && (exchange.attempts > 0 || exchange.error.code.startsWith('upstream'))) return exchange.error.code
  if (!exchange.answeredBy && exchange.attempts > 0 && exchange.status >= 500) return `http_${exchange.status}`
  return undefined
}

/** Creates the hub a `monitor(hub)` plugin records into and `startAdmin` serves. */
export function createMonitorHub(options: MonitorHubOptions = {}): MonitorHub {
  return new MonitorHub(options)
}
