import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { containersLabelled, docker, OOMLAB, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';
import { readReportFile } from '../../src/7-report/index.ts';

// Kills the real dockerd (SIGKILL) 12 s into the flagship run, as a crashed engine would die. Everyone on
// this engine loses it for a minute: the test runs only when asked to (OOMLAB_TEST_KILL_DOCKERD=1), under
// the shared lock. What a dead engine leaves mounted under /var/lib/docker would be shadowed by the next
// dockerd's bind of its data root; `oomlab clean` starts that dockerd only after letting go of it.
const asked = process.env.OOMLAB_TEST_KILL_DOCKERD === '1';

it('a dockerd killed mid-run: the run ends with a report, and `oomlab clean` leaves no container behind', async ({ skip }) => {
  if (!asked) skip('kills the shared dockerd: set OOMLAB_TEST_KILL_DOCKERD=1 (and hold the shared lock) to run it');
  await withTempDir(async (dir) => {
    const child = execa(OOMLAB, ['run', 'scenarios/nofile-oom.ts', '--reports-dir', dir], { cwd: PROJECT_ROOT, reject: false, all: true });
    await new Promise((r) => setTimeout(r, 12_000));
    const { stdout } = await execa('pgrep', ['-x', 'dockerd']);
    for (const pid of stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');

    const result = await child;
    expect(result.exitCode, result.all).toBe(2);
    const folder = (await readdir(dir)).find((f) => f.endsWith('-nofile-oom'))!;
    const report = (await readReportFile(join(dir, folder, 'report.json'))).report;
    expect(report.endedBy).toBe('error');

    const cleaned = await runCli(['clean']);
    expect(cleaned.exitCode, cleaned.all).toBe(0);
    expect(cleaned.all).not.toContain('stuck');
    expect(await containersLabelled(`oomlab.run=${report.runId}`), cleaned.all).toEqual([]);
    expect(await docker.ping()).toBeTruthy();
  });
}, 300_000);
