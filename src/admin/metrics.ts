import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Caps the distinct values of a label that clients choose (a model name is any string a client
 * sends): past the cap new values are counted as `other`, so a client cannot grow /metrics without
 * bound.
 */
class LabelGuard {
  readonly #seen = new Set<string>()
  constructor(readonly max: number) {}

  value(raw: string | undefined, empty = ''): string {
    const value = raw === undefined || raw === '' ? empty : raw.slice(0, 100)
    if (this.#seen.has(value)) return value
    if (this.#seen.size >= this.max) return 'other'
    this.#seen.add(value)
    return value
  }
}

/** What one finished exchange adds to the Prometheus metrics. */
export interface MetricSample {
  route: string
  status: number
  model: string | undefined
  key: string | undefined
  totalMs: number
  /** Streams only: time to the first token. */
  firstTokenMs: number | undefined
  promptTokens: number
  completionTokens: number
  cache: 'hit' | 'miss' | undefined
  /** The plugin that refused with 429, if one did. */
  refusedBy: string | undefined
  /** The upstream origin (no credentials), when one was called. */
  target: string | undefined
  retries: number
  /** A stable error code when the upstream failed. */
  upstreamError: string | undefined
  /** US dollars the exchange cost; `null` when its model has no price; `undefined` when nothing was spent. */
  costUsd: number | null | undefined
  /** The cost comes from usage the gateway counted. */
  costEstimated: boolean
}

/** Latency buckets in seconds: LLM calls take from milliseconds (cache) to minutes (long streams). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300]

/** The gateway's Prometheus metrics, on a registry of their own (several gateways in one process stay apart). */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #models = new LabelGuard(200)
  readonly #keys = new LabelGuard(1000)
  readonly #requests: Counter<'route' | 'status' | 'model'>
  readonly #duration: Histogram<'route' | 'model'>
  readonly #firstToken: Histogram<'route' | 'model'>
  readonly #tokens: Counter<'route' | 'model' | 'key' | 'type'>
  readonly #cache: Counter<'route' | 'result'>
  readonly #refused: Counter<'route' | 'plugin'>
  readonly #upstreamErrors: Counter<'route' | 'target' | 'code'>
  readonly #retries: Counter<'route' | 'target'>
  readonly #cost: Counter<'route' | 'caller' | 'model' | 'estimated'>
  readonly #unpriced: Counter<'route' | 'model'>
  readonly inFlight: Gauge
  readonly openStreams: Gauge

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    this.#requests = new Counter({ name: 'aifd_requests_total', help: 'Requests answered, by route, status and model', labelNames: ['route', 'status', 'model'], registers })
    this.#duration = new Histogram({ name: 'aifd_request_duration_seconds', help: 'Time from request to the end of the response', labelNames: ['route', 'model'], buckets: LATENCY_BUCKETS, registers })
    this.#firstToken = new Histogram({ name: 'aifd_time_to_first_token_seconds', help: 'Streamed responses: time from request to the first body byte', labelNames: ['route', 'model'], buckets: LATENCY_BUCKETS, registers })
    this.#tokens = new Counter({ name: 'aifd_tokens_total', help: 'Tokens by route, model, forward key name and type (prompt = in, completion = out)', labelNames: ['route', 'model', 'key', 'type'], registers })
    this.#cache = new Counter({ name: 'aifd_cache_requests_total', help: 'Cache lookups by result (hit, miss)', labelNames: ['route', 'result'], registers })
    this.#refused = new Counter({ name: 'aifd_rate_limited_total', help: 'Requests refused with 429 by a plugin (rateLimit, tokenLimit, …)', labelNames: ['route', 'plugin'], registers })
    this.#upstreamErrors = new Counter({ name: 'aifd_upstream_errors_total', help: 'Exchanges whose upstream failed (unreachable, timeout, 5xx), by target and code', labelNames: ['route', 'target', 'code'], registers })
    this.#retries = new Counter({ name: 'aifd_upstream_retries_total', help: 'Upstream attempts beyond the first, by the target of the last attempt', labelNames: ['route', 'target'], registers })
    this.#cost = new Counter({ name: 'aifd_cost_usd_total', help: 'US dollars spent, by route, caller (forward key name), model, and whether the usage was estimated by the gateway', labelNames: ['route', 'caller', 'model', 'estimated'], registers })
    this.#unpriced = new Counter({ name: 'aifd_unpriced_requests_total', help: 'Exchanges whose model has no price (their cost is not in aifd_cost_usd_total)', labelNames: ['route', 'model'], registers })
    this.inFlight = new Gauge({ name: 'aifd_requests_in_flight', help: 'Requests being served now', registers })
    this.openStreams = new Gauge({ name: 'aifd_open_streams', help: 'Streamed (SSE) upstream responses being sent now', registers })
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry })
  }

  record(sample: MetricSample): void {
    const { route } = sample
    const model = this.#models.value(sample.model, 'unknown')
    this.#requests.inc({ route, status: String(sample.status), model })
    this.#duration.observe({ route, model }, sample.totalMs / 1000)
    if (sample.firstTokenMs !== undefined) this.#firstToken.observe({ route, model }, sample.firstTokenMs / 1000)
    if (sample.promptTokens > 0 || sample.completionTokens > 0) {
      const key = this.#keys.value(sample.key, 'none')
      this.#tokens.inc({ route, model, key, type: 'prompt' }, sample.promptTokens)
      this.#tokens.inc({ route, model, key, type: 'completion' }, sample.completionTokens)
    }
    if (sample.cache) this.#cache.inc({ route, result: sample.cache })
    if (sample.refusedBy) this.#refused.inc({ route, plugin: sample.refusedBy })
    const target = sample.target ?? 'none'
    if (sample.upstreamError) this.#upstreamErrors.inc({ route, target, code: sample.upstreamError })
    if (sample.retries > 0) this.#retries.inc({ route, target }, sample.retries)
    if (sample.costUsd === null) this.#unpriced.inc({ route, model })
    else if (sample.costUsd !== undefined) {
      this.#cost.inc({ route, caller: this.#keys.value(sample.key, 'none'), model, estimated: String(sample.costEstimated) }, sample.costUsd)
    }
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
