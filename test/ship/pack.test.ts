import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { ROOT, spawnGateway } from '../helpers/cli.ts'

// `npm pack`, install the tarball in an empty folder, and serve from it: what `npx aifd` does for a user.
let mock: MockUpstream
let app: string

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  const packDir = mkdtempSync(join(tmpdir(), 'aifd-pack-'))
  // dist/ is built by `npm test` before vitest runs; packing must not rebuild it.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, stdio: 'ignore' })
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!)
  app = mkdtempSync(join(tmpdir(), 'aifd-app-'))
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-gateway', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: 'ignore', timeout: 120_000 })
}, 180_000)
afterAll(() => mock.close())

describe('the packed package', () => {
  it('ships the build output, the bin, the types and the dashboard assets', () => {
    const pkg = join(app, 'node_modules', 'openai-forward')
    for (const file of ['bin/aifd.mjs', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/plugins/index.js', 'dist/plugins/index.d.ts', 'dist/src/cli/index.js', 'README.md']) {
      expect(existsSync(join(pkg, file)), file).toBe(true)
    }
    expect(existsSync(join(pkg, 'webui'))).toBe(true)
    expect(existsSync(join(pkg, 'src'))).toBe(false)
    expect(existsSync(join(app, 'node_modules', '.bin', 'aifd'))).toBe(true)
    expect(existsSync(join(app, 'node_modules', '.bin', 'openai-forward'))).toBe(true)
  })

  it('serves a user config that imports openai-forward and its plugins', async () => {
    writeFileSync(
      join(app, 'forward.config.ts'),
      `import { defineForwardConfig, definePlugin } from 'openai-forward'
import * as plugins from 'openai-forward/plugins'

const tag = definePlugin(() => ({ name: 'tag', onRequest(ctx) { ctx.responseHeaders['x-from-package'] = String(Object.keys(plugins).length) } }))

export default defineForwardConfig({
  routes: { openai: { path: '/', target: '${mock.url}', type: 'openai', plugins: [tag()] } },
})
`,
    )
    const gw = await spawnGateway(join(app, 'forward.config.ts'), [], { cwd: app, bin: join(app, 'node_modules', '.bin', 'aifd') })
    try {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'from the package' }] }),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-from-package')).toBe('9')
      expect((await res.json()).choices[0].message.content).toContain('from the package')
    } finally {
      expect(await gw.stop()).toBe(0)
    }
  })

  it('`aifd --help` lists the commands', () => {
    const help = execFileSync(join(app, 'node_modules', '.bin', 'aifd'), ['--help'], { cwd: app, encoding: 'utf8' })
    for (const command of ['run', 'dev', 'init', 'convert']) expect(help).toContain(command)
  })
})
