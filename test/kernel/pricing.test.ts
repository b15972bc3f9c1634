import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assembleAnswer } from '../../src/gateway/assemble.ts'
import { BUILTIN_PRICES, ConfigError, resolveConfig, type Cost, type ForwardPlugin } from '../../src/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { captureLogger } from '../helpers/capture-logger.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'

const usage = (promptTokens: number, completionTokens: number, extra: { cachedTokens?: number; cacheWriteTokens?: number; estimated?: boolean } = {}) =>
  ({ promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: false, ...extra })

function pricesOf(prices?: unknown, configFile?: string) {
  return resolveConfig({ prices }, configFile).prices
}

describe('the price table', () => {
  it('prices the current OpenAI, Anthropic and Gemini models out of the box', () => {
    const table = pricesOf()
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5', 'o3', 'o4-mini', 'claude-sonnet-4-20250514', 'claude-3-5-haiku-latest', 'gemini-2.5-flash', 'gemini-2.0-flash-001']) {
      expect(table.has(model), model).toBe(true)
    }
    expect(table.has('my-local-llama')).toBe(false)
  })

  it('uses the exact name first, then the longest matching pattern', () => {
    const table = pricesOf()
    expect(table.priceOf('gpt-4o-2024-08-06')).toEqual({ key: 'gpt-4o-20*', price: BUILTIN_PRICES['gpt-4o-20*'] })
    expect(table.priceOf('gpt-4o-2024-05-13')!.price).toEqual({ input: 5, output: 15 })
    expect(table.priceOf('gpt-4o-mini-2024-07-18')!.key).toBe('gpt-4o-mini-20*')
    expect(table.priceOf('claude-opus-4-5-20251101')!.key).toBe('claude-opus-4-5*')
    expect(table.priceOf('claude-opus-4-1-20250805')!.key).toBe('claude-opus-4*')
    expect(table.priceOf('gemini-2.5-flash-lite')!.key).toBe('gemini-2.5-flash-lite*')
    // Gemini's own spelling, with the `models/` prefix.
    expect(table.priceOf('models/gemini-2.5-pro')!.key).toBe('gemini-2.5-pro*')
    // An audio model is not priced as text by accident.
    expect(table.has('gpt-4o-audio-preview')).toBe(false)
  })

  it('computes cost from input, cached input and output at per-million prices', () => {
    const table = pricesOf()
    // gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M.
    const cost = table.cost(usage(1_000_000, 100_000, { cachedTokens: 400_000 }), 'gpt-4o')
    expect(cost).toEqual({ model: 'gpt-4o', usd: 0.6 * 2.5 + 0.4 * 1.25 + 1, nanoUsd: 3_000_000_000, unpriced: false, estimated: false, priceKey: 'gpt-4o' })
    // Anthropic cache writes and reads: sonnet $3 in, $3.75 write, $0.30 read, $15 out.
    const claude = table.cost(usage(3000, 1000, { cachedTokens: 1000, cacheWriteTokens: 1000 }), 'claude-sonnet-4-20250514')
    expect(claude.usd).toBeCloseTo((1000 * 3 + 1000 * 0.3 + 1000 * 3.75 + 1000 * 15) / 1e6, 12)
  })

  it('marks a cost from estimated usage as estimated, and an unknown model as unpriced, never 0', () => {
    const table = pricesOf()
    expect(table.cost(usage(10, 10, { estimated: true }), 'gpt-4o').estimated).toBe(true)
    const unknown = table.cost(usage(10, 10), 'my-local-llama')
    expect(unknown).toMatchObject({ model: 'my-local-llama', usd: null, nanoUsd: null, unpriced: true })
  })

  it('takes overrides and new models, with wildcards and per-request prices, from the config', () => {
    const table = pricesOf({ 'gpt-4o*': { input: 1, output: 2 }, 'local-*': { input: 0, output: 0, request: 0.01 } })
    // The config's pattern replaces nothing exact: gpt-4o itself keeps its built-in price…
    expect(table.priceOf('gpt-4o')!.key).toBe('gpt-4o')
    // …while a name only the pattern matches gets it.
    expect(table.priceOf('gpt-4o-search-preview')!.price).toEqual({ input: 1, output: 2 })
    expect(table.cost(usage(1000, 1000), 'local-llama').usd).toBe(0.01)
    expect(pricesOf({ 'gpt-4o': { input: 1, output: 1 } }).cost(usage(1e6, 0), 'gpt-4o').usd).toBe(1)
  })

  it('reads prices from a JSON file next to the config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aifd-prices-'))
    try {
      writeFileSync(join(dir, 'prices.json'), JSON.stringify({ $schema: 'x', 'team-model': { input: 4, output: 8 } }))
      const table = pricesOf('./prices.json', join(dir, 'forward.config.ts'))
      expect(table.cost(usage(1e6, 1e6), 'team-model').usd).toBe(12)
      expect(() => pricesOf('./missing.json', join(dir, 'forward.config.ts'))).toThrow(/prices: cannot read .*missing\.json: ENOENT/)
      writeFileSync(join(dir, 'bad.json'), '{ nope')
      expect(() => pricesOf('./bad.json', join(dir, 'forward.config.ts'))).toThrow(/bad\.json is not valid JSON/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each([
    ['a misspelled field', { 'm': { input: 1, ouput: 2 } }, /prices\.m\.ouput: unknown option; did you mean "output"\?/],
    ['a missing output', { 'm': { input: 1 } }, /prices\.m\.output: must be a price ≥ 0/],
    ['a negative price', { 'm': { input: -1, output: 1 } }, /prices\.m\.input: must be a price ≥ 0/],
    ['a star in the middle', { 'gpt-*-mini': { input: 1, output: 1 } }, /prices\.gpt-\*-mini: must be a model name, or a prefix ending in one "\*"/],
    ['a list', [], /prices: must be an object/],
  ])('refuses %s, naming the field', (_name, prices, message) => {
    expect(() => pricesOf(prices)).toThrow(ConfigError)
    expect(() => pricesOf(prices)).toThrow(message)
  })
})

describe('usage with prompt caches', () => {
  it('reads OpenAI cached tokens, Anthropic cache reads and writes, Gemini cached and thinking tokens', () => {
    const openai = assembleAnswer('openai', { choices: [], usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 64 } } }, undefined)!
    expect(openai.usage).toEqual({ promptTokens: 100, completionTokens: 5, totalTokens: 105, estimated: false, cachedTokens: 64 })
    const anthropic = assembleAnswer('anthropic', { content: [], usage: { input_tokens: 10, cache_read_input_tokens: 200, cache_creation_input_tokens: 30, output_tokens: 7 } }, undefined)!
    expect(anthropic.usage).toEqual({ promptTokens: 240, completionTokens: 7, totalTokens: 247, estimated: false, cachedTokens: 200, cacheWriteTokens: 30 })
    const gemini = assembleAnswer('gemini', { candidates: [], usageMetadata: { promptTokenCount: 50, cachedContentTokenCount: 20, candidatesTokenCount: 10, thoughtsTokenCount: 40, totalTokenCount: 100 } }, undefined)!
    expect(gemini.usage).toEqual({ promptTokens: 50, completionTokens: 50, totalTokens: 100, estimated: false, cachedTokens: 20 })
  })
})

describe('result.cost() in a custom plugin', () => {
  let mock: MockUpstream
  let gateway: TestGateway
  const costs: Array<Cost | undefined> = []
  const logger = captureLogger()

  beforeAll(async () => {
    mock = await startMockUpstream()
    const recordCost: ForwardPlugin = { name: 'recordCost', onResponse: (_ctx, result) => void costs.push(result.cost()) }
    gateway = await startTestGateway({
      routes: { openai: { path: '/', target: mock.url, plugins: [recordCost] } },
      prices: { 'house-model': { input: 1, output: 2, request: 0.001 } },
    }, { log: logger.log })
  })
  afterAll(async () => {
    await gateway?.stop()
    await mock?.close()
  })

  const client = () => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-test', maxRetries: 0 })
  const lastCost = async () => {
    for (let i = 0; i < 100 && costs.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    return costs.shift()
  }

  it('prices what the upstream reported', async () => {
    const { usage: reported } = await client().chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'hi' }] })
    const cost = await lastCost()
    expect(cost).toMatchObject({ model: 'house-model', unpriced: false, estimated: false })
    expect(cost!.usd).toBeCloseTo((reported!.prompt_tokens * 1 + reported!.completion_tokens * 2) / 1e6 + 0.001, 12)
  })

  it('reports an unpriced model as unpriced, with one warning per model', async () => {
    for (let i = 0; i < 3; i++) {
      await client().chat.completions.create({ model: 'mystery-model', messages: [{ role: 'user', content: 'hi' }] })
      expect(await lastCost()).toMatchObject({ model: 'mystery-model', usd: null, unpriced: true })
    }
    const warnings = logger.entries.filter((e) => e.type === 'warn' && e.text.includes('mystery-model'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0].text).toMatch(/has no price.*prices/)
  })

  it('has no cost when nothing was spent upstream', async () => {
    await expect(client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-mock-status': '500' } })).rejects.toThrow()
    expect(await lastCost()).toBeUndefined()
  })
})
