import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadForwardConfig } from '../../src/index.ts'
import { ROOT } from '../helpers/cli.ts'

// Every config file the repo ships (the README's example lives on as playground/full.config.ts)
// must load and validate as a user would run it, plugin options included.
const shipped = [
  'forward.config.ts',
  ...readdirSync(`${ROOT}/playground`).filter((f) => f.endsWith('.config.ts')).map((f) => `playground/${f}`),
  ...readdirSync(`${ROOT}/bench/configs`).filter((f) => f.endsWith('.config.ts')).map((f) => `bench/configs/${f}`),
]

describe('shipped configs', () => {
  process.env.BENCH_UPSTREAM ??= 'http://127.0.0.1:9'
  for (const file of shipped) {
    it(`${file} loads and validates`, async () => {
      const config = await loadForwardConfig({ cwd: ROOT, configFile: file })
      expect(config.routes.length).toBeGreaterThan(0)
      expect(config.configFile).toBe(`${ROOT}${file}`)
    })
  }

  it('the full example puts every built-in plugin on its route', async () => {
    const config = await loadForwardConfig({ cwd: ROOT, configFile: 'playground/full.config.ts' })
    const names = config.routes.find((r) => r.name === 'openai')!.plugins.map((p) => p.name)
    expect(names).toEqual(['ipFilter', 'keys', 'rateLimit', 'tokenLimit', 'cache', 'retry', 'chatLog'])
  })
})
