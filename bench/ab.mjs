#!/usr/bin/env node
// `npm run bench:ab -- <other checkout>`: is this checkout cheaper than another one, on this noisy VM?
//
//   node bench/ab.mjs ../openai-forward-main [--config full|bare|cache-hit] [--stream] [-r 6] [-d 4] [-c 50] [--pin] [--fresh] [-w 2]
//
// Serves the same bench config from both checkouts at once (each its own `dist/`: build both first),
// against one mock, and loads them in turns (A B, B A, …) for `-r` rounds. Machine drift between
// minutes moves both alike, so the per-round ratio B/A is the figure to read; it prints each round's
// ratio and the medians. A is the other checkout, B this one. `--pin` puts both gateways on CPU 0:
// run the script itself with `taskset -c 1`, so the mock and the load generator keep off that core.
// `--fresh` starts both gateways anew each round: one process can run a few % faster or slower than
// another of the same code (memory layout), which only new processes average out. `-w S`: seconds
// of unmeasured load per gateway after each start (default 2). A new process spends its first
// thousands of requests compiling (V8's compiler threads were 29-39% of all instructions over the
// first 4000 requests of the full route): a longer warm-up measures the steady state a gateway runs in.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort, spawnNode, startMock, waitReady, stop, stopAll, cpuTicks, CLK_TCK } from './lib/procs.mjs'
import { runLoad } from './lib/load.mjs'
import { GATEWAYS, CHAT_PATH, chatBody, chatHeaders } from './scenarios.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'full' },
    stream: { type: 'boolean', default: false },
    rounds: { type: 'string', short: 'r', default: '6' },
    duration: { type: 'string', short: 'd', default: '4' },
    connections: { type: 'string', short: 'c', default: '50' },
    pin: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    warmup: { type: 'string', short: 'w', default: '2' },
  },
})
const other = positionals[0] && path.resolve(positionals[0])
if (!other) throw new Error('usage: node bench/ab.mjs <other checkout> [--config full] [--stream] [-r 6] [-d 4]')
const gateway = GATEWAYS[opts.config]
if (!gateway) throw new Error(`--config must be one of ${Object.keys(GATEWAYS).join(', ')}`)
for (const repo of [other, ROOT]) {
  if (!fs.existsSync(path.join(repo, 'dist/src'))) throw new Error(`${repo}: no dist/ (run npm run build there)`)
}

const logDir = path.join(ROOT, 'bench/results/logs')
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const chatLogDirs = []
try {
  const mock = await startMock({ root: ROOT, logDir, name: 'ab-mock' })
  /** @type {{ name: string, repo: string, proc: import('./lib/procs.mjs').Proc | undefined, runs: number[] }[]} */
  const targets = [{ name: 'A', repo: other, proc: undefined, runs: [] }, { name: 'B', repo: ROOT, proc: undefined, runs: [] }]
  const key = opts.config === 'full' ? 'fk-bench' : 'sk-bench'
  const load = (/** @type {import('./lib/procs.mjs').Proc} */ proc, /** @type {number} */ duration) => runLoad({
    url: proc.url + CHAT_PATH, method: 'POST', headers: chatHeaders(key, opts.stream), body: chatBody({ stream: opts.stream, caching: opts.config === 'cache-hit' }),
    connections: Number(opts.connections), pipelining: 1, duration,
  })
  /** Starts (or restarts) both gateways and warms them up. */
  const startBoth = async () => {
    for (const t of targets) {
      if (t.proc) await stop(t.proc)
      const port = await freePort()
      const chatLogDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aifd-ab-chatlog-'))
      chatLogDirs.push(chatLogDir)
      t.proc = spawnNode({
        name: `ab-${t.name}`, args: [path.join(t.repo, 'bin/aifd.mjs'), 'run', '--config', path.join(t.repo, gateway.config), '--port', String(port), '--host', '127.0.0.1'],
        port, cwd: t.repo, logDir, cpus: opts.pin ? '0' : undefined, env: { BENCH_UPSTREAM: mock.url, BENCH_CHATLOG_DIR: chatLogDir },
      })
      await waitReady(t.proc, { healthPath: '/healthz' })
    }
    for (const t of targets) await load(/** @type {import('./lib/procs.mjs').Proc} */ (t.proc), Number(opts.warmup))
  }
  console.log(`A = ${other}\nB = ${ROOT}\n${opts.config}${opts.stream ? ' (SSE)' : ''}, ${opts.rounds} rounds × ${opts.duration} s${opts.fresh ? ', fresh processes each round' : ''}, ${opts.warmup} s warm-up, CPU µs per request:`)
  for (let round = 0; round < Number(opts.rounds); round++) {
    if (round === 0 || opts.fresh) await startBoth()
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const proc = /** @type {import('./lib/procs.mjs').Proc} */ (t.proc)
      const before = cpuTicks(proc).ticks
      const result = await load(proc, Number(opts.duration))
      t.runs.push(((cpuTicks(proc).ticks - before) * 1e6) / CLK_TCK / result.requests.total)
    }
    const [a, b] = targets.map((t) => t.runs[round])
    console.log(`  round ${round + 1}: A ${a.toFixed(1)}  B ${b.toFixed(1)}  B/A ${(b / a).toFixed(2)}`)
  }
  const [a, b] = targets.map((t) => median(t.runs))
  const ratios = targets[0].runs.map((x, i) => targets[1].runs[i] / x)
  console.log(`median: A ${a.toFixed(1)}  B ${b.toFixed(1)}  median of per-round B/A ${median(ratios).toFixed(3)}`)
  for (const t of targets) if (t.proc) await stop(t.proc)
  await stop(mock)
} finally {
  await stopAll()
  for (const dir of chatLogDirs) fs.rmSync(dir, { recursive: true, force: true })
}
