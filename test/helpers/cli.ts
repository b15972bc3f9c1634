import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from './redis.ts'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const AIFD = fileURLToPath(new URL('../../bin/aifd.mjs', import.meta.url))

export interface GatewayProcess {
  url: string
  port: number
  child: ChildProcess
  /** Everything the process printed so far. */
  output(): string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Waits until `GET url/healthz` answers 200. */
export async function waitHealthy(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      // A request lost while workers come up must not hang the wait: each try has its own deadline.
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not become healthy`)
}

/** Runs `aifd <command> --config FILE --port P --host 127.0.0.1 ...args` (or `options.host`) from the built dist/ and waits for it to serve. */
export async function spawnGateway(config: string, args: string[] = [], options: { command?: string; cwd?: string; env?: NodeJS.ProcessEnv; bin?: string; host?: string } = {}): Promise<GatewayProcess> {
  const port = await freePort()
  let out = ''
  const child = spawn(process.execPath, [options.bin ?? AIFD, options.command ?? 'run', '--config', config, '--port', String(port), '--host', options.host ?? '127.0.0.1', ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  try {
    await Promise.race([waitHealthy(url), exited.then((code) => Promise.reject(new Error(`aifd exited with ${code}:\n${out}`)))])
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return {
    url,
    port,
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal)
      return exited
    },
  }
}
