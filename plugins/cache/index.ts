import { definePlugin } from '../../src/index.ts'

// Placeholder while the plugin is being written; it refuses to load rather than pretend to work.
export const cache = definePlugin((_options: Record<string, unknown> = {}) => {
  throw new Error('the cache plugin is not built yet')
})
