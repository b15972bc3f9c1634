// Bench: route with only the cache plugin; the bench sends `caching: true` and warms one request first,
// so every measured request is a cache hit.
import { defineForwardConfig } from 'openai-forward'
import { cache } from 'openai-forward/plugins'
import { cacheOptions } from './plugin-options.ts'

export default defineForwardConfig({
  routes: {
    openai: { path: '/', target: process.env.BENCH_UPSTREAM!, type: 'openai', plugins: [cache(cacheOptions)] },
  },
})
