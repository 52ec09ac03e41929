import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One engine, one host kernel log: integration files run one at a time.
          fileParallelism: false,
          globalSetup: ['test/integration/global-setup.ts'],
          // Per test file: a session label on everything its runs create, removed in its teardown whatever happened.
          setupFiles: ['test/integration/session.ts'],
          testTimeout: 240_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
