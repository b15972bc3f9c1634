#!/usr/bin/env node
// `npm run bench:h3`: what h3 costs in front of a handler that writes its own response, in
// instructions per request (callgrind), for each way of wiring it (bench/h3-layer-server.mjs):
//
//   node bench/h3-layer.mjs [-n 3000] [--only node,h3v2-gateway]
//
// node: a bare node:http handler · h3v2-gateway: h3 v2, the gateway's wiring (send only what a
// route did not write) · h3v2-adapter: h3 v2 through its Node adapter (`toNodeHandler`) ·
// h3v2-response: h3 v2, the handler returns a web Response · h3v1: h3 v1's `toNodeListener`.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { dumpFolder, instructionsPerRequest } from './lib/callgrind.mjs'
import { freePort } from './lib/procs.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const VARIANTS = ['node', 'h3v2-gateway', 'h3v2-adapter', 'h3v2-response', 'h3v1']
const { values: opts } = parseArgs({ options: { requests: { type: 'string', short: 'n', default: '3000' }, only: { type: 'string' } } })
const variants = opts.only ? opts.only.split(',') : VARIANTS
const n = Number(opts.requests)
const outDir = dumpFolder()
const rows = []
try {
  for (const variant of variants) {
    const port = await freePort()
    const load = { url: `http://127.0.0.1:${port}/v1/models`, method: 'GET', headers: {} }
    const { total, compiler } = await instructionsPerRequest({ name: variant, cwd: ROOT, args: [path.join(ROOT, 'bench/h3-layer-server.mjs'), variant, String(port)], port, outDir, load, n })
    rows.push([variant, total - compiler])
  }
} finally {
  fs.rmSync(outDir, { recursive: true, force: true })
}
const base = rows.find(([v]) => v === 'node')?.[1]
console.log(`${n} GET requests counted after ${n} to warm up, 10 connections: instructions per request, without V8's compilers`)
for (const [variant, ir] of rows) console.log(`  ${variant.padEnd(14)} ${String(Math.round(ir)).padStart(8)}${base ? `  +${Math.round(ir - base)} over node` : ''}`)
