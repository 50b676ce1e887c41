import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests start real broker processes; on 2 cores two files at a time is plenty.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
