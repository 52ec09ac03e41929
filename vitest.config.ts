import { defineConfig } from 'vitest/config';

// When this test run began: an image created after it was built by this run (image-build.test.ts reads it).
process.env.OOMLAB_TEST_RUN_STARTED_MS ??= String(Date.now());

/** Integration tests that need no container engine: they read a recorded report.json and drive Chromium or the CLI. */
const ENGINE_FREE = ['test/integration/report-html.test.ts', 'test/integration/report-cli.test.ts'];

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
          name: 'no-engine',
          include: ENGINE_FREE,
          // Installing Chromium on first use may take minutes; the tests themselves take seconds.
          testTimeout: 240_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ENGINE_FREE,
          // One engine, one host kernel log: integration files run one at a time.
          fileParallelism: false,
          // Per test file: the engine and the offline image (built once, then found), then a session label on
          // everything its runs create, removed in its teardown whatever happened.
          setupFiles: ['test/integration/engine-setup.ts', 'test/integration/session.ts'],
          testTimeout: 240_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
