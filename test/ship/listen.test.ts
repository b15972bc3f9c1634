// The CLI serves through listhen, but a gateway must never move to another port on its own.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AIFD, ROOT } from '../helpers/cli.ts'
import { freePort } from '../helpers/redis.ts'

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** Holds a loopback port, as another program would. */
async function occupy(): Promise<number> {
  const port = await freePort()
  const server = createServer()
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return port
}

function runAifd(args: string[]): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'aifd-listen-'))
  writeFileSync(join(dir, 'forward.config.mjs'), "export default { routes: { openai: { path: '/', target: 'http://127.0.0.1:9' } } }\n")
  const child = spawn(process.execPath, [AIFD, 'run', '--config', join(dir, 'forward.config.mjs'), '--host', '127.0.0.1', ...args], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer)
    resolve({ code, out })
  }))
}

describe('a taken port', () => {
  it('the gateway exits 1 with one line naming the port, instead of serving elsewhere', async () => {
    const port = await occupy()
    const { code, out } = await runAifd(['--port', String(port)])
    expect(code).toBe(1)
    expect(out).toContain(`aifd: port ${port} on 127.0.0.1 is already in use; set server.port or --port`)
    expect(out).not.toContain('"event":"started"')
  })

  it('the dashboard listener too', async () => {
    const port = await occupy()
    const dir = mkdtempSync(join(tmpdir(), 'aifd-listen-webui-'))
    const gatewayPort = await freePort()
    writeFileSync(join(dir, 'forward.config.mjs'), `export default { routes: { openai: { path: '/', target: 'http://127.0.0.1:9' } }, webui: { port: ${port}, token: 'admin-token-0123456789' } }\n`)
    const child = spawn(process.execPath, [AIFD, 'run', '--config', join(dir, 'forward.config.mjs'), '--host', '127.0.0.1', '--port', String(gatewayPort), '--webui'], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stderr.on('data', (d) => (out += d))
    child.stdout.on('data', (d) => (out += d))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(out).toContain(`aifd: webui: port ${port} on 127.0.0.1 is already in use; set webui.port in the config`)
  })
})
