#!/usr/bin/env node
// CPU profile of one gateway config under load: where the per-request CPU goes.
//
//   node bench/profile.mjs [--config full|bare|cache-hit | --plugin NAME] [--stream] [-d 8] [-c 50] [--top 40]
//
// `--plugin NAME` profiles a route with only that built-in plugin (bench/configs/single.config.ts).
// Starts the mock and one gateway with `node --cpu-prof`, drives it with autocannon, stops it
// (the profile is written on exit) and prints the functions with the most self time, then the
// same grouped by file. The .cpuprofile lands in bench/results/profiles/ for Chrome DevTools.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort, spawnNode, startMock, waitReady, stop, cpuTicks, CLK_TCK } from './lib/procs.mjs'
import { runLoad } from './lib/load.mjs'
import { GATEWAYS, CHAT_PATH, chatBody, chatHeaders } from './scenarios.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts } = parseArgs({
  options: {
    config: { type: 'string', default: 'full' },
    plugin: { type: 'string' },
    stream: { type: 'boolean', default: false },
    caching: { type: 'boolean', default: false },
    duration: { type: 'string', short: 'd', default: '8' },
    connections: { type: 'string', short: 'c', default: '50' },
    top: { type: 'string', default: '40' },
  },
})
const gateway = opts.plugin ? { config: 'bench/configs/single.config.ts' } : GATEWAYS[opts.config]
if (!gateway) throw new Error(`--config must be one of ${Object.keys(GATEWAYS).join(', ')}`)

const logDir = path.join(ROOT, 'bench/results/logs')
const label = `${opts.plugin ?? opts.config}${opts.stream ? '-sse' : ''}`
const profDir = path.join(ROOT, 'bench/results/profiles', label)
fs.rmSync(profDir, { recursive: true, force: true })
fs.mkdirSync(profDir, { recursive: true })
const chatLogDir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'aifd-profile-chatlog-'))

const mock = await startMock({ root: ROOT, logDir })
const port = await freePort()
const gw = spawnNode({
  name: `profile-${opts.plugin ?? opts.config}`,
  args: ['--cpu-prof', '--cpu-prof-dir', profDir, path.join(ROOT, 'bin/aifd.mjs'), 'run', '--config', gateway.config, '--port', String(port), '--host', '127.0.0.1'],
  port, cwd: ROOT, logDir,
  env: { BENCH_UPSTREAM: mock.url, BENCH_CHATLOG_DIR: chatLogDir, ...(opts.plugin ? { BENCH_PLUGIN: opts.plugin } : {}) },
})
await waitReady(gw, { healthPath: '/healthz' })

const key = opts.plugin ? (opts.plugin === 'keys' ? 'fk-bench' : 'sk-bench') : opts.config === 'full' ? 'fk-bench' : 'sk-bench'
const load = {
  url: gw.url + CHAT_PATH, method: /** @type {const} */ ('POST'), headers: chatHeaders(key, opts.stream),
  body: chatBody({ stream: opts.stream, caching: opts.caching }), connections: Number(opts.connections), pipelining: 1,
}
await runLoad({ ...load, duration: 1 })
const before = cpuTicks(gw).ticks
const result = await runLoad({ ...load, duration: Number(opts.duration) })
const cpuUs = ((cpuTicks(gw).ticks - before) * 1e6) / CLK_TCK / result.requests.total
console.log(`${opts.plugin ?? opts.config}${opts.stream ? ' (SSE)' : ''}: ${Math.round(result.requests.average)} req/s, ${cpuUs.toFixed(1)} µs CPU/req, non2xx ${result.non2xx}, errors ${result.errors}`)
await stop(gw, 10_000)
await stop(mock)
fs.rmSync(chatLogDir, { recursive: true, force: true })

const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
if (!file) throw new Error('no .cpuprofile written (did the gateway exit cleanly?)')
fs.writeFileSync(path.join(profDir, 'run.json'), JSON.stringify({ requests: result.requests.total, cpuUsPerRequest: cpuUs }))
/** @type {{ nodes: { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }[], samples: number[], timeDeltas: number[] }} */
const profile = JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
/** @type {Map<number, number>} */
const selfUs = new Map()
for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
const busy = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName !== '(idle)').reduce((n, [, us]) => n + us, 0)

const short = (/** @type {string} */ url) => url.replace(`file://${ROOT}/`, '').replace(/^.*node_modules\//, 'nm:')
/** @param {(n: any) => string} keyOf */
function table(keyOf, title) {
  /** @type {Map<string, number>} */
  const sums = new Map()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (!node || node.callFrame.functionName === '(idle)') continue
    const k = keyOf(node)
    sums.set(k, (sums.get(k) ?? 0) + us)
  }
  console.log(`\n${title} (share of busy CPU):`)
  for (const [k, us] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`)
}
table((n) => `${n.callFrame.functionName || '(anonymous)'}  ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`, 'self time by function')
table((n) => short(n.callFrame.url) || n.callFrame.functionName, 'self time by file')
console.log(`\nprofile: ${path.relative(ROOT, path.join(profDir, file))}`)
