import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/8-run/index.ts';
import { parseReport } from '../../src/0-model/parse-report.ts';
import { renderJson } from '../../src/7-report/index.ts';
import { PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';

// A real burst-oom report.json (captured from a run here) stands in for a run, so these CLI paths
// need no containers: re-rendering and the baseline comparison read nothing but report.json.
const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/report-burst-oom.json');

describe('oomlab report', () => {
  it('re-renders md, html and junit from report.json and leaves report.json as it was', async () => {
    await withTempDir(async (dir) => {
      const run = join(dir, 'run');
      await mkdir(run);
      await copyFile(FIXTURE, join(run, 'report.json'));
      const before = await readFile(join(run, 'report.json'), 'utf8');
      const result = await runCli(['report', run]);
      // The fixture's run had a failed expectation: the exit code says so, as the run's did.
      expect(result.exitCode, result.all).toBe(1);
      expect((await readdir(run)).sort()).toEqual(['junit.xml', 'report.html', 'report.json', 'report.md']);
      expect(await readFile(join(run, 'report.json'), 'utf8')).toBe(before);
      expect(await readFile(join(run, 'report.md'), 'utf8')).toContain('# oomlab: burst-oom');
    });
  });

  it('marks regressions against a baseline and exits 1', async () => {
    await withTempDir(async (dir) => {
      const report = JSON.parse(await readFile(FIXTURE, 'utf8')) as RunReport;
      const run = join(dir, 'run');
      await mkdir(run);
      // The run: the configuration that survived now dies (as a regression would show in CI).
      const regressed = structuredClone(report);
      const survivor = regressed.configs.find((c) => c.outcome === 'survived')!;
      survivor.outcome = 'oom-killed-under-load';
      survivor.verdict = 'fail';
      regressed.summary = { ...regressed.summary, pass: regressed.summary.pass - 1, fail: regressed.summary.fail + 1 };
      await writeFile(join(run, 'report.json'), JSON.stringify(regressed));
      await writeFile(join(dir, 'baseline.json'), JSON.stringify(report));

      const result = await runCli(['report', run, '--baseline', join(dir, 'baseline.json')]);
      expect(result.exitCode, result.all).toBe(1);
      expect(result.stderr).toContain(`regressed: ${survivor.id}: verdict pass → fail`);
      const rewritten = JSON.parse(await readFile(join(run, 'report.json'), 'utf8')) as RunReport;
      expect(rewritten.baseline?.regressions.map((r) => r.what)).toEqual(['verdict', 'outcome']);
      expect(await readFile(join(run, 'junit.xml'), 'utf8')).toContain('failures="2"');
    });
  });

  it('reads both schema versions: a version-2 report re-rendered against a version-1 baseline, and compared with it', async () => {
    await withTempDir(async (dir) => {
      // The fixture is a real version-1 report; the same run written by this oomlab is version 2.
      const v1 = await readFile(FIXTURE, 'utf8');
      expect(JSON.parse(v1).schemaVersion).toBe(1);
      const run = join(dir, 'run');
      await mkdir(run);
      await writeFile(join(run, 'report.json'), renderJson(parseReport(v1, FIXTURE)));
      const result = await runCli(['report', run, '--baseline', FIXTURE]);
      expect(result.exitCode, result.all).toBe(1);
      expect(result.stderr).toContain('0 regressed against');
      const rewritten = JSON.parse(await readFile(join(run, 'report.json'), 'utf8')) as { schemaVersion: number; baseline?: { compared: number; regressions: unknown[] } };
      expect(rewritten.schemaVersion).toBe(2);
      expect(rewritten.baseline?.regressions).toEqual([]);
      expect(await readFile(join(run, 'report.md'), 'utf8')).toContain('# oomlab: burst-oom');
      const compared = await runCli(['compare', FIXTURE, run, '--out', join(dir, 'cmp')]);
      expect(compared.exitCode, compared.all).toBe(0);
      expect(compared.stdout).toContain('**4 configuration(s) compared: 0 changed outcome, 0 changed verdict, 0 moved peak memory, 0 moved p99 latency, 0 changed @@open_files_limit.**');
    });
  });

  it('rejects a baseline that is not a report, or of another scenario, in one line with exit 2', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'not-json.json'), 'hello');
      const other = JSON.parse(await readFile(FIXTURE, 'utf8')) as RunReport;
      other.scenario = 'nofile-oom';
      await writeFile(join(dir, 'other.json'), JSON.stringify(other));
      const bad = await runCli(['report', FIXTURE, '--baseline', join(dir, 'not-json.json')]);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/not-json.json is not JSON .* give the report.json an oomlab run wrote/);
      const mismatch = await runCli(['report', FIXTURE, '--baseline', join(dir, 'other.json')]);
      expect(mismatch.exitCode).toBe(2);
      expect(mismatch.stderr).toMatch(/is a report of `nofile-oom`, not `burst-oom`/);
    });
  });

  it('oomlab run with an unreadable baseline stops before anything starts: one line, exit 2, nothing written', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['run', 'scenarios/nofile-oom.ts', '--baseline', join(dir, 'missing.json'), '--reports-dir', join(dir, 'reports')]);
      expect(result.exitCode, result.all).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/no report at .*missing.json — give a run folder under reports\/ or its report.json/);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});
