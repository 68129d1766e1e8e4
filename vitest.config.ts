import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests run real redis-server and ffmpeg processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
