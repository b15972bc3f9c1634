// Instructions per request under valgrind's callgrind: a count that does not move with the load of
// a shared machine, unlike CPU time. Used by bench/instructions.mjs and bench/h3-layer.mjs.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { waitReady } from './procs.mjs'
import { runLoad } from './load.mjs'

/** A folder for the dumps of one run. */
export function dumpFolder() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'aifd-callgrind-'))
}

/** Starts `node args…` under callgrind with instrumentation off; resolves once it accepts connections. */
async function underCallgrind(name, cwd, args, port, outDir, env = {}) {
  const out = path.join(outDir, `${name}.%p.out`)
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', process.execPath, ...args], {
    // stdin stays open: some targets exit when it closes (they die with the harness).
    cwd, env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', ...env }, stdio: ['pipe', 'ignore', 'pipe'], detached: true,
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

/** V8's optimising compilers (TurboFan, Turboshaft, Maglev), by the C++ namespaces of their code. */
const COMPILER = /v8::internal::(?:compiler|maglev)::|turboshaft/i

/**
 * Sums the `summary:`/`totals:` of the dumps a process wrote once instrumentation was on, and the
 * part of it spent in V8's optimising compilers (their threads' and the main thread's).
 */
function countedInstructions(outDir, pid) {
  let total = 0
  let compiler = 0
  for (const file of fs.readdirSync(outDir).filter((f) => f.includes(`.${pid}.out`))) {
    const line = fs.readFileSync(path.join(outDir, file), 'utf8').match(/^(?:summary|totals): (\d+)/m)
    if (!line) continue
    total += Number(line[1])
    const annotated = execFileSync('callgrind_annotate', ['--threshold=100', path.join(outDir, file)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
    for (const row of annotated.split('\n')) {
      const cost = /^\s*([\d,]+)\s+(.*)$/.exec(row)
      if (cost && COMPILER.test(cost[2])) compiler += Number(cost[1].replaceAll(',', ''))
    }
  }
  return { total, compiler }
}

/**
 * Instructions per request of a server: `warmup` requests with instrumentation off (the JIT tiers
 * settle), then `n` counted, at 10 connections. `load` describes one request (url, method, headers, body).
 * Returns the total and the part V8's compilers took: a new load's connections make Node's own
 * functions deoptimise and compile again ("wrong map" on the new sockets), which lands in the
 * counted requests however long the warm-up, and varies by several % from run to run.
 */
export async function instructionsPerRequest({ name, cwd, args, port, outDir, env, load, n, warmup = n }) {
  const proc = await underCallgrind(name, cwd, args, port, outDir, env)
  const run = (amount) => runLoad({ connections: 10, ...load, amount })
  await run(warmup)
  control(proc.pid, '--instr=on')
  const counted = await run(n)
  // Refusals (a 401 from a missing key, a 429) cost far less than an exchange: they must not be what is counted.
  if (counted.non2xx > 0 || counted.errors > 0) throw new Error(`${name}: ${counted.non2xx} non-2xx answers and ${counted.errors} errors among the counted requests`)
  control(proc.pid, '--dump')
  control(proc.pid, '--instr=off')
  if (proc.exited) throw new Error(`${name} exited: ${JSON.stringify(proc.exited)}`)
  process.kill(-proc.pid, 'SIGKILL')
  await new Promise((r) => setTimeout(r, 300))
  const { total, compiler } = countedInstructions(outDir, proc.pid)
  return { total: total / n, compiler: compiler / n }
}
