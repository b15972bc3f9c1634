// Bench: bare route, no plugins. BENCH_UPSTREAM is set by bench/run.mjs (the mock upstream).
import { defineForwardConfig } from 'openai-forward'

export default defineForwardConfig({
  routes: { openai: { path: '/', target: process.env.BENCH_UPSTREAM!, type: 'openai' } },
})
