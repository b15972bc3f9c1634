import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadForwardConfig } from '../../src/index.ts'
import { ROOT } from '../helpers/cli.ts'

// Every forward.config.ts example in the README and the plugin READMEs must load and validate as
// written: an example that drifted from the real options would mislead every user who copies it.
const docs = ['README.md', ...readdirSync(join(ROOT, 'plugins')).map((name) => `plugins/${name}/README.md`).filter((file) => {
  try {
    readFileSync(join(ROOT, file))
    return true
  } catch {
    return false
  }
})]

function examples(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((code) => code.includes('export default defineForwardConfig'))
}

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aifd-docs-'))
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'openai-forward'))
  // Secrets the examples read from the environment.
  for (const name of ['OPENAI_API_KEY', 'FK_ALICE', 'FK_BOB', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'OPENAI_KEY_1', 'OPENAI_KEY_2', 'OPENAI_KEY_3']) process.env[name] ??= `sk-doc-${name.toLowerCase()}`
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379'
})

describe('configuration examples in the docs', () => {
  let count = 0
  for (const file of docs) {
    examples(file).forEach((code, index) => {
      count++
      it(`${file} example ${index + 1} loads and validates`, async () => {
        const name = `${file.replace(/\W+/g, '-')}-${index}.config.ts`
        writeFileSync(join(dir, name), code)
        const config = await loadForwardConfig({ cwd: dir, configFile: name })
        expect(config.routes.length).toBeGreaterThan(0)
      })
    })
  }
  it('found the examples', () => expect(count).toBeGreaterThanOrEqual(8))
})
