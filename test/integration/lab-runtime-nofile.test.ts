import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readReportFile } from '../../src/7-report/index.ts';
import { OOMLAB, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';
import { execa } from 'execa';

// scenarios/runtime-nofile.ts through the CLI: three lab VMs booted in turn (about 5 minutes under TCG), so it
// runs only when asked (OOMLAB_TEST_LAB_RUNTIMES=1), under the shared lock.
const asked = process.env.OOMLAB_TEST_LAB_RUNTIMES === '1';

it('runtime-nofile: the 2019-Docker unit survives, containerd with infinity is OOM-killed with the 16 GiB table, each with its real /proc limit', async ({ skip }) => {
  if (!asked) skip('boots three lab VMs (minutes under TCG): set OOMLAB_TEST_LAB_RUNTIMES=1 (and hold the shared lock) to run it');
  await withTempDir(async (dir) => {
    const result = await execa(OOMLAB, ['run', 'scenarios/runtime-nofile.ts', '--reports-dir', dir], { cwd: PROJECT_ROOT, reject: false, all: true });
    expect(result.exitCode, result.all).toBe(0);
    const folder = (await readdir(dir)).find((f) => f.endsWith('-runtime-nofile'))!;
    const { report } = await readReportFile(join(dir, folder, 'report.json'));
    expect(report.emulated).toEqual([]);
    expect(report.labs?.map((lab) => lab.shape)).toEqual(['docker-2019', 'containerd-infinity', 'runtime-today']);
    const byRuntime = new Map(report.configs.map((c) => [c.axes.runtime, c]));
    const proc = (runtime: string) => byRuntime.get(runtime)!.observations.find((o) => o.kind === 'nofile')?.proc;
    expect(byRuntime.get('docker-2019')).toMatchObject({ ranOn: 'lab:docker-2019', outcome: 'survived' });
    expect(proc('docker-2019')).toMatchObject({ soft: 1_048_576, hard: 1_048_576 });
    const containerd = byRuntime.get('containerd-1.7')!;
    expect(containerd).toMatchObject({ ranOn: 'lab:containerd-infinity', outcome: 'oom-killed-at-startup' });
    expect(proc('containerd-1.7')).toMatchObject({ soft: 1_073_741_816, hard: 1_073_741_816 });
    // The kernel's own line: the 16 GiB table is in the killed process's total-vm.
    const killed = containerd.observations.flatMap((o) => (o.kind === 'kernel-oom' ? [o] : []));
    expect(Math.max(0, ...killed.map((o) => o.totalVmKb))).toBeGreaterThan(16 * 1024 * 1024);
    expect(await readFile(join(dir, folder, 'report.md'), 'utf8')).not.toContain('emulated');
    const cleaned = await runCli(['clean']);
    expect(cleaned.exitCode, cleaned.all).toBe(0);
  });
}, 1_200_000);
