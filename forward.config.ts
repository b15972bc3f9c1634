import { defineForwardConfig } from 'openai-forward'

// `npx aifd run` serves this file. As shipped it forwards everything to OpenAI, like the original
// openai-forward, and keeps plugin state in Redis when REDIS_URL is set (docker-compose.yml does).
// See README.md for routes, plugins and storage, or run `npx aifd init` for a commented template.
export default defineForwardConfig({
  routes: {
    openai: { path: '/', target: 'https://api.openai.com', type: 'openai' },
  },
  storage: process.env.REDIS_URL ? { driver: 'redis', url: process.env.REDIS_URL } : { driver: 'memory' },
})
