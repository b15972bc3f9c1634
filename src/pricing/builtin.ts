import type { ModelPrice } from './types.ts'

/**
 * Built-in prices in US dollars per million tokens (`request`: per request), by model name or
 * wildcard (`'gpt-4o-20*'` matches by prefix; the longest matching pattern wins, an exact name
 * beats every pattern).
 *
 * Taken 2026-12-07 from the vendors' public price pages as the author knew them, WITHOUT browsing
 * (the gateway's developers had no internet access): https://openai.com/api/pricing,
 * https://www.anthropic.com/pricing#api and https://ai.google.dev/gemini-api/docs/pricing, as of
 * the last versions the author had read (2025). Prices change: check them against those pages and
 * override any entry with the config's `prices` field (or a JSON file) rather than trusting this one.
 *
 * Left out on purpose: audio, image and realtime models (billed per modality, not per text token),
 * and Gemini's higher tier for prompts above 200k tokens (the ≤200k price is used).
 */
export const BUILTIN_PRICES: Readonly<Record<string, ModelPrice>> = {
  // OpenAI. Cached input is the discounted price of prompt tokens served from OpenAI's prompt cache.
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-20*': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-chat-latest': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-mini-20*': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-5-nano-20*': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-20*': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-mini-20*': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4.1-nano-20*': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-20*': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-2024-05-13': { input: 5, output: 15 },
  'chatgpt-4o-latest': { input: 5, output: 15 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'gpt-4o-mini-20*': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'o1': { input: 15, cachedInput: 7.5, output: 60 },
  'o1-20*': { input: 15, cachedInput: 7.5, output: 60 },
  'o1-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o1-mini-20*': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o1-pro': { input: 150, output: 600 },
  'o1-pro-20*': { input: 150, output: 600 },
  'o3': { input: 2, cachedInput: 0.5, output: 8 },
  'o3-20*': { input: 2, cachedInput: 0.5, output: 8 },
  'o3-pro': { input: 20, output: 80 },
  'o3-pro-20*': { input: 20, output: 80 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o3-mini-20*': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'o4-mini-20*': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4-turbo-20*': { input: 10, output: 30 },
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-0613': { input: 30, output: 60 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'gpt-3.5-turbo-0125': { input: 0.5, output: 1.5 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },

  // Anthropic. Cached input is a cache read (0.1× input); cacheWrite the 5-minute cache write (1.25× input).
  'claude-opus-4-5*': { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25 },
  'claude-opus-4*': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-sonnet-4*': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-haiku-4-5*': { input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5 },
  'claude-3-7-sonnet*': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-3-5-sonnet*': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-3-5-haiku*': { input: 0.8, cachedInput: 0.08, cacheWrite: 1, output: 4 },
  'claude-3-opus*': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-3-haiku*': { input: 0.25, cachedInput: 0.03, cacheWrite: 0.3, output: 1.25 },

  // Google Gemini (paid tier, text; prompts up to 200k tokens). Thinking tokens are billed as output.
  'gemini-2.5-pro*': { input: 1.25, cachedInput: 0.31, output: 10 },
  'gemini-2.5-flash*': { input: 0.3, cachedInput: 0.075, output: 2.5 },
  'gemini-2.5-flash-lite*': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gemini-2.0-flash*': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gemini-2.0-flash-lite*': { input: 0.075, output: 0.3 },
  'gemini-1.5-pro*': { input: 1.25, cachedInput: 0.3125, output: 5 },
  'gemini-1.5-flash*': { input: 0.075, cachedInput: 0.01875, output: 0.3 },
  'gemini-1.5-flash-8b*': { input: 0.0375, cachedInput: 0.01, output: 0.15 },
}
