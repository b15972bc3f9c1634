#!/usr/bin/env node
// `npm run bench` — gateway vs bare Node passthrough vs direct, on loopback only.
// See bench/README.md for what each figure means.
import fs from 'node:fs'
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { spawnNode, freePort, waitReady, stopAll, cpuTicks, rssBytes, CLK_TCK } from './lib/procs.mjs'
import { measureTtfb } from './lib/ttfb.mjs'
import { runLoad } from './lib/load.mjs'
import { SCENARIOS, GATEWAYS, TARGETS, CHAT_PATH, chatBody, chatHeaders } from './scenarios.mjs'
import { printReport } from './lib/report.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const HOST = '127.0.0.1'

// ------------------------------------------------------------------ options
const { values: argv } = parseArgs({
  options: {
    connections: { type: 'string', short: 'c' },
    duration: { type: 'string', short: 'd' },
    reps: { type: 'string', short: 'r' },
    warmup: { type: 'string' },
    'ttfb-requests': { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    strict: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    'mock-script': { type: 'string' },
    'gateway-bin': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
})

if (argv.help) {
  console.log(`usage: npm run bench -- [options]

  --connections, -c N   concurrent connections per autocannon run (default 50)
  --duration, -d S      seconds per measured run (default 10; 3 with --quick)
  --reps, -r N          repetitions, targets interleaved A B A B … (default 3; 1 with --quick)
  --warmup S            warm-up seconds per target before each scenario (default 2; 0.5 with --quick)
  --ttfb-requests N     sequential requests per target for time-to-first-byte (default 200)
  --quick               1 rep, 3 s runs: whole bench in under a minute
  --only a,b            scenarios to run (${SCENARIOS.map((s) => s.id).join(', ')})
  --out FILE            JSON results file (default bench/results/latest.json)
  --strict              exit 1 if any target check fails
  --pin                 measured processes (passthrough, gateways) on CPU 0, the mock on CPU 1;
                        run the bench itself with \`taskset -c 1\` so the load generator stays off CPU 0
  --mock-script FILE    use another mock upstream script (default dist/playground/mock/server.js)
  --gateway-bin FILE    use another gateway CLI (default bin/aifd.mjs); must accept
                        run --config FILE --port N --host 127.0.0.1`)
  process.exit(0)
}

const num = (/** @type {string|undefined} */ v, /** @type {number} */ d) => {
  if (v === undefined) return d
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) { console.error(`invalid number: ${v}`); process.exit(2) }
  return n
}
const opts = {
  connections: Math.round(num(argv.connections, 50)),
  duration: num(argv.duration, argv.quick ? 3 : 10),
  reps: Math.round(num(argv.reps, argv.quick ? 1 : 3)),
  warmup: num(argv.warmup, argv.quick ? 0.5 : 2),
  ttfbRequests: Math.round(num(argv['ttfb-requests'], 200)),
  quick: !!argv.quick,
  pin: !!argv.pin,
}
const only = argv.only ? argv.only.split(',').map((s) => s.trim()).filter(Boolean) : null
if (only) {
  const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id))
  if (unknown.length) { console.error(`unknown scenario(s): ${unknown.join(', ')}`); process.exit(2) }
}
const outFile = path.resolve(argv.out ?? path.join(ROOT, 'bench/results/latest.json'))
const logDir = path.join(ROOT, 'bench/results/logs')

const log = (/** @type {string} */ m) => console.log(m)
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

// ------------------------------------------------------------------ preflight
const mockScript = path.resolve(ROOT, argv['mock-script'] ?? 'dist/playground/mock/server.js')
const gatewayBin = path.resolve(ROOT, argv['gateway-bin'] ?? 'bin/aifd.mjs')
if (!argv['mock-script'] && !fs.existsSync(path.join(ROOT, 'dist'))) {
  console.error('bench: dist/ not found. Build first:  npm run build   (then: npm run bench)')
  process.exit(1)
}
if (!fs.existsSync(mockScript)) {
  console.error(`bench: mock upstream not found at ${path.relative(ROOT, mockScript)}. Run  npm run build  first.`)
  process.exit(1)
}

/** Why the gateway cannot run at all (null if it can). */
function gatewayMissing() {
  const need = argv['gateway-bin'] ? [gatewayBin] : [gatewayBin, path.join(ROOT, 'dist/src/index.js')]
  const missing = need.filter((f) => !fs.existsSync(f)).map((f) => path.relative(ROOT, f))
  return missing.length ? `gateway not built: missing ${missing.join(', ')}; run npm run build` : null
}

/**
 * Which plugins exist. Probed in a throwaway child process (so plugin factories' side effects stay
 * out of this one): import('openai-forward/plugins'), keep exported functions, and call each with {}
 * — a placeholder that throws "… not built yet" counts as missing; any other throw (a real plugin
 * rejecting empty options) counts as present.
 * @returns {{ names: Set<string>, stubs: string[], error: string | null }}
 */
function pluginExports() {
  const probe = `
    const out = { names: [], stubs: [], error: null }
    try {
      const mod = await import('openai-forward/plugins')
      for (const [k, v] of Object.entries(mod)) {
        if (typeof v !== 'function') continue
        try { v({}) ; out.names.push(k) }
        catch (e) { if (/not (built|implemented)( yet)?|placeholder/i.test(String(e?.message ?? e))) out.stubs.push(k); else out.names.push(k) }
      }
    } catch (e) { out.error = String(e?.message ?? e).split('\\n')[0] }
    process.stdout.write(JSON.stringify(out)); process.exit(0)`
  try {
    const txt = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
    const r = JSON.parse(txt)
    return { names: new Set(r.names), stubs: r.stubs, error: r.error }
  } catch (err) {
    return { names: new Set(), stubs: [], error: /** @type {Error} */ (err).message.split('\n')[0] }
  }
}

const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.id))
const gwMissing = gatewayMissing()
const plugins = gwMissing ? { names: new Set(), stubs: [], error: null } : pluginExports()

/** @type {Record<string, { status: 'ok' | 'skipped' | 'failed', reason?: string }>} */
const scenarioStatus = {}
/** @type {Record<string, string>} gateway name -> reason it won't run */
const gatewaySkip = {}
for (const [name, gw] of Object.entries(GATEWAYS)) {
  if (gwMissing) { gatewaySkip[name] = gwMissing; continue }
  const miss = gw.plugins.filter((p) => !plugins.names.has(p))
  if (miss.length) gatewaySkip[name] = `missing: ${miss.join(', ')}` + (plugins.error ? ` — import openai-forward/plugins failed: ${plugins.error}` : '')
}
for (const s of scenarios) {
  if (s.gateway && gatewaySkip[s.gateway]) scenarioStatus[s.id] = { status: 'skipped', reason: gatewaySkip[s.gateway] }
  else scenarioStatus[s.id] = { status: 'ok' }
}

// ------------------------------------------------------------------ start processes
const runnable = scenarios.filter((s) => scenarioStatus[s.id].status === 'ok')
const neededGateways = [...new Set(runnable.map((s) => s.gateway).filter((g) => g !== null))]
const chatLogDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aifd-bench-chatlog-'))

log(`openai-forward bench — ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, node ${process.version}`)
log(`connections ${opts.connections}, ${opts.duration}s per run, ${opts.reps} rep(s), warm-up ${opts.warmup}s, TTFB ${opts.ttfbRequests} req/target${opts.quick ? ' (quick)' : ''}${opts.pin ? ', pinned: targets on CPU 0, mock on CPU 1' : ''}`)
for (const s of scenarios) if (scenarioStatus[s.id].status === 'skipped') log(`  ${s.id}: skipped (${scenarioStatus[s.id].reason})`)

/** @type {Record<string, import('./lib/procs.mjs').Proc>} */
const procs = {}
/** @type {Record<string, string>} gateway name -> start failure */
const gatewayFailed = {}

async function startAll() {
  const [mockPort, ptPort] = [await freePort(), await freePort()]
  procs.mock = spawnNode({ name: 'mock', args: [mockScript, '--port', String(mockPort), '--host', HOST, '--no-record'], port: mockPort, cwd: ROOT, logDir, cpus: opts.pin ? '1' : undefined })
  await waitReady(procs.mock, { timeoutMs: 15_000 })
  const upstream = procs.mock.url
  procs.passthrough = spawnNode({ name: 'passthrough', args: [path.join(ROOT, 'bench/passthrough.mjs'), '--upstream', upstream, '--port', String(ptPort), '--host', HOST], port: ptPort, cwd: ROOT, logDir, cpus: opts.pin ? '0' : undefined })
  const waits = [waitReady(procs.passthrough, { timeoutMs: 15_000 })]
  for (const g of neededGateways) {
    const port = await freePort()
    const p = spawnNode({
      name: `gateway-${g}`,
      args: [gatewayBin, 'run', '--config', GATEWAYS[g].config, '--port', String(port), '--host', HOST],
      port, cwd: ROOT, logDir, cpus: opts.pin ? '0' : undefined,
      env: { BENCH_UPSTREAM: upstream, BENCH_CHATLOG_DIR: chatLogDir },
    })
    procs[`gateway:${g}`] = p
    waits.push(waitReady(p, { timeoutMs: 30_000, healthPath: '/healthz' }).catch((err) => {
      gatewayFailed[g] = `failed to start: ${err.message}`
    }))
  }
  await Promise.all(waits)
}

// ------------------------------------------------------------------ one request (smoke / warm cache)
/** @param {string} url @param {Record<string,string>} headers @param {string} body */
function oneRequest(url, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      /** @type {Buffer[]} */
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

/** @param {import('./scenarios.mjs').TargetDef} t */
function targetRequest(t) {
  const p = procs[t.proc]
  return { url: p.url + CHAT_PATH, headers: chatHeaders(t.key, t.stream), body: chatBody({ stream: t.stream, caching: t.caching }) }
}

/** @param {import('./scenarios.mjs').TargetDef} t @returns {Promise<string | null>} problem or null */
async function smoke(t) {
  const r = targetRequest(t)
  try {
    const res = /** @type {{status:number, headers: http.IncomingHttpHeaders, body:string}} */ (await oneRequest(r.url, r.headers, r.body))
    if (res.status < 200 || res.status >= 300) return `${t.name}: HTTP ${res.status} ${res.body.slice(0, 200).replace(/\s+/g, ' ')}`
    if (t.stream && !res.body.includes('data:')) return `${t.name}: stream response has no "data:" lines (content-type ${res.headers['content-type']})`
    if (!t.stream) { try { JSON.parse(res.body) } catch { return `${t.name}: response is not JSON: ${res.body.slice(0, 120)}` } }
    return null
  } catch (err) {
    return `${t.name}: ${/** @type {Error} */ (err).message}`
  }
}

// ------------------------------------------------------------------ one autocannon run
/**
 * @param {import('./scenarios.mjs').TargetDef} t @param {number} seconds
 */
async function loadRun(t, seconds) {
  const r = targetRequest(t)
  const p = procs[t.proc]
  const cpu0 = cpuTicks(p)
  const up0 = t.proc === 'mock' ? null : cpuTicks(procs.mock)
  const res = await runLoad({
    url: r.url, method: 'POST', headers: r.headers, body: r.body,
    connections: opts.connections, pipelining: 1, duration: seconds, timeout: 10,
  })
  const wall = res.wallSeconds
  const cpu1 = cpuTicks(p)
  const up1 = t.proc === 'mock' ? null : cpuTicks(procs.mock)
  const rss = rssBytes(p)
  const completed = res.requests.total
  const usPerTick = 1e6 / CLK_TCK
  const ticks = cpu1.ticks - cpu0.ticks
  return {
    target: t.name,
    completed,
    reqPerSec: completed / wall,
    latencyP50Ms: res.latency.p50,
    latencyP99Ms: res.latency.p99,
    errors: res.errors,
    timeouts: res.timeouts,
    non2xx: res.non2xx,
    statusCodes: Object.fromEntries(Object.entries(res.statusCodeStats ?? {}).map(([k, v]) => [k, /** @type {any} */ (v).count])),
    cpuTicks: ticks,
    cpuUsPerReq: completed > 0 ? (ticks * usPerTick) / completed : null,
    upstreamCpuUsPerReq: up0 && up1 && completed > 0 ? ((up1.ticks - up0.ticks) * usPerTick) / completed : null,
    processes: cpu1.procs,
    rssMB: rss / 2 ** 20,
    wallSeconds: wall,
  }
}

// ------------------------------------------------------------------ main
/** @type {any} */
const results = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}`, clkTck: CLK_TCK, totalMemMB: Math.round(os.totalmem() / 2 ** 20) },
  options: { ...opts, only },
  targets: TARGETS,
  scenarios: {},
  ttfb: null,
  checks: [],
}

let exitCode = 0
try {
  await startAll()
  for (const [g, reason] of Object.entries(gatewayFailed)) {
    for (const s of scenarios) if (s.gateway === g) scenarioStatus[s.id] = { status: 'failed', reason }
    console.error(`gateway ${g} ${reason}`)
  }

  for (const s of scenarios) {
    const st = scenarioStatus[s.id]
    results.scenarios[s.id] = { title: s.title, ...st, targets: {} }
    if (st.status !== 'ok') continue

    // smoke each target once (and warm the cache for cache-hit)
    const problems = (await Promise.all(s.targets.map(smoke))).filter((x) => x !== null)
    if (problems.length) {
      const hint = s.gateway && s.gateway !== 'bare' ? ' — plugin options are a best guess: check bench/configs/plugin-options.ts' : ''
      scenarioStatus[s.id] = { status: 'failed', reason: `smoke request failed: ${problems.join('; ')}${hint}` }
      Object.assign(results.scenarios[s.id], scenarioStatus[s.id])
      console.error(`${s.id}: ${scenarioStatus[s.id].reason}`)
      continue
    }
    if (s.warmCache) {
      const subj = s.targets.find((t) => t.role === 'subject')
      if (subj) {
        const r = targetRequest(subj)
        const second = /** @type {any} */ (await oneRequest(r.url, r.headers, r.body))
        results.scenarios[s.id].warmResponseHeaders = second.headers
      }
    }

    log(`\n▶ ${s.id}: ${s.title}`)
    /** @type {Record<string, any[]>} */
    const runs = Object.fromEntries(s.targets.map((t) => [t.name, []]))
    if (opts.warmup > 0) for (const t of s.targets) await loadRun(t, opts.warmup)
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const t of s.targets) {
        await sleep(200)
        const r = await loadRun(t, opts.duration)
        runs[t.name].push({ rep, ...r })
        log(`  rep ${rep}  ${t.name.padEnd(15)} ${r.reqPerSec.toFixed(0).padStart(7)} req/s  p50 ${r.latencyP50Ms} ms  p99 ${r.latencyP99Ms} ms  cpu ${r.cpuUsPerReq?.toFixed(1) ?? '-'} µs/req  rss ${r.rssMB.toFixed(1)} MB${r.errors || r.non2xx ? `  errors ${r.errors} non2xx ${r.non2xx}` : ''}`)
      }
    }
    for (const t of s.targets) results.scenarios[s.id].targets[t.name] = { proc: t.proc, role: t.role, stream: t.stream, runs: runs[t.name] }
  }

  // time to first byte, SSE, sequential, interleaved across targets
  /** @type {{ name: string, url: string, headers: Record<string,string> }[]} */
  const ttfbTargets = []
  const addTtfb = (/** @type {string} */ name, /** @type {string} */ proc, /** @type {string} */ key) => {
    const p = procs[proc]
    if (p && !p.exited) ttfbTargets.push({ name, url: p.url + CHAT_PATH, headers: chatHeaders(key, true) })
  }
  const okIds = new Set(Object.entries(scenarioStatus).filter(([, v]) => v.status === 'ok').map(([k]) => k))
  if (okIds.has('sse-bare') || okIds.has('sse-full') || okIds.has('direct')) {
    addTtfb('direct', 'mock', 'sk-bench')
    addTtfb('passthrough', 'passthrough', 'sk-bench')
    if (okIds.has('sse-bare')) addTtfb('gateway(bare)', 'gateway:bare', 'sk-bench')
    if (okIds.has('sse-full')) addTtfb('gateway(full)', 'gateway:full', 'fk-bench')
    log(`\n▶ time to first SSE byte: ${opts.ttfbRequests} sequential requests per target (${ttfbTargets.map((t) => t.name).join(', ')})`)
    results.ttfb = await measureTtfb(ttfbTargets, { body: chatBody({ stream: true }), requests: opts.ttfbRequests, warmup: 20 })
  }

  const { checks, failed } = printReport(results, scenarioStatus)
  results.checks = checks
  if (failed && argv.strict) exitCode = 1
} catch (err) {
  console.error(`\nbench failed: ${/** @type {Error} */ (err).message}`)
  results.error = /** @type {Error} */ (err).message
  exitCode = 1
} finally {
  await stopAll()
  fs.rmSync(chatLogDir, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(outFile), { recursive: true })
  fs.writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n')
  log(`\nresults: ${path.relative(process.cwd(), outFile) || outFile}   child logs: ${path.relative(process.cwd(), logDir)}/`)
}
process.exit(exitCode)
