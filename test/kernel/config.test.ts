// Config: resolveConfig (defaults + validation) and loadForwardConfig from real files in a temp dir.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, definePlugin, loadForwardConfig, resolveConfig } from '../../src/index.ts'

let base: string
let n = 0
const DEFINE = new URL('../../src/config/define.ts', import.meta.url).pathname
const touchedEnv = new Set<string>()
const savedNodeEnv = process.env.NODE_ENV

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'aifd-config-'))
})
afterAll(() => rmSync(base, { recursive: true, force: true }))
afterEach(() => {
  for (const name of touchedEnv) delete process.env[name]
  touchedEnv.clear()
  process.env.NODE_ENV = savedNodeEnv
})

/** A fresh folder holding these files. */
function folder(files: Record<string, string>): string {
  const dir = join(base, `case-${++n}`)
  mkdirSync(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

/** The ConfigError a call throws (fails the test if it throws nothing or something else). */
async function configError(run: () => unknown): Promise<ConfigError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('resolveConfig', () => {
  it('applies defaults', () => {
    const config = resolveConfig({ routes: { local: { path: '/local/', target: 'http://127.0.0.1:9000/v1/' } } })
    const [route] = config.routes
    expect(route).toMatchObject({ name: 'local', prefix: '/local', type: 'openai', bodyLimit: 100 * 1024 ** 2 })
    expect(route.targets).toEqual([{ url: 'http://127.0.0.1:9000/v1/', base: 'http://127.0.0.1:9000/v1', origin: 'http://127.0.0.1:9000', weight: 1 }])
    expect(route.timeouts).toEqual({ connect: 10_000, headers: 600_000, idle: 300_000, total: undefined })
    expect(config.storage).toEqual({ driver: 'memory' })
    expect(config.cors).toMatchObject({ origin: '*' })
    expect(config.logLevel).toBe('info')
  })

  it('with no routes, forwards everything to https://api.openai.com', () => {
    for (const input of [undefined, {}, { routes: {} }]) {
      const config = resolveConfig(input)
      expect(config.routes).toHaveLength(1)
      expect(config.routes[0]).toMatchObject({ name: 'openai', prefix: '', type: 'openai' })
      expect(config.routes[0].targets[0].base).toBe('https://api.openai.com')
    }
  })

  it('parses durations and sizes', () => {
    const config = resolveConfig({
      bodyLimit: '2mb',
      routes: {
        a: { path: '/a', target: 'http://127.0.0.1:1', timeout: '30s', bodyLimit: 1000 },
        b: { path: '/b', target: 'http://127.0.0.1:1', timeout: { connect: 500, headers: '1m', idle: '5s', total: '2m' } },
      },
    })
    expect(config.routes[0].timeouts.headers).toBe(30_000)
    expect(config.routes[0].bodyLimit).toBe(1000)
    expect(config.routes[1].timeouts).toEqual({ connect: 500, headers: 60_000, idle: 5000, total: 120_000 })
    expect(config.routes[1].bodyLimit).toBe(2 * 1024 ** 2)
  })

  const cases: Array<[string, unknown, string, RegExp]> = [
    ['a target that is not a URL', { routes: { openai: { path: '/', target: 'api.openai.com' } } }, 'routes.openai.target', /must be an http\(s\) URL/],
    ['a non-http target', { routes: { openai: { path: '/', target: 'ftp://x.example' } } }, 'routes.openai.target', /http\(s\) URL/],
    ['a missing target', { routes: { openai: { path: '/' } } }, 'routes.openai.target', /http\(s\) URL/],
    ['a bad target in a list', { routes: { openai: { path: '/', target: ['http://a.example', { url: 'nope' }] } } }, 'routes.openai.target[1].url', /http\(s\) URL/],
    ['a path without a leading slash', { routes: { g: { path: 'gemini', target: 'http://a.example' } } }, 'routes.g.path', /starting with "\/"/],
    ['a path with dot segments', { routes: { g: { path: '/a/../b', target: 'http://a.example' } } }, 'routes.g.path', /dot segments/],
    ['a bad route type', { routes: { g: { path: '/', target: 'http://a.example', type: 'grpc' } } }, 'routes.g.type', /"openai" or "general"/],
    ['a bad timeout string', { routes: { openai: { path: '/', target: 'http://a.example', timeout: 'soon' } } }, 'routes.openai.timeout', /duration/],
    ['a bad idle timeout', { routes: { openai: { path: '/', target: 'http://a.example', timeout: { idle: '5 parsecs' } } } }, 'routes.openai.timeout.idle', /duration/],
    ['a bad body limit', { routes: { openai: { path: '/', target: 'http://a.example', bodyLimit: 'huge' } } }, 'routes.openai.bodyLimit', /size/],
    ['a bad storage driver', { storage: { driver: 'mongo' } }, 'storage.driver', /"memory", "fs" or "redis"/],
    ['a redis storage without a URL', { storage: { driver: 'redis', url: 'http://x' } }, 'storage.url', /redis:\/\//],
    ['a bad port', { server: { port: 70000 } }, 'server.port', /port/],
    ['a bad log level', { logLevel: 'loud' }, 'logLevel', /one of/],
    ['a bad cors origin', { cors: { origin: 'https://a.example' } }, 'cors.origin', /list of origins/],
    ['routes given as an array', { routes: [{ path: '/', target: 'http://a.example' }] }, 'routes', /named routes/],
    ['a plugin that is not a plugin', { routes: { openai: { path: '/', target: 'http://a.example', plugins: [{ onRequest() {} }] } } }, 'routes.openai.plugins[0]', /must be a plugin/],
  ]
  it.each(cases)('names the field for %s', async (_label, input, field, problem) => {
    const savedRedis = process.env.REDIS_URL
    delete process.env.REDIS_URL
    try {
      const error = await configError(() => resolveConfig(input))
      expect(error.field).toBe(field)
      expect(error.message).toMatch(problem)
      expect(error.message.startsWith(`${field}: `)).toBe(true)
    } finally {
      if (savedRedis !== undefined) process.env.REDIS_URL = savedRedis
    }
  })

  it('refuses a plugin factory passed without calling it, and says how to fix it', async () => {
    const rateLimit = definePlugin((options: { limit: string }) => ({ name: 'rate-limit', describe: () => options.limit }))
    const error = await configError(() => resolveConfig({ plugins: [rateLimit as never] }))
    expect(error.field).toBe('plugins[0]')
    expect(error.message).toContain('plugin factory')
    expect(error.message).toContain('call it with its options')
    // Called, it is fine.
    expect(resolveConfig({ plugins: [rateLimit({ limit: '1/s' })] }).globalPlugins[0].name).toBe('rate-limit')
  })

  it('refuses two routes with the same path (also spelled differently)', async () => {
    const error = await configError(() =>
      resolveConfig({ routes: { a: { path: '/v1', target: 'http://a.example' }, b: { path: '/v1/', target: 'http://b.example' } } }),
    )
    expect(error.field).toBe('routes.b.path')
    expect(error.message).toContain('routes.a')
  })

  it('puts the file in the message when it knows it', async () => {
    const error = await configError(() => resolveConfig({ routes: { openai: { path: '/', target: 'nope' } } }, '/srv/forward.config.ts'))
    expect(error.file).toBe('/srv/forward.config.ts')
    expect(error.message).toBe('/srv/forward.config.ts: routes.openai.target: must be an http(s) URL, got "nope"')
  })
})

describe('loadForwardConfig', () => {
  it('loads forward.config.ts, with imports and TypeScript syntax', async () => {
    const dir = folder({
      'forward.config.ts': `import { defineForwardConfig } from ${JSON.stringify(DEFINE)}
const port: number = 9100
export default defineForwardConfig({ routes: { local: { path: '/local', target: \`http://127.0.0.1:\${port}\` } }, logLevel: 'warn' })
`,
    })
    const config = await loadForwardConfig({ cwd: dir })
    expect(config.configFile).toBe(join(dir, 'forward.config.ts'))
    expect(config.routes[0]).toMatchObject({ name: 'local', prefix: '/local' })
    expect(config.routes[0].targets[0].base).toBe('http://127.0.0.1:9100')
    expect(config.logLevel).toBe('warn')
  })

  it('loads forward.config.mjs and forward.config.json', async () => {
    const mjs = folder({ 'forward.config.mjs': `export default { routes: { m: { path: '/m', target: 'http://127.0.0.1:1' } } }\n` })
    expect((await loadForwardConfig({ cwd: mjs })).routes.map((r) => r.name)).toEqual(['m'])
    const json = folder({ 'forward.config.json': JSON.stringify({ routes: { j: { path: '/j', target: 'http://127.0.0.1:2', type: 'general' } } }) })
    const config = await loadForwardConfig({ cwd: json })
    expect(config.routes[0]).toMatchObject({ name: 'j', type: 'general' })
    expect(config.configFile).toBe(join(json, 'forward.config.json'))
  })

  it('loads an explicit --config file by name', async () => {
    const dir = folder({ 'other.config.mjs': `export default { routes: { o: { path: '/', target: 'http://127.0.0.1:3' } } }\n` })
    expect((await loadForwardConfig({ cwd: dir, configFile: 'other.config.mjs' })).routes[0].name).toBe('o')
    const error = await configError(() => loadForwardConfig({ cwd: dir, configFile: 'missing.config.ts' }))
    expect(error.field).toBe('--config')
    expect(error.message).toContain('missing.config.ts')
  })

  it('reads .env first, so the config sees it in process.env; an already-set variable wins', async () => {
    touchedEnv.add('AIFD_TEST_UPSTREAM').add('AIFD_TEST_LEVEL')
    process.env.AIFD_TEST_LEVEL = 'error'
    const dir = folder({
      '.env': 'AIFD_TEST_UPSTREAM=http://127.0.0.1:7777\nAIFD_TEST_LEVEL=debug\n',
      'forward.config.ts': `export default {
  routes: { openai: { path: '/', target: process.env.AIFD_TEST_UPSTREAM } },
  logLevel: process.env.AIFD_TEST_LEVEL,
}
`,
    })
    const config = await loadForwardConfig({ cwd: dir })
    expect(config.routes[0].targets[0].base).toBe('http://127.0.0.1:7777')
    expect(config.logLevel).toBe('error')
  })

  it('applies $development or $production by NODE_ENV', async () => {
    const dir = folder({
      'forward.config.mjs': `export default {
  routes: { openai: { path: '/', target: 'http://127.0.0.1:1000' } },
  logLevel: 'info',
  $development: { logLevel: 'debug' },
  $production: { logLevel: 'warn', routes: { openai: { target: 'http://127.0.0.1:2000' } } },
}
`,
    })
    process.env.NODE_ENV = 'production'
    const prod = await loadForwardConfig({ cwd: dir })
    expect(prod.logLevel).toBe('warn')
    expect(prod.routes).toHaveLength(1)
    expect(prod.routes[0]).toMatchObject({ name: 'openai', prefix: '' })
    expect(prod.routes[0].targets[0].base).toBe('http://127.0.0.1:2000')
    process.env.NODE_ENV = 'development'
    const dev = await loadForwardConfig({ cwd: dir })
    expect(dev.logLevel).toBe('debug')
    expect(dev.routes[0].targets[0].base).toBe('http://127.0.0.1:1000')
  })

  it('names the field and the file for a value that does not validate', async () => {
    const dir = folder({ 'forward.config.ts': `export default { routes: { openai: { path: '/', target: 'localhost:8080' } } }\n` })
    const error = await configError(() => loadForwardConfig({ cwd: dir }))
    expect(error.field).toBe('routes.openai.target')
    expect(error.file).toBe(join(dir, 'forward.config.ts'))
    expect(error.message).toContain(join(dir, 'forward.config.ts'))
    expect(error.message).toContain('routes.openai.target: must be an http(s) URL')
  })

  it('names the file for a config that does not even load', async () => {
    const dir = folder({ 'forward.config.ts': `export default { routes: { openai: { path: '/', target: ` })
    const error = await configError(() => loadForwardConfig({ cwd: dir, configFile: 'forward.config.ts' }))
    expect(error.message).toContain(join(dir, 'forward.config.ts'))
    expect(error.message).toMatch(/could not load/)
  })

  it('without a config file, serves the default route to https://api.openai.com', async () => {
    const dir = folder({})
    const config = await loadForwardConfig({ cwd: dir })
    expect(config.configFile).toBeUndefined()
    expect(config.routes).toHaveLength(1)
    expect(config.routes[0].targets[0].base).toBe('https://api.openai.com')
  })

  it('lets overrides (CLI flags) win over the file', async () => {
    const dir = folder({ 'forward.config.mjs': `export default { server: { port: 1234, host: '0.0.0.0', gracePeriod: 5 } }\n` })
    const config = await loadForwardConfig({ cwd: dir, overrides: { server: { port: 4321, host: '127.0.0.1' } } })
    expect(config.server).toEqual({ port: 4321, host: '127.0.0.1', gracePeriod: 5 })
  })
})
