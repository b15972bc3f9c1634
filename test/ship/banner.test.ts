import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, spawnGateway } from '../helpers/cli.ts'

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
    const out = gw.output()
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
