import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: the fast reliability tests (also part of `npm test`) plus the long
 * ones under test/reliability/long (full chaos, restart, soak, full benchmark-quick check).
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    // Long tests run worker processes of their own: one file at a time on two cores.
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
