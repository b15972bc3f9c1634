// Strict config: every option object refuses names it does not know (with the closest known name),
// every problem of a file is reported at once with its full path, and durations parse one way.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cache, chatLog, ipFilter, keys, rateLimit, retry, tokenLimit } from '../../plugins/index.ts'
import { checkKnownKeys, closestName, ConfigError, loadForwardConfig, resolveConfig } from '../../src/index.ts'
import { AIFD, ROOT } from '../helpers/cli.ts'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aifd-strict-'))
  // Configs import the package by name, as a user's do.
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'openai-forward'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The ConfigError `run` throws. */
async function refusal(run: () => unknown): Promise<ConfigError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

const route = { path: '/', target: 'http://127.0.0.1:1' }

describe('checkKnownKeys', () => {
  it('names every unknown key with the closest known name, or the known names when none is close', async () => {
    const error = await refusal(() => checkKnownKeys({ dir: 'x', mxQueue: 1, colour: 'red' }, ['dir', 'maxQueue'], 'myPlugin'))
    expect(error.issues).toEqual([
      { field: 'myPlugin.mxQueue', problem: 'unknown option; did you mean "maxQueue"?' },
      { field: 'myPlugin.colour', problem: 'unknown option (known: dir, maxQueue)' },
    ])
    expect(error.message).toBe('2 problems:\n  myPlugin.mxQueue: unknown option; did you mean "maxQueue"?\n  myPlugin.colour: unknown option (known: dir, maxQueue)')
    expect(() => checkKnownKeys({ dir: 'x' }, ['dir'], 'p')).not.toThrow()
  })

  it('takes hints for names no spelling distance finds', async () => {
    expect((await refusal(() => checkKnownKeys({ folder: 'x' }, ['dir'], 'p', { folder: 'dir' }))).message).toBe('p.folder: unknown option; did you mean "dir"?')
    expect(closestName('timeot', ['timeout', 'proxy'])).toBe('timeout')
    expect(closestName('TTL', ['ttl'])).toBe('ttl')
    expect(closestName('banana', ['ttl', 'scope'])).toBeUndefined()
  })
})

describe('every built-in plugin refuses unknown options, nested ones too', () => {
  const cases: Array<[string, () => unknown, string, string]> = [
    ['chatLog', () => chatLog({ folder: 'x' } as never), 'plugins.chatLog.folder', 'did you mean "dir"?'],
    ['chatLog redact rule', () => chatLog({ redact: [{ pattern: /x/, replacment: '' }] as never }), 'plugins.chatLog.redact[0].replacment', 'did you mean "replace"?'],
    ['keys', () => keys({ keys: ['sk-1'], mod: 'open' } as never), 'plugins.keys.mod', 'did you mean "mode"?'],
    ['keys level', () => keys({ levels: { default: { keys: ['sk-1'], modles: '*' } } } as never), 'plugins.keys.levels.default.modles', 'did you mean "models"?'],
    ['keys forward key', () => keys({ keys: ['sk-1'], forwardKeys: { alice: { key: 'fk-a', levle: 'default' } } } as never), 'plugins.keys.forwardKeys.alice.levle', 'did you mean "level"?'],
    ['keys forward key list', () => keys({ keys: ['sk-1'], forwardKeys: [{ name: 'a', key: 'fk-a', nmae: 'x' }] } as never), 'plugins.keys.forwardKeys[0].nmae', 'did you mean "name"?'],
    ['ipFilter', () => ipFilter({ alow: ['127.0.0.1'] } as never), 'plugins.ipFilter.alow', 'did you mean "allow"?'],
    ['rateLimit', () => rateLimit({ limt: '1/second' } as never), 'plugins.rateLimit.limt', 'did you mean "limit"?'],
    ['rateLimit limits entry', () => rateLimit({ limits: [{ limit: '1/second', scop: 'ip' }] } as never), 'plugins.rateLimit.limits[0].scop', 'did you mean "scope"?'],
    ['tokenLimit', () => tokenLimit({ limit: '1k/minute', defaultMaxToken: 5 } as never), 'plugins.tokenLimit.defaultMaxToken', 'did you mean "defaultMaxTokens"?'],
    ['tokenLimit pace', () => tokenLimit({ pace: { rat: '10/second' } } as never), 'plugins.tokenLimit.pace.rat', 'did you mean "rate"?'],
    ['cache', () => cache({ tll: '1h' } as never), 'plugins.cache.tll', 'did you mean "ttl"?'],
    ['retry', () => retry({ attempt: 2 } as never), 'plugins.retry.attempt', 'did you mean "attempts"?'],
    ['retry backoff', () => retry({ backoff: { bse: '1s' } } as never), 'plugins.retry.backoff.bse', 'did you mean "base"?'],
    ['retry breaker', () => retry({ breaker: { failure: 2 } } as never), 'plugins.retry.breaker.failure', 'did you mean "failures"?'],
  ]
  it.each(cases)('%s', async (_name, make, field, hint) => {
    const error = await refusal(make)
    expect(error.field).toBe(field)
    expect(error.message).toBe(`${field}: unknown option; ${hint}`)
  })
})

describe('every kernel option object refuses unknown fields', () => {
  const savedRedis = process.env.REDIS_URL
  beforeAll(() => void (process.env.REDIS_URL = 'redis://127.0.0.1:1'))
  afterAll(() => void (savedRedis === undefined ? delete process.env.REDIS_URL : (process.env.REDIS_URL = savedRedis)))

  const cases: Array<[unknown, string, string]> = [
    [{ rotes: {} }, 'rotes', 'did you mean "routes"?'],
    [{ routes: { openai: { ...route, timeot: '1s' } } }, 'routes.openai.timeot', 'did you mean "timeout"?'],
    [{ routes: { openai: { ...route, url: 'http://x' } } }, 'routes.openai.url', 'did you mean "target"?'],
    [{ routes: { openai: { ...route, timeout: { conect: '1s' } } } }, 'routes.openai.timeout.conect', 'did you mean "connect"?'],
    [{ routes: { openai: { ...route, target: [{ url: 'http://a.example', wieght: 2 }] } } }, 'routes.openai.target[0].wieght', 'did you mean "weight"?'],
    [{ server: { bodyLimit: '10mb' } }, 'server.bodyLimit', 'did you mean the top-level "bodyLimit"?'],
    [{ server: { prot: 1 } }, 'server.prot', 'did you mean "port"?'],
    [{ webui: { tokn: 'x' } }, 'webui.tokn', 'did you mean "token"?'],
    [{ cors: { origins: ['https://a.example'] } }, 'cors.origins', 'did you mean "origin"?'],
    [{ storage: { driver: 'memory', base: '/x' } }, 'storage.base', '(known: driver)'],
    [{ storage: { driver: 'fs', bse: '/x' } }, 'storage.bse', 'did you mean "base"?'],
    [{ storage: { driver: 'redis', prefx: 'a:' } }, 'storage.prefx', 'did you mean "prefix"?'],
    [{ storage: { driver: 'redis', cluster: [{ host: '127.0.0.1', prot: 1 }] } }, 'storage.cluster[0].prot', 'did you mean "port"?'],
  ]
  it.each(cases)('%j → %s', async (input, field, hint) => {
    const error = await refusal(() => resolveConfig(input))
    expect(error.issues).toEqual([{ field, problem: expect.stringContaining(hint) }])
    expect(error.message).toBe(`${field}: unknown option${hint.startsWith('(') ? ' ' : '; '}${hint}`)
  })

  it("accepts c12's $development / $production blocks", () => {
    expect(() => resolveConfig({ $development: { logLevel: 'debug' }, $production: {} })).not.toThrow()
  })
})

describe('durations', () => {
  it('server.gracePeriod takes seconds as a number (as before) or any duration string', async () => {
    expect(resolveConfig({ server: { gracePeriod: 20 } }).server.gracePeriod).toBe(20)
    expect(resolveConfig({ server: { gracePeriod: '20s' } }).server.gracePeriod).toBe(20)
    expect(resolveConfig({ server: { gracePeriod: '2m' } }).server.gracePeriod).toBe(120)
    expect(resolveConfig({ server: { gracePeriod: '1500ms' } }).server.gracePeriod).toBe(1.5)
    expect(resolveConfig({}).server.gracePeriod).toBe(30)
    const error = await refusal(() => resolveConfig({ server: { gracePeriod: 'soon' } }))
    expect(error.message).toBe('server.gracePeriod: must be seconds or a duration like "30s", got "soon"')
  })

  it('cors.maxAge takes seconds as a number or a duration string', () => {
    expect(resolveConfig({ cors: { maxAge: 60 } }).cors).toMatchObject({ maxAge: 60 })
    expect(resolveConfig({ cors: { maxAge: '5m' } }).cors).toMatchObject({ maxAge: 300 })
  })

  it('the same strings work in routes and plugins', () => {
    const config = resolveConfig({ routes: { openai: { ...route, timeout: { connect: '2 seconds', idle: '1min', total: '1h' } } } })
    expect(config.routes[0].timeouts).toMatchObject({ connect: 2000, idle: 60_000, total: 3_600_000 })
    expect(cache({ ttl: '2 days' }).describe?.()).toContain('2 days')
    expect(() => retry({ maxRetryAfter: '1min', breaker: { coolDown: '2 minutes' } })).not.toThrow()
  })
})

describe('a config with several mistakes', () => {
  const bad = `import { defineForwardConfig, definePlugin, assertConfig } from 'openai-forward'
import { chatLog, rateLimit, retry } from 'openai-forward/plugins'

const blockModels = definePlugin((options: { models: string[] }) => {
  assertConfig(Array.isArray(options.models), 'blockModels.models', 'must be a list of model names')
  return { name: 'blockModels' }
})

export default defineForwardConfig({
  routes: {
    openai: {
      path: '/',
      target: 'http://127.0.0.1:1',
      timeot: '10s',
      plugins: [chatLog({ folder: 'logs' }), rateLimit({}), blockModels({ models: 'gpt-4o' }), retry],
    },
    other: { path: '/other', target: 'localhost:8080' },
  },
  plugins: [retry({ attempts: '3' })],
  server: { bodyLimit: '10mb', gracePeriod: '20s' },
} as never)
`
  const expected = [
    'routes.openai.timeot: unknown option; did you mean "timeout"?',
    'routes.openai.plugins[0] (chatLog).folder: unknown option; did you mean "dir"?',
    'routes.openai.plugins[1] (rateLimit): sets no limit: give at least `limit`, `levels`, `callers`, `models` or `limits`',
    'routes.openai.plugins[2] (blockModels).models: must be a list of model names',
    'routes.openai.plugins[3]: is a plugin factory, not a plugin: call it with its options, e.g. plugin() or plugin({ ... })',
    'routes.other.target: must be an http(s) URL, got "localhost:8080"',
    'plugins[0] (retry).attempts: must be an integer ≥ 1, got "3"',
    'server.bodyLimit: unknown option; did you mean the top-level "bodyLimit"?',
  ]

  it('is refused with every problem, each at its full path, under the file name', async () => {
    writeFileSync(join(dir, 'forward.config.ts'), bad)
    const error = await refusal(() => loadForwardConfig({ cwd: dir }))
    const file = join(dir, 'forward.config.ts')
    expect(error.file).toBe(file)
    expect(error.issues.map((i) => `${i.field}: ${i.problem}`)).toEqual(expected)
    expect(error.message).toBe(`${file}: ${expected.length} problems:\n${expected.map((line) => `  ${line}`).join('\n')}`)
  })

  it('`aifd run -c bad.config.ts` prints them all, readably, and exits 1', () => {
    writeFileSync(join(dir, 'bad.config.ts'), bad)
    const run = spawnSync(process.execPath, [AIFD, 'run', '-c', 'bad.config.ts', '--port', '0', '--host', '127.0.0.1'], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
    expect(run.status).toBe(1)
    expect(run.stdout).toBe('')
    const file = join(dir, 'bad.config.ts')
    expect(run.stderr.trim()).toBe(`aifd: ${file}: ${expected.length} problems:\n${expected.map((line) => `  ${line}`).join('\n')}`)
  })

  it('a file that does not even evaluate is named, not its folder', async () => {
    const broken = join(dir, 'broken')
    mkdirSync(broken)
    writeFileSync(join(broken, 'forward.config.ts'), 'export default { routes: { openai: ')
    const error = await refusal(() => loadForwardConfig({ cwd: broken }))
    expect(error.message.startsWith(`${join(broken, 'forward.config.ts')}: could not load the config: `)).toBe(true)
    expect(error.message).not.toContain('(file)')
  })
})
