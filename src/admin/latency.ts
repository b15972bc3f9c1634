/**
 * A latency histogram with fixed log-scale bins (1 ms … ~15 min, 12% apart): bounded memory per
 * bucket, and histograms of many buckets merge by adding bins, so any window's p50/p99 can be read
 * without keeping samples. A quantile is accurate to about half a bin (±6%).
 */
const FIRST_BOUND_MS = 1
const FACTOR = 1.12
export const LATENCY_BINS = 122
const LOG_FACTOR = Math.log(FACTOR)

/** The bin a duration falls in. */
export function latencyBin(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0
  return Math.min(LATENCY_BINS - 1, Math.ceil(Math.log(ms / FIRST_BOUND_MS) / LOG_FACTOR))
}

/** A representative value of a bin: the geometric middle of its bounds. */
function binValue(bin: number): number {
  if (bin === 0) return FIRST_BOUND_MS
  return FIRST_BOUND_MS * FACTOR ** (bin - 0.5)
}

/** The `q` quantile (0…1) of a histogram, in ms; `undefined` when it is empty. */
export function quantile(bins: ArrayLike<number>, count: number, q: number): number | undefined {
  if (count === 0) return undefined
  const rank = Math.max(1, Math.ceil(q * count))
  let seen = 0
  for (let i = 0; i < bins.length; i++) {
    seen += bins[i]
    if (seen >= rank) return binValue(i)
  }
  return binValue(bins.length - 1)
}
