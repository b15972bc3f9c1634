import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, spawnGateway, type GatewayProcess } from '../helpers/cli.ts'

/** The gateway answers health checks a moment before the banner is printed: wait for it (a loaded machine may take a while). */
async function bannerOf(gw: GatewayProcess): Promise<string> {
  const end = Date.now() + 15_000
  while (!gw.output().includes('"event":"started"') && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  return gw.output()
}

const REAL = 'sk-banner-real-0123456789abcdef'
const FORWARD = 'fk-banner-forward-0123456789'

describe('the startup banner', () => {
  it('shows the version, routes, storage and each plugin with its settings, and never a key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aifd-banner-'))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(ROOT, join(dir, 'node_modules', 'openai-forward'))
    writeFileSync(join(dir, '.env'), `REAL_KEY=${REAL}\nFORWARD_KEY=${FORWARD}\n`)
    writeFileSync(
      join(dir, 'forward.config.ts'),
      `import { defineForwardConfig } from 'openai-forward'
import { keys, rateLimit, cache, retry } from 'openai-forward/plugins'
export default defineForwardConfig({
  routes: {
    openai: {
      path: '/', target: 'https://user:${REAL}@api.openai.com', type: 'openai',
      plugins: [keys({ keys: [process.env.REAL_KEY!], forwardKeys: { alice: process.env.FORWARD_KEY! } }), rateLimit({ limit: '60/minute' }), cache({ ttl: '1h' }), retry()],
    },
    gemini: { path: '/gemini', target: 'https://generativelanguage.googleapis.com', type: 'general', dialect: 'gemini' },
  },
})
`,
    )
    // A terminal-less run prints JSON lines; the banner is one of them.
    const gw = await spawnGateway(join(dir, 'forward.config.ts'), [], { cwd: dir })
    const out = await bannerOf(gw)
    expect(await gw.stop()).toBe(0)
    expect(out).toMatch(/openai-forward \d+\.\d+\.\d+/)
    for (const text of ['openai', '/gemini', 'generativelanguage.googleapis.com', 'gemini', 'keys', 'rateLimit', '60/minute', 'cache', 'retry', 'storage: memory']) {
      expect(out).toContain(text)
    }
    expect(out).not.toContain(REAL)
    expect(out).not.toContain(FORWARD)
    expect(out).not.toContain('sk-banner')
  })
})

describe('where the banner says it listens', () => {
  const config = () => {
    const dir = mkdtempSync(join(tmpdir(), 'aifd-banner-addr-'))
    writeFileSync(join(dir, 'forward.config.mjs'), "export default { routes: { openai: { path: '/', target: 'http://127.0.0.1:9' } } }\n")
    return join(dir, 'forward.config.mjs')
  }

  it('on every interface: the bound address and a network URL per interface, in one JSON info line with fields', async () => {
    const gw = await spawnGateway(config(), [], { host: '0.0.0.0' })
    const out = await bannerOf(gw)
    expect(await gw.stop()).toBe(0)
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    const banner = lines.find((l) => l.event === 'started')
    expect(banner.level).toBe('info')
    expect(lines.some((l) => l.level === 'box')).toBe(false)
    expect(banner.msg).not.toContain('\n')
    expect(banner.address).toBe(`0.0.0.0:${gw.port}`)
    expect(banner.msg).toContain(`listening on 0.0.0.0:${gw.port}`)
    expect(banner.routes).toEqual([{ name: 'openai', path: '/', type: 'openai', targets: ['http://127.0.0.1:9'], plugins: [] }])
    expect(banner.storage).toBe('memory')
    // listhen's list: where to browse locally, and one URL per network interface, by its address.
    expect(banner.urls.local).toEqual([`http://localhost:${gw.port}`])
    const interfaces = Object.values(networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4' && !i.internal).map((i) => i!.address)
    expect(banner.urls.network).toEqual(interfaces.map((address) => `http://${address}:${gw.port}`))
  })

  it('on loopback: says so, not a network address', async () => {
    const gw = await spawnGateway(config())
    const out = await bannerOf(gw)
    expect(await gw.stop()).toBe(0)
    const banner = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.event === 'started')
    expect(banner.address).toBe(`127.0.0.1:${gw.port}`)
    expect(banner.urls).toEqual({ local: [`http://127.0.0.1:${gw.port}`], network: [] })
  })
})
