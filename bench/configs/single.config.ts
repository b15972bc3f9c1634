// Bench: one built-in plugin alone on the route, named by BENCH_PLUGIN (bench/plugins.mjs sets it),
// with the same options as in the full route (translate, not on it: to Anthropic). Without
// BENCH_PLUGIN the route is bare.
import { defineForwardConfig } from 'openai-forward'
import { keys, ipFilter, rateLimit, tokenLimit, budget, cache, retry, chatLog, translate } from 'openai-forward/plugins'
import {
  keysOptions, ipFilterOptions, rateLimitOptions, tokenLimitOptions, budgetOptions, cacheOptions, retryOptions, chatLogOptions,
} from './plugin-options.ts'

const plugins = {
  ipFilter: () => ipFilter(ipFilterOptions),
  keys: () => keys(keysOptions),
  rateLimit: () => rateLimit(rateLimitOptions),
  tokenLimit: () => tokenLimit(tokenLimitOptions),
  budget: () => budget(budgetOptions),
  cache: () => cache(cacheOptions),
  retry: () => retry(retryOptions),
  chatLog: () => chatLog(chatLogOptions),
  // OpenAI requests answered by the mock's Anthropic Messages API, translated both ways.
  translate: () => translate({ to: 'anthropic' }),
}
const name = process.env.BENCH_PLUGIN as keyof typeof plugins | undefined
if (name !== undefined && !(name in plugins)) throw new Error(`BENCH_PLUGIN must be one of ${Object.keys(plugins).join(', ')}`)

export default defineForwardConfig({
  routes: {
    openai: { path: '/', target: process.env.BENCH_UPSTREAM!, type: 'openai', plugins: name ? [plugins[name]()] : [] },
  },
})
