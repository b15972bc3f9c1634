#!/usr/bin/env node
// `npm run bench:plugins` — what each built-in plugin costs on its own: CPU per request of a gateway
// with only that plugin, against the bare passthrough and the bare gateway, JSON and SSE.
//
//   node bench/plugins.mjs [-d 5] [-r 2] [-c 50] [--only keys,chatLog]
//
// Every gateway runs at once in its own process; runs are interleaved (passthrough, bare, each
// plugin, full; repeated), so a noisy neighbour hits every target alike. Ratios are medians.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freePort, spawnNode, startMock, waitReady, stopAll, cpuTicks, rssBytes, CLK_TCK } from './lib/procs.mjs'
import { runLoad } from './lib/load.mjs'
import { CHAT_PATH, GATEWAYS, SINGLE_PLUGINS, chatBody, chatHeaders } from './scenarios.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', short: 'd', default: '5' },
    reps: { type: 'string', short: 'r', default: '2' },
    connections: { type: 'string', short: 'c', default: '50' },
    only: { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
})
// translate is not on the full route, so it is measured only when asked for (`--only translate`).
const KNOWN_PLUGINS = [...SINGLE_PLUGINS, 'translate']
const plugins = opts.only ? opts.only.split(',') : SINGLE_PLUGINS
const unknown = plugins.filter((p) => !KNOWN_PLUGINS.includes(p))
if (unknown.length) throw new Error(`unknown plugin(s): ${unknown.join(', ')} (known: ${KNOWN_PLUGINS.join(', ')})`)
if (!fs.existsSync(path.join(ROOT, 'dist/src'))) throw new Error('dist/ not found: run npm run build first')

const logDir = path.join(ROOT, 'bench/results/logs')
const chatLogDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aifd-bench-chatlog-'))
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** @type {{ name: string, key: string, proc: import('./lib/procs.mjs').Proc }[]} */
const targets = []
try {
  const mock = await startMock({ root: ROOT, logDir })
  const start = async (/** @type {string} */ name, /** @type {string[]} */ args, /** @type {Record<string,string>} */ env = {}) => {
    const port = await freePort()
    return spawnNode({ name, args: [...args, '--port', String(port), '--host', '127.0.0.1'], port, cwd: ROOT, logDir, cpus: opts.pin ? '0' : undefined, env: { BENCH_UPSTREAM: mock.url, BENCH_CHATLOG_DIR: chatLogDir, ...env } })
  }
  const gateway = (/** @type {string} */ name, /** @type {string} */ config, /** @type {Record<string,string>} */ env = {}) => start(`gateway-${name}`, [path.join(ROOT, 'bin/aifd.mjs'), 'run', '--config', config], env)
  targets.push({ name: 'passthrough', key: 'sk-bench', proc: await start('passthrough', [path.join(ROOT, 'bench/passthrough.mjs'), '--upstream', mock.url]) })
  targets.push({ name: 'bare', key: 'sk-bench', proc: await gateway('bare', GATEWAYS.bare.config) })
  for (const plugin of plugins) targets.push({ name: plugin, key: plugin === 'keys' ? 'fk-bench' : 'sk-bench', proc: await gateway(plugin, 'bench/configs/single.config.ts', { BENCH_PLUGIN: plugin }) })
  if (!opts.only) targets.push({ name: 'full', key: 'fk-bench', proc: await gateway('full', GATEWAYS.full.config) })
  await Promise.all(targets.map((t) => waitReady(t.proc, t.name === 'passthrough' ? {} : { healthPath: '/healthz' })))

  console.log(`per-plugin cost — ${os.cpus()[0]?.model} × ${os.cpus().length}, node ${process.version}, ${opts.reps} × ${opts.duration} s, ${opts.connections} connections`)
  for (const stream of [false, true]) {
    /** @type {Map<string, number[]>} */
    const cpu = new Map(targets.map((t) => [t.name, []]))
    /** @type {Map<string, number[]>} */
    const rate = new Map(targets.map((t) => [t.name, []]))
    for (let rep = 0; rep <= Number(opts.reps); rep++) {
      for (const t of targets) {
        const load = { url: t.proc.url + CHAT_PATH, method: /** @type {const} */ ('POST'), headers: chatHeaders(t.key, stream), body: chatBody({ stream }), connections: Number(opts.connections), pipelining: 1 }
        // Rep 0 warms every target up and is not counted.
        const seconds = rep === 0 ? 1 : Number(opts.duration)
        const before = cpuTicks(t.proc).ticks
        const result = await runLoad({ ...load, duration: seconds })
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${t.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors (see ${t.proc.logFile})`)
        if (rep === 0) continue
        cpu.get(t.name)?.push(((cpuTicks(t.proc).ticks - before) * 1e6) / CLK_TCK / result.requests.total)
        rate.get(t.name)?.push(result.requests.total / result.wallSeconds)
      }
    }
    const pt = median(cpu.get('passthrough') ?? [])
    const bare = median(cpu.get('bare') ?? [])
    console.log(`\n${stream ? 'SSE (20 chunks)' : 'JSON'}           cpu µs/req   ×passthrough   +µs over bare    req/s   rss MB   runs (µs/req)`)
    for (const t of targets) {
      const us = median(cpu.get(t.name) ?? [])
      const extra = t.name === 'passthrough' || t.name === 'bare' ? '' : `${us - bare >= 0 ? '+' : ''}${(us - bare).toFixed(1)}`
      console.log(`${t.name.padEnd(16)} ${us.toFixed(1).padStart(11)} ${(us / pt).toFixed(2).padStart(13)}× ${extra.padStart(15)} ${median(rate.get(t.name) ?? []).toFixed(0).padStart(8)} ${(rssBytes(t.proc) / 2 ** 20).toFixed(0).padStart(8)}   ${(cpu.get(t.name) ?? []).map((x) => x.toFixed(0)).join(' ')}`)
    }
  }
} finally {
  await stopAll()
  fs.rmSync(chatLogDir, { recursive: true, force: true })
}
