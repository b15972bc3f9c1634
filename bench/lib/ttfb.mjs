// Time-to-first-body-byte client. One keep-alive connection per target, requests
// issued one at a time and interleaved round-robin across targets (so drift on
// the machine hits every target equally). Measures from the moment the request
// has been written (req.end callback) to the first 'data' event of the body.
import http from 'node:http'

/**
 * @param {string} url
 * @param {{ agent: http.Agent, headers: Record<string,string>, body: string }} o
 * @returns {Promise<{ ttfbMs: number, status: number }>}
 */
function once(url, o) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    /** @type {bigint} */
    let t0 = 0n
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', agent: o.agent,
      headers: { ...o.headers, 'content-length': Buffer.byteLength(o.body) },
    }, (res) => {
      let first = -1
      res.on('data', () => { if (first < 0) first = Number(process.hrtime.bigint() - t0) / 1e6 })
      res.on('end', () => resolve({ ttfbMs: first, status: res.statusCode ?? 0 }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error('ttfb request timed out')))
    req.on('error', reject)
    req.end(o.body, () => { t0 = process.hrtime.bigint() })
  })
}

/** @param {number[]} sorted @param {number} q */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]
}

/**
 * @param {{ name: string, url: string, headers: Record<string,string> }[]} targets
 * @param {{ body: string, requests: number, warmup: number }} o
 * @returns {Promise<Record<string, { p50: number, p90: number, p99: number, n: number, errors: number }>>}
 */
export async function measureTtfb(targets, o) {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }))
  /** @type {number[][]} */
  const samples = targets.map(() => [])
  const errors = targets.map(() => 0)
  try {
    for (let i = 0; i < o.warmup + o.requests; i++) {
      for (let t = 0; t < targets.length; t++) {
        try {
          const r = await once(targets[t].url, { agent: agents[t], headers: targets[t].headers, body: o.body })
          if (i < o.warmup) continue
          if (r.status < 200 || r.status >= 300 || r.ttfbMs < 0) errors[t]++
          else samples[t].push(r.ttfbMs)
        } catch {
          if (i >= o.warmup) errors[t]++
        }
      }
    }
  } finally {
    for (const a of agents) a.destroy()
  }
  /** @type {Record<string, { p50: number, p90: number, p99: number, n: number, errors: number }>} */
  const out = {}
  targets.forEach((t, i) => {
    const s = samples[i].sort((a, b) => a - b)
    out[t.name] = { p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), n: s.length, errors: errors[i] }
  })
  return out
}
