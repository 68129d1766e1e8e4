import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests run real redis-server and ffmpeg processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['vitest.global-setup.ts'],
    // `npm run coverage`, and every CI run (CI=true): V8 coverage of the packages' sources, in
    // this process and its test workers (child processes a test starts are not counted).
    coverage: {
      enabled: process.env.CI === 'true',
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', 'packages/shared/src/testing/**'],
      reporter: ['json-summary', 'text-summary'],
      reportsDirectory: 'coverage',
    },
  },
})
