#!/usr/bin/env node
// `npm run bench:instructions`: instructions per request, counted by valgrind's callgrind, for
// checkouts and the bare Node passthrough, against one mock.
//
//   node bench/instructions.mjs [other checkouts…] [--config bare|full|cache-hit] [--stream] [-n 2000] [--passthrough] [--keep]
//
// CPU time on a shared 2-core VM moves with whatever else runs (other processes, the other core's
// cache); an instruction count does not. Each target runs under callgrind with instrumentation off,
// takes a warm-up of `n` requests (JIT tiers settle), then counts exactly `n` requests at 10
// connections and reports instructions per request. Slow (valgrind runs node ~30× slower), exact
// to about 1% between runs. Needs `valgrind` (Debian's package) and dist/ in every checkout.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort, startMock, stopAll, waitReady } from './lib/procs.mjs'
import { runLoad } from './lib/load.mjs'
import { GATEWAYS, CHAT_PATH, chatBody, chatHeaders } from './scenarios.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'bare' },
    stream: { type: 'boolean', default: false },
    requests: { type: 'string', short: 'n', default: '2000' },
    passthrough: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
})
const gateway = GATEWAYS[opts.config]
if (!gateway) throw new Error(`--config must be one of ${Object.keys(GATEWAYS).join(', ')}`)
const n = Number(opts.requests)
const logDir = path.join(ROOT, 'bench/results/logs')
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aifd-callgrind-'))

/** Starts `args` under callgrind with instrumentation off; resolves once it serves. */
async function underCallgrind(name, cwd, args, port) {
  const out = path.join(outDir, `${name}.%p.out`)
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', process.execPath, ...args], {
    cwd, env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' }, stdio: ['pipe', 'ignore', 'pipe'], detached: true,
  })
  let tail = ''
  child.stderr.on('data', (b) => (tail = (tail + b).slice(-4000)))
  const proc = { name, pid: child.pid, port, child, exited: null, tail: [] }
  child.on('exit', (code, signal) => (proc.exited = { code, signal }))
  try {
    await waitReady(proc, { timeoutMs: 180_000 })
  } catch (error) {
    throw new Error(`${name}: ${error.message}\n${tail}`)
  }
  return proc
}

function control(pid, ...flags) {
  execFileSync('callgrind_control', [...flags, String(pid)], { stdio: 'ignore' })
}

/** Sums the `summary:`/`totals:` of every dump the process wrote after collection was turned on. */
function countedInstructions(pid) {
  let total = 0
  for (const file of fs.readdirSync(outDir).filter((f) => f.includes(`.${pid}.out`))) {
    const text = fs.readFileSync(path.join(outDir, file), 'utf8')
    const line = text.match(/^(?:summary|totals): (\d+)/m)
    if (line) total += Number(line[1])
  }
  return total
}

async function measure(name, cwd, args, port) {
  const proc = await underCallgrind(name, cwd, args, port)
  const load = (amount) => runLoad({ url: `http://127.0.0.1:${port}${CHAT_PATH}`, method: 'POST', headers: chatHeaders('sk-bench', opts.stream), body: chatBody({ stream: opts.stream }), connections: 10, amount })
  await load(n)
  control(proc.pid, '--instr=on')
  await load(n)
  control(proc.pid, '--dump')
  control(proc.pid, '--instr=off')
  if (proc.exited) throw new Error(`${name} exited: ${JSON.stringify(proc.exited)}`)
  process.kill(-proc.pid, 'SIGKILL')
  await new Promise((r) => setTimeout(r, 300))
  return countedInstructions(proc.pid) / n
}

const mock = await startMock({ root: ROOT, logDir })
const upstream = `http://127.0.0.1:${mock.port}`
const rows = []
try {
  if (opts.passthrough) {
    const port = await freePort()
    rows.push(['passthrough', await measure('passthrough', ROOT, [path.join(ROOT, 'bench/passthrough.mjs'), '--upstream', upstream, '--port', String(port)], port)])
  }
  for (const repo of [...positionals.map((p) => path.resolve(p)), ROOT]) {
    const port = await freePort()
    const config = path.join(repo, gateway.config)
    const args = [path.join(repo, 'bin/aifd.mjs'), 'run', '--config', config, '--port', String(port), '--host', '127.0.0.1']
    process.env.BENCH_UPSTREAM = upstream
    rows.push([repo, await measure(path.basename(repo), repo, args, port)])
  }
} finally {
  await stopAll()
  if (opts.keep) console.log(`callgrind dumps kept in ${outDir} (callgrind_annotate FILE)`)
  else fs.rmSync(outDir, { recursive: true, force: true })
}
const last = rows.at(-1)[1]
console.log(`${opts.config}${opts.stream ? ' SSE' : ' JSON'}, ${n} requests counted after ${n} to warm up, 10 connections: instructions per request`)
for (const [name, ir] of rows) console.log(`  ${String(Math.round(ir)).padStart(10)}  ${(ir / last).toFixed(3)}× this checkout  ${name}`)
