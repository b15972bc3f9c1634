import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as builtins from '../../plugins/index.ts'
import { ROOT } from '../helpers/cli.ts'

// A newcomer's project: the packed tarball installed in an empty folder by the README's own set-up
// steps, a tsconfig from `tsc --init`, and `tsc --noEmit` without skipLibCheck on `aifd init`'s config
// and every TypeScript example of the README. Installs come from the npm cache (no network here).

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const NPM_ENV = { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }

/** The commands of the README's "In your own project" block, comments dropped, `&&` chains split. */
function setUpSteps(): string[] {
  const section = README.split('### In your own project')[1]
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]
  return block.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean).flatMap((line) => line.split('&&').map((c) => c.trim()))
}

/** Every ```ts block of the README, in order. */
const examples = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])

let app: string
let packDir: string
const steps = setUpSteps()

/**
 * Runs `npx tsc --noEmit` as the README says, with skipLibCheck off whatever the tsconfig says;
 * returns its error lines. `exactOptionalPropertyTypes` (on in `tsc --init`'s tsconfig) is turned
 * off for the check of the libraries' own declarations: h3 2.0.8's `HTTPError` declaration fails it
 * by itself (`import type { H3Event } from 'h3'` alone gives TS2420 in h3.d.mts), and `ctx.event`
 * is h3's event. With the tsconfig as `tsc --init` writes it (skipLibCheck on) both stay on.
 */
function typeCheck(project = '.', flags = ['--skipLibCheck', 'false', '--exactOptionalPropertyTypes', 'false']): { status: number | null; errors: string[] } {
  const run = spawnSync('npx', ['tsc', '--noEmit', ...flags, '-p', project], { cwd: app, encoding: 'utf8', env: NPM_ENV, timeout: 60_000 })
  return { status: run.status, errors: `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.includes('error TS')) }
}

beforeAll(() => {
  packDir = mkdtempSync(join(tmpdir(), 'aifd-types-pack-'))
  // dist/ is built by `npm test` before vitest runs; packing must not rebuild it.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], { cwd: ROOT, stdio: 'ignore' })
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!)
  app = mkdtempSync(join(tmpdir(), 'aifd-types-app-'))
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-gateway', private: true, type: 'module' }))
  for (const step of steps) {
    if (step.startsWith('npx aifd run') || step.startsWith('npx tsc --noEmit')) continue
    // The one change: the package comes from the tarball instead of the registry.
    const command = step.replace(/^npm i openai-forward\b/, `npm i ${tarball}`)
    execFileSync('sh', ['-c', command], { cwd: app, stdio: 'ignore', env: NPM_ENV, timeout: 120_000 })
  }
}, 180_000)
afterAll(() => {
  rmSync(app, { recursive: true, force: true })
  rmSync(packDir, { recursive: true, force: true })
})

describe('a fresh project with a default strict tsconfig', () => {
  it('follows the README: install, tsc --init, aifd init, tsc --noEmit', () => {
    expect(steps).toEqual(['npm i openai-forward', 'npm i -D typescript', 'npx tsc --init', 'npx aifd init', 'npx tsc --noEmit', 'npx aifd run'])
    const tsconfig = readFileSync(join(app, 'tsconfig.json'), 'utf8')
    expect(tsconfig).toMatch(/"strict": true/)
    expect(tsconfig).toMatch(/"module": "nodenext"/)
    expect(readFileSync(join(app, 'forward.config.ts'), 'utf8')).toContain('defineForwardConfig')
  })

  it("type-checks aifd init's config and every TypeScript example of the README, without skipLibCheck", () => {
    examples.forEach((code, i) => writeFileSync(join(app, code.includes('export default defineForwardConfig') ? `readme-${i + 1}.config.ts` : `readme-${i + 1}.ts`), code))
    // Together the examples use every built-in plugin and the plugin-writing API.
    const all = examples.join('\n')
    for (const name of Object.keys(builtins)) expect(all, name).toContain(`${name}(`)
    expect(all).toContain('definePlugin(')
    expect(all).toContain('checkKnownKeys(')
    const { status, errors } = typeCheck()
    expect(errors).toEqual([])
    expect(status).toBe(0)
    // And exactly as the README's steps run it, with the tsconfig `tsc --init` wrote.
    expect(typeCheck('.', []).errors).toEqual([])
  })

  it('refuses the usual mistakes, each on its line and by its name', () => {
    mkdirSync(join(app, 'mistakes'))
    writeFileSync(join(app, 'mistakes', 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['forward.config.ts'] }))
    const lines = [
      `import { defineForwardConfig } from 'openai-forward'`,
      `import { chatLog, rateLimit, retry } from 'openai-forward/plugins'`,
      `export default defineForwardConfig({`,
      `  routes: {`,
      `    openai: {`,
      `      path: '/',`,
      `      target: 'https://api.openai.com',`,
      `      timeot: '10s',`,
      `      plugins: [`,
      `        rateLimit({ limt: '60/minute' }),`,
      `        chatLog({ folder: 'logs' }),`,
      `        retry({ attempts: '3' }),`,
      `      ],`,
      `    },`,
      `  },`,
      `  server: { bodyLimit: '10mb' },`,
      `})`,
    ]
    writeFileSync(join(app, 'mistakes', 'forward.config.ts'), `${lines.join('\n')}\n`)
    const { status, errors } = typeCheck('mistakes')
    expect(status).not.toBe(0)
    const lineOf = (text: string) => lines.findIndex((l) => l.includes(text)) + 1
    const at = (text: string) => errors.filter((e) => e.startsWith(`mistakes/forward.config.ts(${lineOf(text)},`))
    for (const name of ['timeot', 'limt', 'folder', 'bodyLimit']) {
      expect(at(name), name).toHaveLength(1)
      expect(at(name)[0]).toContain(`'${name}'`)
    }
    expect(at("attempts: '3'")).toHaveLength(1)
    expect(at("attempts: '3'")[0]).toMatch(/Type 'string' is not assignable to type 'number'/)
    expect(errors).toHaveLength(5)
  })
})
