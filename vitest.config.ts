import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    alias: {
      'openai-forward/plugins': new URL('./plugins/index.ts', import.meta.url).pathname,
      'openai-forward': new URL('./src/index.ts', import.meta.url).pathname,
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'plugins/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Test files start servers and child processes; two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
})
