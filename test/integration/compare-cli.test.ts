import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { OOMLAB, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';

// Captured reports stand in for runs: compare reads nothing but report.json, so no container starts.
const NOFILE = join(PROJECT_ROOT, 'test/fixtures/report-nofile-oom.json');
const BURST = join(PROJECT_ROOT, 'test/fixtures/report-burst-oom.json');

describe('oomlab compare', () => {
  it('writes compare.md and compare.html into --out and prints the md', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'cmp');
      const result = await runCli(['compare', NOFILE, NOFILE, '--out', out]);
      expect(result.exitCode, result.all).toBe(0);
      expect((await readdir(out)).sort()).toEqual(['compare.html', 'compare.md']);
      expect(`${result.stdout}\n`).toBe(await readFile(join(out, 'compare.md'), 'utf8'));
      expect(result.stdout).toContain('**15 configuration(s) compared: 0 changed outcome, 0 changed verdict, 0 moved peak memory, 0 changed @@open_files_limit.**');
      expect(result.stderr).toBe(`compare: ${out}/compare.html`);
    });
  });

  it('writes into reports/<time>-compare/ by default', async () => {
    await withTempDir(async (dir) => {
      const result = await execa(OOMLAB, ['compare', NOFILE, NOFILE], { cwd: dir, reject: false, all: true });
      expect(result.exitCode, result.all).toBe(0);
      const [folder] = await readdir(join(dir, 'reports'));
      expect(folder).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-compare$/);
      expect((await readdir(join(dir, 'reports', folder!))).sort()).toEqual(['compare.html', 'compare.md']);
    });
  });

  it('compares runs of different scenarios and says so in a line', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['compare', BURST, NOFILE, '--out', dir]);
      expect(result.exitCode, result.all).toBe(0);
      expect(result.stdout.split('\n')).toContain('> A is a run of `burst-oom` and B of `nofile-oom`: configurations are matched by their axes all the same.');
    });
  });

  it('refuses a missing report, a file that is not JSON, and a wrong number of runs: one line, exit 2, nothing written', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'cmp');
      await writeFile(join(dir, 'notes.txt'), 'peak was fine\n');
      const missing = await runCli(['compare', NOFILE, join(dir, 'nothing'), '--out', out]);
      expect([missing.exitCode, missing.stderr]).toEqual([2, `oomlab: OomlabError: no report at ${join(dir, 'nothing')} — give a run folder under reports/ or its report.json`]);
      const notJson = await runCli(['compare', join(dir, 'notes.txt'), NOFILE, '--out', out]);
      expect(notJson.exitCode).toBe(2);
      expect(notJson.stderr).toMatch(new RegExp(`^oomlab: OomlabError: ${join(dir, 'notes.txt')} is not JSON \\(.*\\) — give the report.json an oomlab run wrote$`));
      const one = await runCli(['compare', NOFILE, '--out', out]);
      expect([one.exitCode, one.stderr]).toEqual([
        2,
        'oomlab: UsageError: oomlab compare needs two runs, got 1: e.g. `oomlab compare reports/<time>-nofile-oom reports/<time>-nofile-oom` (run folders or their report.json)',
      ]);
      expect(await readdir(dir)).toEqual(['notes.txt']);
    });
  });
});
