import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/8-run/index.ts';
import { parseReport } from '../../src/0-model/parse-report.ts';
import { containersLabelled, runScenarioForTest, withTempDir } from './helpers.ts';

// --repeat 2 on a tiny matrix of the flagship scenario: two configurations that start in seconds
// (nofile 1073741816 emulated, 1g): one OOM-killed at start-up, one fixed by `ulimit -n 4096`.
const SET = ['memory=1g', 'nofile=1073741816', 'image=oomlab/mariadb:10.11', 'open_files_limit=explicit', 'fix=none,ulimit-4096'];

let report: RunReport;
let runId: string;

beforeAll(async () => {
  await withTempDir(async (reportsDir) => {
    const outcome = await runScenarioForTest({ scenarioPath: 'scenarios/nofile-oom.ts', set: SET, reportsDir, repeat: 2 }, 540_000);
    const file = join(outcome.reportDir, 'report.json');
    report = parseReport(await readFile(file, 'utf8'), file);
    runId = outcome.report.runId;
  });
});

describe('--repeat 2 against the real engine', () => {
  it('runs each configuration twice and records both repeats, each with its verdict, outcome, figures and duration', () => {
    expect(report.configs.map((c) => c.axes.fix)).toEqual(['none', 'ulimit-4096']);
    for (const config of report.configs) {
      expect(config.repeats?.map((r) => r.repeat)).toEqual([1, 2]);
      for (const run of config.repeats!) {
        expect(run.endedBy).toBe('done');
        expect(run.durationMs).toBeGreaterThan(0);
        expect(run.figures.memoryLimitBytes).toBe(1024 ** 3);
        expect(run.margins.length).toBeGreaterThan(0);
      }
    }
  });

  it('gives each configuration the verdict both repeats agree on', () => {
    const [killed, fixed] = report.configs;
    expect(killed!.repeats!.map((r) => [r.verdict, r.outcome])).toEqual([
      ['pass', 'oom-killed-at-startup'],
      ['pass', 'oom-killed-at-startup'],
    ]);
    expect(killed!.verdict).toBe('pass');
    expect(killed!.reason).toMatch(/\(2 of 2 repeats agree\)$/);
    expect(fixed!.repeats!.map((r) => [r.verdict, r.outcome, r.figures.openFilesLimit])).toEqual([
      ['pass', 'survived', 4096],
      ['pass', 'survived', 4096],
    ]);
    expect(report.summary).toEqual({ pass: 2, fail: 0, skipped: 0, error: 0, flaky: 0 });
  });

  it('says how far each repeat was from its limit', () => {
    const fixed = report.configs[1]!;
    expect(fixed.margins!.find((m) => m.what === 'db peak memory')?.line).toMatch(/^db peak \d+ MiB of 1 GiB: \d+ MiB short of the limit$/);
    expect(report.configs[0]!.margins![0]!.line).toMatch(/^db killed at 1 GiB, its limit: the memory model puts its start-up at \d+(\.\d)? GiB, \d+(\.\d)? GiB over$/);
  });

  it('leaves no container behind', async () => {
    expect(await containersLabelled(`oomlab.run=${runId}`)).toEqual([]);
  });
});
