// The budget plugin: dollar budgets reserved at the worst case before forwarding and settled to the
// real cost, exact under concurrency, with calendar and sliding periods. A real gateway, the mock
// upstream, the official SDK.
import { randomUUID } from 'node:crypto'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, countChatTokens, countTokens } from '../../src/index.ts'
import { budget, keys } from '../../plugins/index.ts'
import { parseBudget } from '../../plugins/budget/period.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { callerFromHeader, sleep } from './rateLimit-helpers.ts'

/** A model that costs exactly one cent per request, whatever its tokens: reservations equal settlements. */
const FLAT = 'flat-model'
const prices = { [FLAT]: { input: 0, output: 0, request: 0.01 } }
const messages = [{ role: 'user' as const, content: 'What does this cost?' }]

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    plugins: [callerFromHeader],
    prices,
    routes: {
      openai: { path: '/', target: mock.url, plugins: [budget({ limit: '$0.5/day', scope: 'global' })] },
      keyed: { path: '/keyed', target: mock.url, plugins: [budget({ limit: '$0.02/day', levels: { pro: '$0.05/day' }, callers: { vip: '$0.03/day' } })] },
      real: { path: '/real', target: mock.url, plugins: [budget({ limit: '$1/month', defaultMaxTokens: 1000 })] },
      month: { path: '/month', target: mock.url, plugins: [budget({ limit: '$0.01/month' })] },
      sliding: { path: '/sliding', target: mock.url, plugins: [budget({ limit: '$0.02/1500ms' })] },
      models: { path: '/models', target: mock.url, plugins: [budget({ limit: '$1/day', models: { 'flat-*': '$0.01/day' } })] },
      lenient: { path: '/lenient', target: mock.url, plugins: [budget({ limit: '$1/day', unpriced: 'allow' })] },
      anthropic: { path: '/anthropic', target: mock.url, type: 'general', dialect: 'anthropic', plugins: [callerFromHeader, budget({ limit: '$1/day' })] },
      gemini: { path: '/gemini', target: mock.url, type: 'general', dialect: 'gemini', plugins: [callerFromHeader, budget({ limit: '$1/day' })] },
    },
  })
})

afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})

function clientFor(path = '', caller = `caller-${randomUUID()}`, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}${path}/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: { 'x-caller': caller, ...headers } })
}

const nextUtcMidnight = () => {
  const now = new Date()
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString()
}

describe('budget options', () => {
  it.each([
    ['a misspelled option', { limt: '$5/day' }, /plugins\.budget\.limt: unknown option; did you mean "limit"\?/],
    ['a budget without a dollar sign', { limit: '5/day' }, /plugins\.budget\.limit: "5\/day" is not a budget like "\$50\/month"/],
    ['a period that is neither calendar nor sliding', { limit: '$5/fortnight' }, /plugins\.budget\.limit: .*"day" or "month" \(calendar, UTC\), or a sliding window/],
    ['a level budget that is not a string', { levels: { pro: 500 } }, /plugins\.budget\.levels\.pro: must be a budget/],
    ['an unknown scope', { limit: '$5/day', scope: 'team' }, /plugins\.budget\.scope: must be one of "key", "ip", "route", "global"/],
    ['an unpriced policy it does not know', { limit: '$5/day', unpriced: 'ignore' }, /plugins\.budget\.unpriced: must be "refuse" or "allow"/],
    ['no budget at all', {}, /plugins\.budget: sets no budget/],
    ['a model pattern with a star inside', { models: { 'gpt-*-mini': '$1/day' } }, /plugins\.budget\.models\.gpt-\*-mini: must be a model name, or a prefix/],
  ])('refuses %s, naming the field', (_name, options, message) => {
    expect(() => budget(options as any)).toThrow(ConfigError)
    expect(() => budget(options as any)).toThrow(message)
  })

  it('reads calendar and sliding periods, and several budgets at once', () => {
    expect(parseBudget('$50/month')).toEqual([{ nano: 50e9, kind: 'calendar', unit: 'month', windowMs: 31 * 86_400_000, text: '$50/month' }])
    expect(parseBudget('$5/24h')[0]).toMatchObject({ nano: 5e9, kind: 'sliding', windowMs: 86_400_000 })
    expect(parseBudget('$0.25/hour')[0]).toMatchObject({ nano: 25e7, kind: 'sliding', windowMs: 3_600_000 })
    expect(parseBudget('$5/day; $50/month').map((i) => i.unit)).toEqual(['day', 'month'])
  })
})

describe('budget', () => {
  it('admits exactly as many of 200 concurrent requests as the budget holds (50 × 1¢ in $0.50)', async () => {
    const client = clientFor()
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.chat.completions.create({ model: FLAT, messages })))
    const passed = results.filter((r) => r.status === 'fulfilled')
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(passed).toHaveLength(50)
    expect(refused).toHaveLength(150)
    for (const r of refused) expect(r.reason).toMatchObject({ status: 429, code: 'budget_exceeded', type: 'rate_limit_error' })
    const error = refused[0].reason as InstanceType<typeof OpenAI.APIError>
    expect(error.message).toContain('Budget exceeded for everyone: $0.5/day (UTC), $0.5 spent, and this request may cost up to $0.01.')
    expect(error.message).toContain(`It resets at ${nextUtcMidnight()}`)
    expect(error.headers?.get('x-aifd-budget-limit')).toBe('0.5')
    expect(error.headers?.get('x-aifd-budget-remaining')).toBe('0')
    expect(error.headers?.get('x-aifd-budget-reset')).toBe(nextUtcMidnight())
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0)
  })

  it('gives each caller its own budget, by level and by name', async () => {
    const count = async (caller: string, level?: string) => {
      const client = clientFor('/keyed', caller, level ? { 'x-level': level } : {})
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => client.chat.completions.create({ model: FLAT, messages })))
      return results.filter((r) => r.status === 'fulfilled').length
    }
    const suffix = randomUUID()
    expect(await count(`basic-${suffix}`)).toBe(2)
    expect(await count(`pro-${suffix}`, 'pro')).toBe(5)
    expect(await count('vip', 'pro')).toBe(3)
  })

  it('reserves the worst case, then settles to what the answer really cost', async () => {
    const client = clientFor('/real')
    const prompt = countChatTokens(messages, 'gpt-4o-mini')
    // gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens; the worst case is the prompt and 200 tokens out.
    const reserve = Math.ceil(prompt * 150 + 200 * 600)
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 200 }).withResponse()
    expect(first.response.headers.get('x-aifd-budget-limit')).toBe('1')
    expect(Number(first.response.headers.get('x-aifd-budget-remaining')) * 1e9).toBeCloseTo(1e9 - reserve, 0)
    const usage = first.data.usage!
    const spent = Math.round(usage.prompt_tokens * 150 + usage.completion_tokens * 600)
    expect(spent).toBeLessThan(reserve)
    await sleep(100)
    const second = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 200 }).withResponse()
    // What is left after the first settled and the second reserved.
    expect(Number(second.response.headers.get('x-aifd-budget-remaining')) * 1e9).toBeCloseTo(1e9 - spent - reserve, 0)
  })

  it('settles a stream to the usage it asked the upstream for, and hides that event from the client', async () => {
    const client = clientFor('/real')
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 100, stream: true })
    let usageChunks = 0
    for await (const chunk of stream) if (chunk.usage) usageChunks++
    expect(usageChunks).toBe(0)
    expect(JSON.parse(String(mock.requests.at(-1)?.body))).toMatchObject({ stream_options: { include_usage: true } })
  })

  it('refunds a request the upstream failed', async () => {
    const client = clientFor('/month')
    await expect(client.chat.completions.create({ model: FLAT, messages }, { headers: { 'x-mock-status': '500' } })).rejects.toMatchObject({ status: 500 })
    await sleep(100)
    await client.chat.completions.create({ model: FLAT, messages })
    // The month's cent is now spent: the message names the budget and the first of next month.
    const error = await client.chat.completions.create({ model: FLAT, messages }).catch((e) => e)
    expect(error).toMatchObject({ status: 429, code: 'budget_exceeded' })
    const now = new Date()
    expect(error.message).toContain(`$0.01/month (UTC), $0.01 spent`)
    expect(error.message).toContain(`It resets at ${new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString()}`)
  })

  it('frees a sliding budget as its window moves on', async () => {
    const client = clientFor('/sliding')
    await client.chat.completions.create({ model: FLAT, messages })
    await client.chat.completions.create({ model: FLAT, messages })
    const refused = await client.chat.completions.create({ model: FLAT, messages }).catch((e) => e)
    expect(refused).toMatchObject({ status: 429, code: 'budget_exceeded' })
    expect(refused.message).toContain('$0.02/1500ms (sliding)')
    expect(refused.message).toMatch(/Enough of it frees up at \d{4}-/)
    await sleep(1600)
    await expect(client.chat.completions.create({ model: FLAT, messages })).resolves.toBeTruthy()
  })

  it('holds a per-model budget beside the caller’s own', async () => {
    const client = clientFor('/models')
    await client.chat.completions.create({ model: FLAT, messages })
    const error = await client.chat.completions.create({ model: FLAT, messages }).catch((e) => e)
    expect(error).toMatchObject({ status: 429, code: 'budget_exceeded' })
    expect(error.message).toMatch(/Budget exceeded for key "caller-[^"]+" on flat-\*: \$0\.01\/day/)
    // Other models are held by the $1/day budget only.
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 10 })).resolves.toBeTruthy()
  })

  it('refuses a request that could never fit, and a model without a price unless told to allow it', async () => {
    const tooBig = await clientFor('/keyed').chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 100_000 }).catch((e) => e)
    expect(tooBig).toMatchObject({ status: 429, code: 'budget_exceeded' })
    expect(tooBig.message).toMatch(/may cost up to \$1\.0\d+ \(its prompt plus its output cap\), more than the whole budget of \$0\.02\/day/)
    const unpriced = await clientFor('/keyed').chat.completions.create({ model: 'mystery-model', messages }).catch((e) => e)
    expect(unpriced).toMatchObject({ status: 400, code: 'model_unpriced' })
    expect(unpriced.message).toContain('`mystery-model` has no price')
    await expect(clientFor('/lenient').chat.completions.create({ model: 'mystery-model', messages })).resolves.toBeTruthy()
  })

  it('budgets Anthropic messages through @anthropic-ai/sdk, settled to the reported usage at Claude’s price', async () => {
    const caller = `claude-${randomUUID()}`
    const client = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: 'sk-ant-test', maxRetries: 0, defaultHeaders: { 'x-caller': caller } })
    const ask = () => client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 100, messages: [{ role: 'user', content: 'price me' }] }).withResponse()
    const first = await ask()
    const reserved = 1 - Number(first.response.headers.get('x-aifd-budget-remaining'))
    // claude-3-5-haiku: $0.80 in (its cache write, $1, is the worst case), $4 out per 1M tokens.
    const spent = (first.data.usage.input_tokens * 0.8 + first.data.usage.output_tokens * 4) / 1e6
    expect(reserved).toBeGreaterThan(spent)
    await sleep(100)
    const second = await ask()
    expect(Number(second.response.headers.get('x-aifd-budget-remaining'))).toBeCloseTo(1 - spent - reserved, 9)
  })

  it('budgets Gemini generateContent, the model read from the path', async () => {
    const caller = `gemini-${randomUUID()}`
    const post = () => fetch(`${gw.url}/gemini/v1beta/models/gemini-2.0-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'gk-test', 'x-caller': caller },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'price me too' }] }], generationConfig: { maxOutputTokens: 50 } }),
    })
    const first = await post()
    const usage = (await first.json()).usageMetadata
    expect(first.headers.get('x-aifd-budget-limit')).toBe('1')
    const reserved = 1 - Number(first.headers.get('x-aifd-budget-remaining'))
    // gemini-2.0-flash: $0.10 in, $0.40 out per 1M tokens; the worst case is the prompt and maxOutputTokens.
    expect(reserved).toBeCloseTo((countTokens('price me too', 'gemini-2.0-flash') * 0.1 + 50 * 0.4) / 1e6, 9)
    const spent = (usage.promptTokenCount * 0.1 + (usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0)) * 0.4) / 1e6
    await sleep(100)
    const second = await post()
    expect(Number(second.headers.get('x-aifd-budget-remaining'))).toBeCloseTo(1 - spent - reserved, 9)
  })

  it('works with the keys plugin: forward keys by level', async () => {
    const alice = `fk-alice-${randomUUID()}`
    const bob = `fk-bob-${randomUUID()}`
    const keyed = await startTestGateway({
      prices,
      routes: {
        openai: {
          path: '/', target: mock.url, plugins: [
            keys({ levels: { basic: { keys: ['sk-real-1'] }, pro: { keys: ['sk-real-2'] } }, forwardKeys: { alice: { key: alice, level: 'basic' }, bob: { key: bob, level: 'pro' } } }),
            budget({ limit: '$0.01/day', levels: { pro: '$0.03/day' } }),
          ],
        },
      },
    })
    try {
      const passes = async (key: string) => {
        const client = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: key, maxRetries: 0 })
        const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.chat.completions.create({ model: FLAT, messages })))
        return results.filter((r) => r.status === 'fulfilled').length
      }
      expect(await passes(alice)).toBe(1)
      expect(await passes(bob)).toBe(3)
    } finally {
      await keyed.stop()
    }
  })
})
