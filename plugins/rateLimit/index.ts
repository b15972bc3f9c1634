import { definePlugin } from '../../src/index.ts'

// Placeholder while the plugin is being written; it refuses to load rather than pretend to work.
export const rateLimit = definePlugin((_options: Record<string, unknown> = {}) => {
  throw new Error('the rateLimit plugin is not built yet')
})
