// Bench: the same route with every plugin enabled (cache misses: requests don't set `caching`).
// Plugin option shapes live in ./plugin-options.ts (best guess, easy to fix).
import { defineForwardConfig } from 'openai-forward'
import { keys, ipFilter, rateLimit, tokenLimit, cache, retry, chatLog } from 'openai-forward/plugins'
import {
  keysOptions, ipFilterOptions, rateLimitOptions, tokenLimitOptions, cacheOptions, retryOptions, chatLogOptions,
} from './plugin-options.ts'

export default defineForwardConfig({
  routes: {
    openai: {
      path: '/',
      target: process.env.BENCH_UPSTREAM!,
      type: 'openai',
      plugins: [
        ipFilter(ipFilterOptions),
        keys(keysOptions),
        rateLimit(rateLimitOptions),
        tokenLimit(tokenLimitOptions),
        cache(cacheOptions),
        retry(retryOptions),
        chatLog(chatLogOptions),
      ],
    },
  },
})
