import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeAbandonedLabs } from '../../src/3-runtime/lab/index.ts';

async function vmFolder(root: string, runId: string, vmId: string, ownerPid: number): Promise<string> {
  const dir = join(root, runId, vmId);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'label.json'), JSON.stringify({ runId, vmId, ownerPid }));
  // A pid that is not a qemu of this folder: clean must not kill it.
  await writeFile(join(dir, 'qemu.pid'), `${process.pid}\n`);
  return dir;
}

describe('oomlab clean and lab VMs', () => {
  it('removes the folders of VMs whose owner is gone, keeps live ones, and kills no process that is not their qemu', async () => {
    const root = await mkdtemp(join(tmpdir(), 'oomlab-lab-clean-'));
    // pid 2**22 + 1 is above any pid_max: never alive.
    const dead = await vmFolder(root, 'run-dead', 'vm-aaaa', 4_194_305);
    const live = await vmFolder(root, 'run-live', 'vm-bbbb', process.ppid);
    expect(await removeAbandonedLabs({ runRoot: root })).toEqual([{ runId: 'run-dead', vmId: 'vm-aaaa' }]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(join(root, 'run-dead'))).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(await removeAbandonedLabs({ runRoot: root, all: true })).toEqual([{ runId: 'run-live', vmId: 'vm-bbbb' }]);
    expect(existsSync(join(root, 'run-live'))).toBe(false);
    await rm(root, { recursive: true, force: true });
  });
});
