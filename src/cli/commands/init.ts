import { existsSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineCommand } from 'citty'
import { consola } from 'consola'

const TEMPLATE = `import { defineForwardConfig } from 'openai-forward'
// Built-in plugins; call each with its options inside a route's \`plugins: [...]\`.
// import { keys, ipFilter, rateLimit, tokenLimit, cache, retry, chatLog } from 'openai-forward/plugins'

export default defineForwardConfig({
  // Each route forwards a path prefix to an upstream. The name (here "openai") shows in logs and metrics.
  routes: {
    openai: {
      path: '/',
      target: 'https://api.openai.com',
      type: 'openai', // understands OpenAI bodies, models and usage; 'general' forwards any API opaquely
      // timeout: { connect: '10s', headers: '600s', idle: '300s' },
      plugins: [
        // rateLimit({ limit: '60/minute' }),
        // cache({ ttl: '1h' }),
        // retry({ attempts: 3 }),
        // chatLog(),
      ],
    },
    // gemini: { path: '/gemini', target: 'https://generativelanguage.googleapis.com', type: 'general' },
    // localai: { path: '/localai', target: 'http://localhost:8080', type: 'openai' },
  },

  // Plugins here run on every route, before the route's own.
  plugins: [],

  // Where plugins keep state: memory (default), fs, or redis (shared by every instance).
  // storage: { driver: 'redis', url: process.env.REDIS_URL },

  server: { port: 8000, host: '0.0.0.0' },
})
`

export default defineCommand({
  meta: { name: 'init', description: 'Write a commented forward.config.ts to start from' },
  args: { force: { type: 'boolean', description: 'Overwrite an existing forward.config.ts' } },
  run({ args }) {
    const file = resolve('forward.config.ts')
    if (existsSync(file) && !args.force) {
      consola.error(`${file} exists; use --force to overwrite it`)
      process.exitCode = 1
      return
    }
    writeFileSync(file, TEMPLATE)
    consola.success(`wrote ${file}; start it with: npx aifd run`)
  },
})
