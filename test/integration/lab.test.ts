import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { poll } from '../../src/0-model/poll.ts';
import { bootLab, ensureLabGuest, LAB_RUN_ROOT, LAB_SEED_IMAGE, LAB_SHAPES, labAccel, removeAbandonedLabs } from '../../src/3-runtime/lab/index.ts';

const log = (text: string) => process.stderr.write(`[lab] ${text}\n`);

/** The qemu processes whose command line names this run's folder. */
async function qemusOf(runId: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(`${LAB_RUN_ROOT}/${runId}/`)) pids.push(Number(entry));
  }
  return pids;
}

describe('lab host', () => {
  it('boots the guest, reads a real cgroup v2 file of a container and sees a real OOM kill through the agent, then leaves nothing', async () => {
    const ensured = await ensureLabGuest({ onProgress: log });
    if (ensured.built) log(`guest built in ${ensured.built.buildMs}ms, checked by a boot of ${ensured.built.checkBootMs}ms`);
    const accel = await labAccel(ensured.guest);
    log(`accel ${accel.accel} (${accel.source}): ${accel.why}`);
    const runId = `test-lab-${process.pid}-${randomBytes(3).toString('hex')}`;
    {
      await using vm = await bootLab({ runId, shape: LAB_SHAPES.default, guest: ensured.guest, accel: accel.accel, onProgress: log });
      log(`engine and agent answered ${vm.bootMs}ms after qemu started`);
      expect(await qemusOf(runId)).toEqual([vm.pid]);
      expect(JSON.parse(await readFile(`${LAB_RUN_ROOT}/${runId}/${vm.label.vmId}/label.json`, 'utf8'))).toMatchObject({ runId, ownerPid: process.pid, accel: accel.accel });

      // The guest is what the shape says: cgroup v2 at /sys/fs/cgroup, the THP mode and the overcommit policy of the command line.
      expect(await vm.node.readFile('/sys/fs/cgroup/cgroup.controllers')).toMatch(/\bmemory\b/);
      expect(await vm.node.readFile('/sys/kernel/mm/transparent_hugepage/enabled')).toContain('[madvise]');
      expect((await vm.node.readFile('/proc/sys/vm/overcommit_memory'))?.trim()).toBe('0');
      expect(await vm.node.readFile('/etc/shadow')).toBeUndefined();

      const port = Number(vm.dockerHost.split(':').at(-1));
      const docker = new Docker({ host: '127.0.0.1', port, timeout: 120_000 });
      await docker.getImage(LAB_SEED_IMAGE).inspect();

      const sleeper = await docker.createContainer({ Image: LAB_SEED_IMAGE, Cmd: ['sleep', '600'], HostConfig: { Memory: 64 * 1024 * 1024 } });
      try {
        await sleeper.start();
        const scope = `/sys/fs/cgroup/system.slice/docker-${sleeper.id}.scope`;
        const current = Number(await vm.node.readFile(`${scope}/memory.current`));
        log(`memory.current of a sleeping container: ${current}`);
        expect(current).toBeGreaterThan(0);
        expect((await vm.node.readFile(`${scope}/memory.max`))?.trim()).toBe(String(64 * 1024 * 1024));
        expect(await vm.node.readFile(`${scope}/memory.events`)).toMatch(/^oom_kill 0$/m);
      } finally {
        await sleeper.remove({ force: true });
      }

      // tail keeps a line it never finds the end of: /dev/zero grows it past the 64 MiB limit.
      const oomStarted = performance.now();
      const hog = await docker.createContainer({ Image: LAB_SEED_IMAGE, Cmd: ['tail', '/dev/zero'], HostConfig: { Memory: 64 * 1024 * 1024 } });
      try {
        await hog.start();
        const exit = (await hog.wait()) as { StatusCode: number };
        const state = (await hog.inspect()).State;
        const kernelLog = await vm.node.kernelLog();
        const killed = kernelLog.split('\n').filter((line) => line.includes('Memory cgroup out of memory: Killed process'));
        log(`OOM kill seen ${Math.round(performance.now() - oomStarted)}ms after create: ${killed.at(-1)}`);
        expect(exit.StatusCode).toBe(137);
        expect(state.OOMKilled).toBe(true);
        expect(killed.at(-1)).toMatch(/Memory cgroup out of memory: Killed process \d+ \(tail\) total-vm:\d+kB, anon-rss:\d+kB/);
        expect(kernelLog).toContain(`oom_memcg=/system.slice/docker-${hog.id}.scope`);
      } finally {
        await hog.remove({ force: true });
      }
    }
    expect(await qemusOf(runId)).toEqual([]);
    expect(existsSync(`${LAB_RUN_ROOT}/${runId}`)).toBe(false);
  });

  /** A child that boots a VM (lab-boot-child.ts), once its qemu runs. */
  async function bootingChild(runId: string) {
    const child = execa('node', ['--import', 'tsx', 'test/integration/lab-boot-child.ts', runId], { reject: false });
    const started = await poll(async () => (await qemusOf(runId)).length > 0 || undefined, { intervalMs: 200, timeoutMs: 60_000 });
    expect(started.done).toBe(true);
    // Well into the boot: the kernel and systemd are running, the engine not yet.
    await sleep(5_000);
    return { child };
  }

  it('a SIGINT while the VM boots ends the boot as cancelled and leaves no qemu and no files', async () => {
    const runId = `test-lab-sigint-${process.pid}-${randomBytes(3).toString('hex')}`;
    const { child } = await bootingChild(runId);
    child.kill('SIGINT');
    const result = await child;
    expect(result.stdout).toContain('ended: run cancelled: the lab VM was stopped while it booted');
    expect(await qemusOf(runId)).toEqual([]);
    expect(existsSync(`${LAB_RUN_ROOT}/${runId}`)).toBe(false);
  });

  it('a run killed outright takes its qemu with it, and oomlab clean removes the files it left', async () => {
    const runId = `test-lab-sigkill-${process.pid}-${randomBytes(3).toString('hex')}`;
    const { child } = await bootingChild(runId);
    child.kill('SIGKILL');
    await child;
    // setpriv --pdeathsig: the kernel kills qemu when its parent dies, with no cleanup code running.
    expect((await poll(async () => (await qemusOf(runId)).length === 0 || undefined, { intervalMs: 200, timeoutMs: 10_000 })).done).toBe(true);
    expect(existsSync(`${LAB_RUN_ROOT}/${runId}`)).toBe(true);
    expect((await removeAbandonedLabs()).filter((vm) => vm.runId === runId)).toEqual([{ runId, vmId: expect.stringMatching(/^vm-[0-9a-f]{8}$/) }]);
    expect(existsSync(`${LAB_RUN_ROOT}/${runId}`)).toBe(false);
  });
});
