import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Whether `redis-server` is installed. CI sets AIFD_REQUIRE_REDIS=1 so that a missing one fails instead of skipping. */
export const hasRedis = spawnSync('redis-server', ['--version']).status === 0

if (!hasRedis) {
  if (process.env.AIFD_REQUIRE_REDIS === '1') throw new Error('redis-server is not on PATH, and AIFD_REQUIRE_REDIS=1')
  console.warn('\n  ⚠ redis-server is not on PATH: the Redis tests are SKIPPED (apt-get install redis-server)\n')
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface TestRedis {
  url: string
  port: number
  /** Kills the server (SIGKILL), keeping its port, to test outages. */
  kill(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

async function waitForPing(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' })
    if (r.stdout?.trim() === 'PONG') return
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`redis-server on port ${port} did not start`)
}

/** Starts a real redis-server on a free loopback port (no persistence), for one test file. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'aifd-redis-'))
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
    await waitForPing(port)
  }
  const killChild = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: killChild,
    restart: launch,
    async stop() {
      await killChild()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Keys matching `pattern` on the Redis server at `port` (SCAN, so it never blocks the server). */
export function redisKeys(port: number, pattern: string): string[] {
  const out = spawnSync('redis-cli', ['-p', String(port), '--scan', '--pattern', pattern], { encoding: 'utf8' }).stdout ?? ''
  return out.split('\n').filter(Boolean)
}

/**
 * Waits until some node has a key matching `pattern`. A gateway writes to storage after the response
 * has gone out (never delaying the client), so another instance sees it a moment later, not at once.
 */
export async function waitForRedisKey(ports: number[], pattern: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (ports.some((port) => redisKeys(port, pattern).length > 0)) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`no key matching ${pattern} appeared in Redis`)
}
