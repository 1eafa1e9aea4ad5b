import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'lint/**/*.test.js', 'jobs/**/*.test.ts', 'migrations/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts'],
    exclude: ['test/faults/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // two cores: end-to-end suites each start servers, so keep file parallelism modest
    maxWorkers: 2,
    minWorkers: 1,
  },
});
