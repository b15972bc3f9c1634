import { defineForwardConfig } from 'openai-forward'
import { keys, ipFilter, rateLimit, tokenLimit, cache, retry, chatLog } from 'openai-forward/plugins'

// Every built-in plugin on one route, as in the README. Against the playground's mock upstream:
//   npm run build && node playground/start.mjs   (then stop it and run this config instead), or
//   MOCK_UPSTREAM=http://127.0.0.1:9000 npx aifd dev --config playground/full.config.ts
// and call it with the forward key fk-playground-alice.
const upstream = process.env.MOCK_UPSTREAM ?? 'http://127.0.0.1:9000'

export default defineForwardConfig({
  routes: {
    openai: {
      path: '/',
      target: upstream,
      type: 'openai',
      timeout: { connect: '10s', headers: '600s', idle: '300s' },
      plugins: [
        ipFilter({ allow: ['127.0.0.1', '::1'] }),
        keys({
          levels: {
            default: { models: '*', keys: [process.env.OPENAI_API_KEY ?? 'sk-playground-1', 'sk-playground-2'] },
            basic: { models: ['gpt-4o-mini', 'gpt-3.5*'], keys: ['sk-playground-3'] },
          },
          forwardKeys: {
            alice: { key: 'fk-playground-alice', level: 'default' },
            bob: { key: 'fk-playground-bob', level: 'basic' },
          },
        }),
        rateLimit({ limit: '60/minute;600/hour' }),
        tokenLimit({ limit: '100k/minute', pace: '200/second' }),
        cache({ ttl: '1h' }),
        retry({ attempts: 3 }),
        chatLog({ dir: 'Log' }),
      ],
    },
    gemini: { path: '/gemini', target: upstream, type: 'general', dialect: 'gemini' },
    anthropic: { path: '/anthropic', target: upstream, type: 'general', dialect: 'anthropic' },
  },
  storage: process.env.REDIS_URL ? { driver: 'redis', url: process.env.REDIS_URL } : { driver: 'memory' },
  server: { port: 8000, host: '127.0.0.1' },
})
