import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseRepeat } from '../../src/9-cli/commands/run.ts';
import { exitCodeOf } from '../../src/9-cli/commands/summary.ts';
import type { RunReport } from '../../src/0-model/report.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('--repeat K', () => {
  it('takes a whole number from 1 up', () => {
    expect(parseRepeat('5')).toBe(5);
    expect(parseRepeat('1')).toBe(1);
  });

  it.each(['0', 'x', '-2', '2.5', ''])('refuses `%s` with one line that says what to give', (value) => {
    expect(() => parseRepeat(value)).toThrow(`--repeat takes a whole number of runs per configuration from 1 up, got \`${value}\` — e.g. --repeat 5`);
  });

  it('exits 2 with that one line and writes nothing, before any engine or scenario is touched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oomlab-repeat-'));
    try {
      for (const value of ['0', 'x']) {
        const result = await execa('./oomlab', ['run', 'scenarios/nofile-oom.ts', '--repeat', value, '--reports-dir', dir], { cwd: ROOT, reject: false });
        expect(result.exitCode).toBe(2);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toContain(`--repeat takes a whole number of runs per configuration from 1 up, got \`${value}\``);
      }
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('counts a flaky configuration as a failure for the exit code: a nightly job must notice', () => {
    const summary = { pass: 4, fail: 0, skipped: 1, error: 0 };
    const report = { endedBy: 'done', summary } as unknown as RunReport;
    expect(exitCodeOf(report)).toBe(0);
    expect(exitCodeOf({ ...report, summary: { ...summary, flaky: 1 } })).toBe(1);
    expect(exitCodeOf({ ...report, summary: { ...summary, flaky: 0 } })).toBe(0);
  });
});
