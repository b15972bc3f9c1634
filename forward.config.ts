import { defineForwardConfig } from 'openai-forward'

// `npx aifd run` serves this file. As shipped it forwards everything to OpenAI, like the original
// openai-forward. See README.md for routes, plugins and storage, or run `npx aifd init`.
export default defineForwardConfig({
  routes: {
    openai: { path: '/', target: 'https://api.openai.com', type: 'openai' },
  },
})
