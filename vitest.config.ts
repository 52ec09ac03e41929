import { defineConfig } from 'vitest/config';

// When this test run began: an image created after it was built by this run (image-build.test.ts reads it).
process.env.OOMLAB_TEST_RUN_STARTED_MS ??= String(Date.now());

/** Integration tests that need no container engine: they read a recorded report.json and drive Chromium or the CLI. */
const ENGINE_FREE = ['test/integration/report-html.test.ts', 'test/integration/report-cli.test.ts'];
/** Integration tests of the lab VM: they need qemu and the guest (built once, about 4 minutes), not the host's engine. */
const LAB = ['test/integration/lab.test.ts', 'test/integration/lab-numa.test.ts'];

export default defineConfig({
  test: {
    // Both cores for the unit and no-engine files (vitest's default leaves one idle on a 2-core machine); the
    // engine and lab files still run one at a time (fileParallelism: false).
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/integration/**'],
          // They run beside a missing guest's build (debootstrap, mkfs) on two cores: vitest's 5 s timed out a
          // process-group test there that takes 2.5 s on a quiet host.
          testTimeout: 30_000,
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
          name: 'lab',
          include: LAB,
          fileParallelism: false,
          // After unit and no-engine (group 0), before integration (vitest runs projects whose files run one at a
          // time, with no groupOrder, last): never beside the engine tests, as TCG takes both cores of a small machine.
          sequence: { groupOrder: 1 },
          // A missing guest's build (debootstrap, about 2 minutes) starts with the run, beside group 0.
          globalSetup: ['test/integration/lab-global-setup.ts'],
          // A guest built by this run is checked by its first boot, under TCG where KVM does not work.
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...ENGINE_FREE, ...LAB],
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
