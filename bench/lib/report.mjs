// Aggregation (median over reps), ratios to the passthrough, pass/fail checks, text table.
import { TARGETS } from '../scenarios.mjs'

/** @param {(number|null|undefined)[]} xs */
function median(xs) {
  const v = /** @type {number[]} */ (xs.filter((x) => typeof x === 'number' && Number.isFinite(x))).sort((a, b) => a - b)
  if (!v.length) return null
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}
/** @param {number|null|undefined} a @param {number|null|undefined} b */
const ratio = (a, b) => (a != null && b != null && b !== 0 ? a / b : null)
/** @param {number|null|undefined} x @param {number} [d] */
const f = (x, d = 0) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d))
/** @param {number|null|undefined} x */
const fx = (x) => (x == null ? '' : `${x.toFixed(2)}×`)

/** Which TTFB entry a load target corresponds to (SSE targets only). @param {string} name */
function ttfbKey(name) {
  if (name === 'direct(sse)') return 'direct'
  return name
}

/**
 * Adds `median`, `ratio` and `rssGrowthMB` to every target of results.scenarios, builds the checks,
 * prints the table. Returns the checks and whether any failed.
 * @param {any} results @param {Record<string, { status: string, reason?: string }>} status
 */
export function printReport(results, status) {
  const S = results.scenarios
  const ttfb = results.ttfb ?? {}
  const directTtfb = ttfb.direct?.p50 ?? null
  // What a gateway adds is measured against the passthrough: the hop itself costs any Node proxy that much.
  const passthroughTtfb = ttfb.passthrough?.p50 ?? null

  // medians
  for (const sc of Object.values(S)) {
    for (const [name, t] of Object.entries(/** @type {Record<string, any>} */ (sc.targets ?? {}))) {
      const runs = t.runs
      t.median = {
        reqPerSec: median(runs.map((r) => r.reqPerSec)),
        latencyP50Ms: median(runs.map((r) => r.latencyP50Ms)),
        latencyP99Ms: median(runs.map((r) => r.latencyP99Ms)),
        cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)),
        upstreamCpuUsPerReq: median(runs.map((r) => r.upstreamCpuUsPerReq)),
        rssMB: runs.length ? runs[runs.length - 1].rssMB : null, // RSS after the last run
        errors: runs.reduce((a, r) => a + r.errors + r.timeouts, 0),
        non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
        completed: runs.reduce((a, r) => a + r.completed, 0),
      }
      t.rssGrowthMB = runs.length >= 2 ? runs[runs.length - 1].rssMB - runs[0].rssMB : null
      t.rssMaxMB = runs.length ? Math.max(...runs.map((r) => r.rssMB)) : null
      if (t.stream && ttfb[ttfbKey(name)]) {
        const tt = ttfb[ttfbKey(name)]
        t.ttfb = {
          p50Ms: tt.p50, p99Ms: tt.p99,
          addedVsDirectP50Ms: directTtfb != null && name !== 'direct(sse)' ? tt.p50 - directTtfb : null,
          addedVsPassthroughP50Ms: passthroughTtfb != null && t.proc?.startsWith('gateway') ? tt.p50 - passthroughTtfb : null,
        }
      }
    }
  }
  // ratios to the passthrough of the same scenario (direct: the passthrough of json-bare / sse-bare)
  for (const [id, sc] of Object.entries(S)) {
    const targets = /** @type {Record<string, any>} */ (sc.targets ?? {})
    for (const [name, t] of Object.entries(targets)) {
      let base = targets.passthrough
      if (id === 'direct') base = (name === 'direct(sse)' ? S['sse-bare'] : S['json-bare'])?.targets?.passthrough
      if (!base || name === 'passthrough') continue
      t.ratioBaseline = id === 'direct' ? (name === 'direct(sse)' ? 'sse-bare/passthrough' : 'json-bare/passthrough') : `${id}/passthrough`
      t.ratio = {
        reqPerSec: ratio(t.median.reqPerSec, base.median.reqPerSec),
        latencyP50Ms: ratio(t.median.latencyP50Ms, base.median.latencyP50Ms),
        latencyP99Ms: ratio(t.median.latencyP99Ms, base.median.latencyP99Ms),
        cpuUsPerReq: ratio(t.median.cpuUsPerReq, base.median.cpuUsPerReq),
        rssMB: ratio(t.median.rssMB, base.median.rssMB),
        ttfbP50Ms: ratio(t.ttfb?.p50Ms, base.ttfb?.p50Ms),
      }
    }
  }

  // ---------------------------------------------------------------- table
  const head = ['scenario', 'target', 'req/s', '×pt', 'p50 ms', 'p99 ms', 'err', 'non2xx', 'cpu µs/req', '×pt', 'upstr µs/req', 'rss MB', '×pt', 'ttfb p50 ms', '+ttfb vs pt']
  /** @type {string[][]} */
  const rows = []
  for (const [id, sc] of Object.entries(S)) {
    const st = status[id] ?? sc
    if (st.status !== 'ok') { rows.push([id, st.status === 'skipped' ? `skipped (${st.reason})` : `FAILED: ${st.reason}`]); continue }
    for (const [name, t] of Object.entries(/** @type {Record<string, any>} */ (sc.targets))) {
      const m = t.median, r = t.ratio ?? {}
      rows.push([
        id, name, f(m.reqPerSec), fx(r.reqPerSec), f(m.latencyP50Ms, 1), f(m.latencyP99Ms, 1), String(m.errors), String(m.non2xx),
        f(m.cpuUsPerReq, 1), fx(r.cpuUsPerReq), f(m.upstreamCpuUsPerReq, 1), f(m.rssMB, 1), fx(r.rssMB),
        t.ttfb ? f(t.ttfb.p50Ms, 3) : '', t.ttfb?.addedVsPassthroughP50Ms != null ? f(t.ttfb.addedVsPassthroughP50Ms, 3) : '',
      ])
    }
  }
  console.log('\n' + table(head, rows))
  if (results.ttfb) {
    console.log('\ntime to first SSE byte (sequential, keep-alive):')
    const tRows = Object.entries(results.ttfb).map(([n, v]) => /** @type {any} */ ([n, f(v.p50, 3), f(v.p90, 3), f(v.p99, 3), String(v.n), String(v.errors),
      n === 'direct' || directTtfb == null ? '' : f(v.p50 - directTtfb, 3), n === 'direct' || n === 'passthrough' || passthroughTtfb == null ? '' : f(v.p50 - passthroughTtfb, 3)]))
    console.log(table(['target', 'p50 ms', 'p90 ms', 'p99 ms', 'n', 'err', '+p50 vs direct', '+p50 vs passthrough'], tRows, 1))
  }

  // ---------------------------------------------------------------- checks
  /** @type {{ scenario: string, check: string, value: string, pass: boolean | null, note?: string }[]} */
  const checks = []
  /** @param {string} scenario @param {string} check @param {number|null|undefined} v @param {(v:number)=>boolean} ok @param {string} unit @param {string} [note] */
  const add = (scenario, check, v, ok, unit, note) => {
    const st = status[scenario]
    if (!st) return
    if (st.status !== 'ok') { checks.push({ scenario, check, value: st.status, pass: null }); return }
    checks.push({ scenario, check, value: v == null ? 'n/a' : unit === '×' ? `${v.toFixed(2)}×` : `${v.toFixed(unit === 'MB' ? 1 : 3)} ${unit}`, pass: v == null ? null : ok(v), note })
  }
  const subj = (/** @type {string} */ id) => Object.values(/** @type {Record<string, any>} */ (S[id]?.targets ?? {})).find((t) => t.role === 'subject')
  for (const id of ['json-bare', 'sse-bare']) {
    add(id, `CPU/req ≤ ${TARGETS.bareCpuRatioMax}× passthrough`, subj(id)?.ratio?.cpuUsPerReq, (v) => v <= TARGETS.bareCpuRatioMax, '×')
    add(id, `req/s ≥ ${TARGETS.bareRpsRatioMin}× passthrough`, subj(id)?.ratio?.reqPerSec, (v) => v >= TARGETS.bareRpsRatioMin, '×')
  }
  add('sse-bare', `added first-byte p50 ≤ ${TARGETS.bareAddedTtfbMsMax} ms (gateway − passthrough)`, subj('sse-bare')?.ttfb?.addedVsPassthroughP50Ms, (v) => v <= TARGETS.bareAddedTtfbMsMax, 'ms',
    S['sse-bare']?.targets?.passthrough?.ttfb?.addedVsDirectP50Ms != null ? `the passthrough's own hop adds ${S['sse-bare'].targets.passthrough.ttfb.addedVsDirectP50Ms.toFixed(3)} ms over direct` : undefined)
  for (const id of ['json-full', 'sse-full']) add(id, `CPU/req ≤ ${TARGETS.fullCpuRatioMax}× passthrough`, subj(id)?.ratio?.cpuUsPerReq, (v) => v <= TARGETS.fullCpuRatioMax, '×')
  {
    const g = subj('cache-hit'), pt = S['cache-hit']?.targets?.passthrough
    const up = g?.median?.upstreamCpuUsPerReq, upPt = pt?.median?.upstreamCpuUsPerReq
    const note = up != null && upPt ? (up < 0.2 * upPt ? `hits confirmed: upstream CPU/req ${up.toFixed(1)} µs vs ${upPt.toFixed(1)} µs via passthrough` : `WARNING: upstream still busy (${up.toFixed(1)} µs/req vs ${upPt.toFixed(1)} via passthrough) — requests may not be cache hits`) : undefined
    add('cache-hit', `req/s ≥ ${TARGETS.cacheHitRpsRatioMin}× passthrough`, g?.ratio?.reqPerSec, (v) => v >= TARGETS.cacheHitRpsRatioMin, '×', note)
  }
  for (const [id, sc] of Object.entries(S)) {
    if (status[id]?.status !== 'ok') continue
    for (const [name, t] of Object.entries(/** @type {Record<string, any>} */ (sc.targets))) {
      if (!t.proc.startsWith('gateway')) continue
      // After the last rep: with the defaults, after 30 s of load (3 × 10 s), as the target is stated.
      add(id, `${name} RSS after the last rep < ${TARGETS.rssMbMax} MB`, t.median.rssMB, (v) => v < TARGETS.rssMbMax, 'MB', t.rssMaxMB != null && t.rssMaxMB > t.median.rssMB + 5 ? `peak after a rep ${t.rssMaxMB.toFixed(1)} MB` : undefined)
      add(id, `${name} RSS growth first→last rep ≤ ${TARGETS.rssGrowthMbMax} MB`, t.rssGrowthMB, (v) => v <= TARGETS.rssGrowthMbMax, 'MB', t.rssGrowthMB == null ? 'needs ≥ 2 reps' : undefined)
    }
  }
  console.log('\ntargets:')
  for (const c of checks) {
    const mark = c.pass === true ? '✓ pass' : c.pass === false ? '✗ FAIL' : '– n/a '
    console.log(`  ${mark}  ${c.scenario.padEnd(9)}  ${c.check.padEnd(52)} ${c.value}${c.note ? `   (${c.note})` : ''}`)
  }
  return { checks, failed: checks.some((c) => c.pass === false) }
}

/** @param {string[]} head @param {string[][]} rows @param {number} [leftCols] */
function table(head, rows, leftCols = 2) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length === head.length).map((r) => (r[i] ?? '').length)))
  const line = (/** @type {string[]} */ r) => r.length === head.length
    ? r.map((c, i) => (i >= leftCols ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ')
    : `${r[0].padEnd(w[0])}  ${r.slice(1).join(' ')}`
  return [line(head), w.map((n) => '─'.repeat(n)).join('  '), ...rows.map(line)].join('\n')
}
