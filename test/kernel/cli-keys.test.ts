// `aifd keys create|list|rotate|revoke` against a real gateway process started with --webui: the
// CLI calls the admin API, the key works through the official SDK, and the gateway's own output
// never shows a secret.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { AIFD, ROOT, spawnGateway, type GatewayProcess } from '../helpers/cli.ts'
import { freePort } from '../helpers/redis.ts'

const run = promisify(execFile)
const TOKEN = 'cli-keys-admin-token-0123456789abcdef'

describe('aifd keys', () => {
  let mock: MockUpstream
  let dir: string
  let gateway: GatewayProcess
  let admin: string

  beforeAll(async () => {
    mock = await startMockUpstream({ port: 0, record: false })
    dir = mkdtempSync(join(tmpdir(), 'aifd-cli-keys-'))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(ROOT, join(dir, 'node_modules', 'openai-forward'))
    const port = await freePort()
    admin = `http://127.0.0.1:${port}`
    writeFileSync(join(dir, 'forward.config.ts'), `import { defineForwardConfig } from 'openai-forward'
import { keys } from 'openai-forward/plugins'
export default defineForwardConfig({
  routes: { openai: { path: '/', target: '${mock.url}', plugins: [keys({ levels: { default: { keys: ['sk-real-cli-secret'] } }, runtimeKeys: true })] } },
  webui: { port: ${port}, token: '${TOKEN}' },
})
`)
    gateway = await spawnGateway(join(dir, 'forward.config.ts'), ['--webui'], { cwd: dir })
  }, 60_000)

  afterAll(async () => {
    await gateway?.stop()
    await mock?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const aifd = (...args: string[]) => run(process.execPath, [AIFD, 'keys', ...args], { env: { ...process.env, AIFD_ADMIN_URL: admin, AIFD_ADMIN_TOKEN: TOKEN } })

  it('creates a key that works, lists it without the secret, rotates and revokes it', async () => {
    const created = await aifd('create', 'ci-bot', '--level', 'default', '--expires', '30d', '--budget', '$5/month')
    const secret = created.stdout.trim()
    expect(secret).toMatch(/^fk-/)
    expect(created.stderr).toContain('only time its secret is shown')
    const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 })
    await expect(client(secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeTruthy()

    const listed = await aifd('list')
    expect(listed.stdout).toMatch(/^NAME\s+LEVEL\s+SOURCE/)
    expect(listed.stdout).toMatch(/ci-bot\s+default\s+runtime\s+\d{4}-/)
    expect(listed.stdout).toContain('$5/month')
    expect(listed.stdout).not.toContain(secret)

    const rotated = (await aifd('rotate', 'ci-bot')).stdout.trim()
    expect(rotated).toMatch(/^fk-/)
    await expect(client(secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401 })

    expect((await aifd('revoke', 'ci-bot')).stderr).toContain('revoked')
    await expect(client(rotated).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401 })
    expect(JSON.parse((await aifd('list', '--json')).stdout)).toEqual([])

    // The gateway logged each step by name, and never a secret.
    const output = gateway.output()
    expect(output).toMatch(/forward key \\?"ci-bot\\?" created/)
    expect(output).toMatch(/forward key \\?"ci-bot\\?" rotated/)
    expect(output).toMatch(/forward key \\?"ci-bot\\?" revoked/)
    for (const s of [secret, rotated, 'sk-real-cli-secret']) expect(output).not.toContain(s)
  })

  it('says what is wrong: a refused token, an unknown level, no listener', async () => {
    await expect(aifd('list', '--token', 'wrong')).rejects.toMatchObject({ stderr: expect.stringContaining('aifd keys: 401: admin token required') })
    await expect(aifd('create', 'x', '--level', 'gold')).rejects.toMatchObject({ stderr: expect.stringContaining('level must be one of "default"') })
    await expect(aifd('list', '--url', `http://127.0.0.1:${await freePort()}`)).rejects.toMatchObject({ stderr: expect.stringContaining('cannot reach the admin listener') })
  })
})
