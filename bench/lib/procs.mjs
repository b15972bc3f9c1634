// Child-process management for the bench: spawn with piped stdio, wait for listen,
// kill everything on exit/error/Ctrl-C, and read CPU time / RSS from /proc.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import http from 'node:http'
import path from 'node:path'

/** @typedef {{ name: string, child: import('node:child_process').ChildProcess, pid: number, port: number, url: string, logFile: string, tail: string[], exited: null | { code: number | null, signal: string | null } }} Proc */

/** @type {Set<Proc>} */
const live = new Set()
let handlersInstalled = false

/** Ask the kernel for a free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address())
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Spawn a node process in its own process group (so we can kill its whole tree),
 * stdio piped to a log file, last lines kept in memory for error messages.
 * `cpus` pins it to those CPUs (taskset), to keep the load generator off the measured process.
 * @param {{ name: string, args: string[], port: number, env?: Record<string,string>, cwd: string, logDir: string, cpus?: string }} o
 * @returns {Proc}
 */
export function spawnNode(o) {
  installHandlers()
  fs.mkdirSync(o.logDir, { recursive: true })
  const logFile = path.join(o.logDir, `${o.name}.log`)
  const log = fs.createWriteStream(logFile)
  const [command, args] = o.cpus ? ['taskset', ['-c', o.cpus, process.execPath, ...o.args]] : [process.execPath, o.args]
  const child = spawn(command, args, {
    cwd: o.cwd,
    env: { ...process.env, NODE_ENV: 'production', FORCE_COLOR: '0', NO_COLOR: '1', ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group: kill(-pid) reaches grandchildren too
  })
  if (child.pid === undefined) throw new Error(`failed to spawn ${o.name}`)
  /** @type {Proc} */
  const p = { name: o.name, child, pid: child.pid, port: o.port, url: `http://127.0.0.1:${o.port}`, logFile, tail: [], exited: null }
  const onData = (/** @type {Buffer} */ buf) => {
    log.write(buf)
    for (const line of buf.toString('utf8').split('\n')) if (line.trim()) p.tail.push(line)
    if (p.tail.length > 40) p.tail.splice(0, p.tail.length - 40)
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  child.stdin?.on('error', () => {})
  child.on('exit', (code, signal) => { p.exited = { code, signal }; live.delete(p); log.end() })
  live.add(p)
  return p
}

/** @param {Proc} p */
function describeExit(p) {
  return `${p.name} exited (code ${p.exited?.code}, signal ${p.exited?.signal}). Last output:\n  ${p.tail.slice(-15).join('\n  ') || '(none)'}\n  (full log: ${p.logFile})`
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/** @param {number} port */
function tcpProbe(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.setTimeout(500)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('timeout', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(false))
  })
}

/** GET a path; resolve status code or 0 on error. @param {number} port @param {string} p */
export function httpStatus(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 2000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

/**
 * Wait until the process accepts TCP connections (and, if healthPath is given,
 * GET healthPath answers 200). Throws with the child's last output on timeout/exit.
 * @param {Proc} p @param {{ timeoutMs?: number, healthPath?: string }} [o]
 */
export async function waitReady(p, o = {}) {
  const timeoutMs = o.timeoutMs ?? 30_000
  const deadline = Date.now() + timeoutMs
  let accepting = false
  let lastStatus = 0
  while (Date.now() < deadline) {
    if (p.exited) throw new Error(describeExit(p))
    if (!accepting) accepting = await tcpProbe(p.port)
    if (accepting) {
      if (!o.healthPath) return
      lastStatus = await httpStatus(p.port, o.healthPath)
      if (lastStatus === 200) return
    }
    await sleep(100)
  }
  if (p.exited) throw new Error(describeExit(p))
  const what = accepting ? `GET ${o.healthPath} answered ${lastStatus || 'nothing'} (expected 200)` : `port ${p.port} never accepted connections`
  throw new Error(`${p.name} not ready after ${timeoutMs / 1000}s: ${what}. Last output:\n  ${p.tail.slice(-15).join('\n  ') || '(none)'}\n  (full log: ${p.logFile})`)
}

/** Kill one process group: SIGTERM, then SIGKILL after graceMs. @param {Proc} p */
export async function stop(p, graceMs = 2000) {
  if (p.exited) return
  const done = new Promise((r) => p.child.once('exit', r))
  try { process.kill(-p.pid, 'SIGTERM') } catch { try { p.child.kill('SIGTERM') } catch {} }
  const t = setTimeout(() => { try { process.kill(-p.pid, 'SIGKILL') } catch {} }, graceMs)
  await done
  clearTimeout(t)
  // also reap any grandchildren left in the group
  try { process.kill(-p.pid, 'SIGKILL') } catch {}
}

export async function stopAll() {
  await Promise.all([...live].map((p) => stop(p)))
}

function killAllSync() {
  for (const p of live) {
    try { process.kill(-p.pid, 'SIGKILL') } catch { try { p.child.kill('SIGKILL') } catch {} }
  }
  live.clear()
}

function installHandlers() {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', killAllSync)
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping child processes…`)
      killAllSync()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (err) => { console.error(err); killAllSync(); process.exit(1) })
  process.on('unhandledRejection', (err) => { console.error(err); killAllSync(); process.exit(1) })
}

// ---------------------------------------------------------------- /proc readers

let clkTck = 100
try { clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch {}
export const CLK_TCK = clkTck

/** @param {number} pid @returns {{ ppid: number, pgrp: number, ticks: number } | null} */
function readStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // f[0]=state(3) f[1]=ppid(4) f[2]=pgrp(5) … f[11]=utime(14) f[12]=stime(15)
    return { ppid: Number(f[1]), pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) }
  } catch { return null }
}

/** All live pids in the process group rooted at pid (the child and anything it spawned). @param {number} pid */
function groupPids(pid) {
  const out = [pid]
  for (const d of fs.readdirSync('/proc')) {
    const n = Number(d)
    if (!n || n === pid) continue
    const st = readStat(n)
    if (st && st.pgrp === pid) out.push(n)
  }
  return out
}

/** CPU time (user+sys) of the process group, in ticks; plus how many processes it has. @param {Proc} p */
export function cpuTicks(p) {
  let ticks = 0
  const pids = groupPids(p.pid)
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0
  return { ticks, procs: pids.length }
}

/** Resident set size of the process group in bytes (sum of VmRSS). @param {Proc} p */
export function rssBytes(p) {
  let kb = 0
  for (const pid of groupPids(p.pid)) {
    try {
      const m = /VmRSS:\s+(\d+)\s*kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (m) kb += Number(m[1])
    } catch {}
  }
  return kb * 1024
}

/**
 * Starts the playground mock upstream (from `root`'s dist/) on a free loopback port, without request
 * recording, and waits until it answers.
 * @param {{ root: string, logDir: string, name?: string }} o
 * @returns {Promise<Proc>}
 */
export async function startMock(o) {
  const port = await freePort()
  const mock = spawnNode({ name: o.name ?? 'mock', args: [path.join(o.root, 'dist/playground/mock/server.js'), '--port', String(port), '--host', '127.0.0.1', '--no-record'], port, cwd: o.root, logDir: o.logDir })
  await waitReady(mock)
  return mock
}
