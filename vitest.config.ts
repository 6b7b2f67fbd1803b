import { defineConfig } from 'vitest/config';

// The SDK warns that Node 20 support ends in 2027; the Lambdas run on Node 22+, tests on the local Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/long/**', 'node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Test files share one DynamoDB Local; each uses its own table. Two cores: keep it modest.
    maxWorkers: 2,
    reporters: ['default'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
