import { defineForwardConfig } from 'openai-forward'
import { translate } from 'openai-forward/plugins'
import { accessLog } from './plugins/access-log.ts'

// The playground forwards to the mock upstream that `npm run playground` starts on :9000,
// so everything works offline. Point `target` at https://api.openai.com for the real thing.
const upstream = process.env.MOCK_UPSTREAM ?? 'http://127.0.0.1:9000'

export default defineForwardConfig({
  routes: {
    openai: {
      path: '/',
      target: upstream,
      type: 'openai',
      plugins: [accessLog()],
    },
    anthropic: { path: '/anthropic', target: upstream, type: 'general', dialect: 'anthropic' },
    gemini: { path: '/gemini', target: upstream, type: 'general', dialect: 'gemini' },
    // OpenAI clients answered by the mock's Anthropic and Gemini APIs, translated both ways.
    claude: { path: '/claude', target: upstream, type: 'openai', plugins: [translate({ to: 'anthropic', models: { 'gpt-4o': 'claude-sonnet-4-5' } })] },
    'gemini-openai': { path: '/gemini-openai', target: upstream, type: 'openai', plugins: [translate({ to: 'gemini', models: { 'gpt-4o': 'gemini-2.5-flash' } })] },
  },
  server: { port: 8000, host: '127.0.0.1' },
})
