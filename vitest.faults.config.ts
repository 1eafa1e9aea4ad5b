import { defineConfig } from 'vitest/config';

// Fault tests stop and restart shared services: one file at a time, after the main suite.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
