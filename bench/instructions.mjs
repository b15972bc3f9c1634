#!/usr/bin/env node
// `npm run bench:instructions`: instructions per request, counted by valgrind's callgrind, for
// checkouts, the bare Node passthrough (`--passthrough`) and the floor of any proxy on this stack
// (`--floor`: node:http and undici's dispatch, nothing else), against one mock.
//
//   node bench/instructions.mjs [other checkouts…] [--config bare|full|cache-hit] [--stream] [-n 2000] [-w N] [--passthrough] [--floor] [--keep]
//
// CPU time on a shared 2-core VM moves with whatever else runs (other processes, the other core's
// cache); an instruction count does not. Each target runs under callgrind with instrumentation off,
// takes a warm-up (`-w`, default `n` requests: JIT tiers settle), then counts exactly `n` requests
// at 10 connections and reports instructions per request: in all, in V8's optimising compilers, and
// without them. The last is the figure to compare: the counted load's new connections make V8
// compile again, and how much varies by several % between runs of the same code. Slow (valgrind
// runs node ~30× slower), exact to about 1% between runs. Needs `valgrind` (Debian's package) and
// dist/ in every checkout.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { dumpFolder, instructionsPerRequest } from './lib/callgrind.mjs'
import { freePort, startMock, stopAll } from './lib/procs.mjs'
import { GATEWAYS, CHAT_PATH, chatBody, chatHeaders } from './scenarios.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'bare' },
    stream: { type: 'boolean', default: false },
    requests: { type: 'string', short: 'n', default: '2000' },
    warmup: { type: 'string', short: 'w' },
    passthrough: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
})
const gateway = GATEWAYS[opts.config]
if (!gateway) throw new Error(`--config must be one of ${Object.keys(GATEWAYS).join(', ')}`)
const n = Number(opts.requests)
const warmup = Number(opts.warmup ?? n)
const logDir = path.join(ROOT, 'bench/results/logs')
const outDir = dumpFolder()

async function measure(name, cwd, args, port) {
  // The full route's keys plugin wants the forward key; the passthrough and the other configs the real one.
  const key = opts.config === 'full' && name !== 'passthrough' && name !== 'floor' ? 'fk-bench' : 'sk-bench'
  const load = { url: `http://127.0.0.1:${port}${CHAT_PATH}`, method: 'POST', headers: chatHeaders(key, opts.stream), body: chatBody({ stream: opts.stream, caching: opts.config === 'cache-hit' }) }
  return instructionsPerRequest({ name, cwd, args, port, outDir, load, n, warmup })
}

const mock = await startMock({ root: ROOT, logDir })
const upstream = `http://127.0.0.1:${mock.port}`
const rows = []
try {
  if (opts.passthrough) {
    const port = await freePort()
    rows.push(['passthrough', await measure('passthrough', ROOT, [path.join(ROOT, 'bench/passthrough.mjs'), '--upstream', upstream, '--port', String(port)], port)])
  }
  if (opts.floor) {
    const port = await freePort()
    rows.push(['floor (node:http + undici dispatch, bench/floor.mjs)', await measure('floor', ROOT, [path.join(ROOT, 'bench/floor.mjs'), upstream, String(port)], port)])
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
console.log(`${opts.config}${opts.stream ? ' SSE' : ' JSON'}, ${n} requests counted after ${warmup} to warm up, 10 connections: instructions per request`)
console.log(`  ${'total'.padStart(10)}  ${'compilers'.padStart(10)}  ${'without'.padStart(10)}  without, × this checkout`)
for (const [name, ir] of rows) {
  const without = ir.total - ir.compiler
  console.log(`  ${String(Math.round(ir.total)).padStart(10)}  ${String(Math.round(ir.compiler)).padStart(10)}  ${String(Math.round(without)).padStart(10)}  ${(without / (last.total - last.compiler)).toFixed(3)}×  ${name}`)
}
