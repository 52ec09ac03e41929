import { beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/8-run/index.ts';
import { containersLabelled, runScenarioForTest, withTempDir } from './helpers.ts';

// The flagship's nofile=1073741816 slice as the scenario declares it (4g limits, every fix and open_files_limit:
// 2 killed at start-up, 4 alive), one configuration at a time and four at once: side by side must not change a
// verdict, an outcome or a figure that decides one. The slice holds every outcome of the 15 configurations in 32 s
// of CI instead of 81 s; `npm run bench:flagship` compares the whole matrix.
const GiB = 1024 ** 3;
const SLICE = ['image=oomlab/mariadb:10.11', 'nofile=1073741816'];
let serial: RunReport;
let parallel: RunReport;

beforeAll(async () => {
  await withTempDir(async (reportsDir) => {
    ({ report: serial } = await runScenarioForTest({ scenarioPath: 'scenarios/nofile-oom.ts', only: SLICE, reportsDir, jobs: 1 }, 280_000));
    ({ report: parallel } = await runScenarioForTest({ scenarioPath: 'scenarios/nofile-oom.ts', only: SLICE, reportsDir, jobs: 4 }, 280_000));
  });
}, 600_000);

const decided = (report: RunReport) => report.configs.map((c) => [c.id, c.verdict, c.outcome, c.metrics.openFilesLimit ?? null]);

describe("the flagship's nofile=1073741816 slice serial and with --jobs 4", () => {
  it('gives the same verdicts, outcomes and open_files_limit, configuration by configuration, in the same order', () => {
    const ran = serial.configs.filter((c) => c.verdict !== 'skipped');
    expect(ran.length).toBe(6);
    expect(new Set(ran.map((c) => c.outcome))).toEqual(new Set(['oom-killed-at-startup', 'survived']));
    expect(decided(parallel)).toEqual(decided(serial));
    expect(parallel.summary).toEqual(serial.summary);
  });

  it('records the concurrency each configuration ran under', () => {
    expect(serial.jobs).toMatchObject({ jobs: 1, source: 'option' });
    expect(parallel.jobs).toMatchObject({ jobs: 4, source: 'option' });
    const ran = (report: RunReport) => report.configs.filter((c) => c.verdict !== 'skipped');
    expect(new Set(ran(serial).map((c) => c.concurrency?.runningAtMost))).toEqual(new Set([1]));
    const most = Math.max(...ran(parallel).map((c) => c.concurrency!.runningAtMost));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    // Every configuration's limit is 4 GiB: as many as ran at once fit in the budget the run computed.
    expect(most * 4 * GiB).toBeLessThanOrEqual(parallel.jobs!.memoryBudgetBytes!);
    for (const c of ran(parallel)) expect(c.concurrency!.slots[0]).toBeGreaterThanOrEqual(1);
  });

  it('leaves no container of either run behind', async () => {
    expect(await containersLabelled(`oomlab.run=${serial.runId}`)).toEqual([]);
    expect(await containersLabelled(`oomlab.run=${parallel.runId}`)).toEqual([]);
  });
});
