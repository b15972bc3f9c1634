import http from 'node:http'
// The `aifd` CLI as a user runs it: a child process serving a config file from a temp folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { loadForwardConfig } from '../../src/index.ts'
import { freePort } from '../helpers/redis.ts'
import { KEY, chat, sdk, until } from './util.ts'

const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '')
const BIN = join(ROOT, 'bin/aifd.mjs')
const ENTRY = join(ROOT, 'dist/src/cli/index.js')

let tmp: string
let mock: MockUpstream
const children: ChildProcess[] = []

/** Newest modification time of any .ts file under `dir`. */
function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) latest = Math.max(latest, newest(path))
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs)
  }
  return latest
}

/** Builds dist/ when it is missing or older than src/ (still emitting when others' code has type errors). */
function ensureBuilt(): void {
  if (existsSync(ENTRY) && statSync(ENTRY).mtimeMs >= newest(join(ROOT, 'src'))) return
  const tsc = join(ROOT, 'node_modules/.bin/tsc')
  const strict = spawnSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' })
  if (strict.status !== 0) spawnSync(tsc, ['-p', 'tsconfig.build.json', '--noEmitOnError', 'false'], { cwd: ROOT, encoding: 'utf8' })
  if (!existsSync(ENTRY)) throw new Error(`the build did not produce ${ENTRY}:\n${strict.stdout}${strict.stderr}`)
}

interface Cli {
  child: ChildProcess
  /** stdout and stderr so far, interleaved. */
  output(): string
  exited: Promise<number | null>
}

function aifd(args: string[], cwd: string): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NODE_ENV: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

async function healthy(port: number, cli: Cli, ms = 10_000): Promise<void> {
  const ok = await until(async () => {
    if (cli.child.exitCode !== null) return true
    return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
  }, ms, 50)
  if (!ok || cli.child.exitCode !== null) throw new Error(`aifd did not start on ${port}:\n${cli.output()}`)
}

/** A folder under tmp with these files. */
function project(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name)
  mkdirSync(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return dir
}

beforeAll(async () => {
  ensureBuilt()
  tmp = mkdtempSync(join(tmpdir(), 'aifd-cli-'))
  // Lets configs in tmp/* `import ... from 'openai-forward'`, as in a user's project.
  mkdirSync(join(tmp, 'node_modules'))
  symlinkSync(ROOT, join(tmp, 'node_modules/openai-forward'), 'dir')
  mock = await startMockUpstream({ port: 0 })
}, 120_000)

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  mock.reset()
})

afterAll(async () => {
  await mock?.close()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

describe('aifd run', () => {
  it('serves a config that imports openai-forward; --port overrides the file', async () => {
    const filePort = await freePort()
    const port = await freePort()
    const dir = project('run', {
      'forward.config.ts': `import { defineForwardConfig } from 'openai-forward'
export default defineForwardConfig({
  routes: { openai: { path: '/', target: ${JSON.stringify(mock.url)} } },
  server: { port: ${filePort}, host: '127.0.0.1' },
})
`,
    })
    const cli = aifd(['run', '--config', join(dir, 'forward.config.ts'), '--port', String(port), '--host', '127.0.0.1'], tmp)
    await healthy(port, cli)
    const completion = await sdk(`http://127.0.0.1:${port}`).chat.completions.create(chat('through the cli'))
    expect(completion.choices[0].message.content).toBe(expectedReply('through the cli'))
    expect(mock.requests.at(-1)!.apiKey).toBe(KEY)
    // Nothing listens on the port the file named.
    await expect(fetch(`http://127.0.0.1:${filePort}/healthz`)).rejects.toThrow()
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })

  it('a config error prints one clear line naming the field and exits non-zero', async () => {
    const dir = project('broken', { 'forward.config.mjs': `export default { routes: { openai: { path: '/', target: 'localhost:8080' } } }\n` })
    const cli = aifd(['run', '--port', String(await freePort()), '--host', '127.0.0.1'], dir)
    const code = await cli.exited
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    const lines = cli.output().split('\n').filter((l) => l.includes('routes.openai.target'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('must be an http(s) URL')
    expect(lines[0]).toContain(join(dir, 'forward.config.mjs'))
    expect(cli.output()).not.toMatch(/^\s+at /m)

    const badPort = aifd(['run', '--port', 'eighty'], dir)
    expect(await badPort.exited).toBe(1)
    expect(badPort.output().trim()).toBe('aifd: --port: must be a port number, got "eighty"')
  })

  it('SIGTERM lets an in-flight slow stream finish, then exits 0', async () => {
    const port = await freePort()
    const dir = project('drain', { 'forward.config.mjs': `export default { routes: { openai: { path: '/', target: ${JSON.stringify(mock.url)} } } }\n` })
    const cli = aifd(['run', '--port', String(port), '--host', '127.0.0.1'], dir)
    await healthy(port, cli)
    const stream = await sdk(`http://127.0.0.1:${port}`).chat.completions.create(chat('drain me', { stream: true }), {
      headers: { 'x-mock-chunks': '20', 'x-mock-chunk-delay-ms': '75' },
    })
    let content = ''
    let signalled = false
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta?.content ?? ''
      if (!signalled) {
        signalled = cli.child.kill('SIGTERM')
        expect(await until(() => cli.output().includes('SIGTERM'), 2000)).toBe(true)
      }
    }
    expect(signalled).toBe(true)
    expect(content).toBe(expectedReply('drain me', { chunks: 20 }))
    expect(mock.requests.at(-1)!.completed).toBe(true)
    expect(await cli.exited).toBe(0)
  })
})

describe('aifd dev', () => {
  it('hot-reloads config edits and imported plugin edits, and keeps serving through a broken edit', async () => {
    const port = await freePort()
    const config = (target: string) => `import { defineForwardConfig } from 'openai-forward'
import { tag } from './tag-plugin.ts'
export default defineForwardConfig({
  routes: { openai: { path: '/', target: ${JSON.stringify(mock.url)} + ${JSON.stringify(target)}, plugins: [tag()] } },
})
`
    const plugin = (value: string) => `export const tag = () => ({
  name: 'tag',
  onRequest(ctx: { responseHeaders: Record<string, string> }) {
    ctx.responseHeaders['x-plugin-version'] = ${JSON.stringify(value)}
  },
})
`
    const dir = project('dev', { 'forward.config.ts': config('/v1'), 'tag-plugin.ts': plugin('one') })
    const cli = aifd(['dev', '--config', 'forward.config.ts', '--port', String(port), '--host', '127.0.0.1'], dir)
    await healthy(port, cli)
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`)
    const first = await get('/echo/a')
    expect(first.status).toBe(200)
    expect(first.headers.get('x-plugin-version')).toBe('one')
    expect(mock.requests.at(-1)!.path).toBe('/v1/echo/a')

    // 1. A new target path prefix in the config is served without a restart.
    writeFileSync(join(dir, 'forward.config.ts'), config('/v1/echo'))
    expect(await until(async () => (await get('/b')).status === 200 && mock.requests.at(-1)!.path === '/v1/echo/b', 8000, 100)).toBe(true)

    // 2. An edit to the plugin file the config imports takes effect.
    writeFileSync(join(dir, 'tag-plugin.ts'), plugin('two'))
    expect(await until(async () => (await get('/c')).headers.get('x-plugin-version') === 'two', 8000, 100)).toBe(true)

    // 3. A broken edit prints the error and the previous config keeps serving.
    writeFileSync(join(dir, 'forward.config.ts'), config('/v1').replace(/target: [^,]*,/, "target: 'not a url',"))
    const reported = await until(() => /reload failed/.test(cli.output()) && cli.output().includes('routes.openai.target: must be an http(s) URL'), 8000, 50)
    expect(reported, cli.output()).toBe(true)
    const still = await get('/d')
    expect(still.status).toBe(200)
    expect(still.headers.get('x-plugin-version')).toBe('two')
    expect(mock.requests.at(-1)!.path).toBe('/v1/echo/d')
    expect(cli.child.exitCode).toBeNull()

    // 4. Fixing it serves the fixed config.
    writeFileSync(join(dir, 'forward.config.ts'), config('/v1'))
    expect(await until(async () => (await get('/echo/e')).status === 200 && mock.requests.at(-1)!.path === '/v1/echo/e', 8000, 100)).toBe(true)
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })
})

describe('aifd dev: a new port in the config', () => {
  it('re-listens on the new port and lets the old one go', async () => {
    const [first, second] = [await freePort(), await freePort()]
    const config = (port: number) => `export default { routes: { openai: { path: '/', target: ${JSON.stringify(mock.url)} } }, server: { port: ${port}, host: '127.0.0.1' } }\n`
    const dir = project('dev-port', { 'forward.config.mjs': config(first) })
    const cli = aifd(['dev', '--config', 'forward.config.mjs'], dir)
    await healthy(first, cli)
    writeFileSync(join(dir, 'forward.config.mjs'), config(second))
    await healthy(second, cli)
    // A new client on the old port is refused (a fresh connection: no pooled keep-alive socket).
    const old = await new Promise<string>((resolve) => {
      http.get({ host: '127.0.0.1', port: first, path: '/healthz', agent: false }, (res) => { res.resume(); resolve('answered') }).on('error', () => resolve('refused'))
    })
    expect(old).toBe('refused')
    cli.child.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
  })
})

describe('aifd init', () => {
  it('writes a forward.config.ts that loads, and refuses to overwrite it', async () => {
    const dir = project('init', {})
    const first = aifd(['init'], dir)
    expect(await first.exited).toBe(0)
    const file = join(dir, 'forward.config.ts')
    const written = readFileSync(file, 'utf8')
    expect(written).toContain("from 'openai-forward'")
    expect(written).toContain('defineForwardConfig(')
    const config = await loadForwardConfig({ cwd: dir })
    expect(config.routes.map((r) => [r.name, r.prefix, r.targets[0].base])).toEqual([['openai', '', 'https://api.openai.com']])

    writeFileSync(file, `${written}// my edits\n`)
    const second = aifd(['init'], dir)
    expect(await second.exited).not.toBe(0)
    expect(second.output()).toMatch(/exists/)
    expect(readFileSync(file, 'utf8')).toBe(`${written}// my edits\n`)
  })
})
