import { createRequire } from 'node:module'
import { Tiktoken } from 'tiktoken/lite'
import { describe, expect, it } from 'vitest'
import { countChatTokens, countTokens, encodingForModel } from '../../src/index.ts'

describe('token counting', () => {
  it('counts with the encoding each model uses', () => {
    expect(encodingForModel('gpt-4o-mini')).toBe('o200k_base')
    expect(encodingForModel('gpt-4-turbo')).toBe('cl100k_base')
    expect(encodingForModel('gpt-3.5-turbo')).toBe('cl100k_base')
    expect(encodingForModel('some-local-model')).toBe('o200k_base')
    expect(countTokens('hello world')).toBe(2)
    expect(countTokens('')).toBe(0)
    // Chinese text: the reason tiktoken (not a characters/4 guess) counts the budgets.
    expect(countTokens('你好，世界', 'gpt-4o')).toBeLessThan(countTokens('你好，世界', 'gpt-3.5-turbo') + 1)
  })

  it('gives the same count for a long message the second time (memoised) and after eviction', () => {
    const long = 'The quick brown fox jumps over the lazy dog. '.repeat(40)
    const first = countTokens(long, 'gpt-4o')
    expect(first).toBeGreaterThan(300)
    expect(countTokens(long, 'gpt-4o')).toBe(first)
    // Same text, other encoding: counted separately, not served from the other's memo.
    expect(countTokens(long, 'gpt-3.5-turbo')).not.toBe(0)
    // Push well past the memo's bound, then count again.
    const page = 'Pack my box with five dozen liquor jugs. '.repeat(500)
    for (let i = 0; i < 220; i++) countTokens(`${i} ${page}`, 'gpt-4o')
    expect(countTokens(long, 'gpt-4o')).toBe(first)
  })

  it('counts a chat prompt as OpenAI bills it (3 per message + 3 to prime the reply)', () => {
    const messages = [{ role: 'user', content: 'hello world' }]
    expect(countChatTokens(messages, 'gpt-4o')).toBe(3 + 3 + countTokens('user') + 2)
  })
})

const require = createRequire(import.meta.url)

describe('token counting on hostile input', () => {
  it('a prompt that is one long run of one character is counted quickly, not in quadratic time', () => {
    const started = performance.now()
    const count = countTokens('x'.repeat(100_000), 'gpt-4o')
    // Behaviour, not speed: the count is sane, and the call returns at all within the test's timeout
    // (counting it whole takes minutes: 20 000 characters alone took 0.35 s).
    expect(count).toBeGreaterThan(100)
    expect(count).toBeLessThan(100_000)
    expect(performance.now() - started).toBeLessThan(15_000)
  })

  it('slicing keeps counts of ordinary long text close to exact', () => {
    const text = 'Pack my box with five dozen liquor jugs. '.repeat(200)
    // The exact count, encoded whole with tiktoken itself.
    const ranks = require('tiktoken/encoders/o200k_base.json')
    const whole = new Tiktoken(ranks.bpe_ranks, ranks.special_tokens, ranks.pat_str)
    const exact = whole.encode(text, 'all').length
    whole.free()
    expect(Math.abs(countTokens(text, 'gpt-4o') - exact)).toBeLessThanOrEqual(Math.ceil(text.length / 1024) * 2)
  })
})
