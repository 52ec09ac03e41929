// The lab VM as a real Runtime: one boot of the default shape (cgroup v2) serves a short run through `--host lab`'s
// runtime; the guest's cgroup v2 series are non-empty, a container is OOM-killed and the kill is read from the guest's
// kernel log; afterwards no qemu and no file is left. Then SIGINT and SIGKILL during a boot. The same run with
// MariaDB copied into the guest is opt-in (OOMLAB_LAB_FULL=1).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { poll } from '../../src/0-model/poll.ts';
import type { Runtime } from '../../src/3-runtime/index.ts';
import { ensureLabGuest, LAB_RUN_ROOT, LAB_SEED_IMAGE, labAccel, labRuntime, removeAbandonedLabs } from '../../src/3-runtime/lab/index.ts';
import { PROJECT_ROOT, runScenarioForTest, withTempDir } from './helpers.ts';

const log = (text: string) => process.stderr.write(`[lab] ${text}\n`);

/** The qemu processes whose command line names this run's folder (every lab run's, without a run id). */
async function qemusOf(runId = ''): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(`${LAB_RUN_ROOT}/${runId}`)) pids.push(Number(entry));
  }
  return pids;
}

// What every lab run here must show: the guest read through the run's own connection before its configurations
// start, its cgroup v2 series non-empty for `instance`, and the neighbour `hog` killed by the memcg OOM as the
// guest's kernel log says.
async function runInLab(scenarioText: string, instance: string, options: { configTimeoutMs: number; timeoutMs: number }) {
  const ensured = await ensureLabGuest({ onProgress: log });
  if (ensured.built) log(`guest built in ${ensured.built.buildMs}ms; the run's boot checks it`);
  const accel = await labAccel(ensured.guest);
  log(`accel ${accel.accel} (${accel.source}): ${accel.why}`);
  // A room of 1 GiB: once booted, a ballast holds all the 2 GiB guest has available but that (LabShape.roomMiB).
  const lab = labRuntime(HOST);
  const seen: Record<string, string | undefined> = {};
  // The guest is what the shape says, read through the run's own connection before its configurations start.
  const runtime: Runtime = {
    ...lab,
    async connect(connectOptions) {
      const connection = await lab.connect(connectOptions);
      seen.qemus = String((await qemusOf()).length);
      for (const path of ['/sys/fs/cgroup/cgroup.controllers', '/sys/kernel/mm/transparent_hugepage/enabled', '/proc/sys/vm/overcommit_memory', '/etc/shadow'])
        seen[path] = await connection.node.readFile(path);
      return {
        ...connection,
        // The room is held once the images are in, before the configurations: read what it left, and the ballast, right then.
        async holdRoom(onProgress) {
          const room = await connection.holdRoom!(onProgress);
          seen['/proc/meminfo'] = await connection.node.readFile('/proc/meminfo');
          // The ballast, found by the name the kernel's task table will show, among the processes of the agent's cgroup (v2) that started it.
          const procs = (await connection.node.readFile('/sys/fs/cgroup/system.slice/oomlab-agent.service/cgroup.procs')) ?? '';
          for (const pid of procs.split('\n').filter((line) => /^\d+$/.test(line))) {
            if ((await connection.node.readFile(`/proc/${pid}/comm`))?.trim() !== 'oomlab-ballast') continue;
            seen.ballastStatus = await connection.node.readFile(`/proc/${pid}/status`);
            seen.ballastAdj = await connection.node.readFile(`/proc/${pid}/oom_score_adj`);
          }
          return room;
        },
      };
    },
  };
  const qemusBefore = (await qemusOf()).length;
  await withTempDir(async (reportsDir) => {
    const file = join(reportsDir, 'lab-run.ts');
    await writeFile(file, scenarioText);
    const { report } = await runScenarioForTest({ scenarioPath: file, reportsDir, runtime, configTimeoutMs: options.configTimeoutMs }, options.timeoutMs);
    log(`boot ${report.host.lab?.bootMs}ms, ${report.images.map((i) => `${i.name} ${i.source}${i.copiedInMs !== undefined ? ` in ${i.copiedInMs}ms` : ''}`).join(', ')}, run ${report.durationMs}ms`);
    expect(seen.qemus).toBe(String(qemusBefore + 1));
    expect(seen['/sys/fs/cgroup/cgroup.controllers']).toMatch(/\bmemory\b/);
    expect(seen['/sys/kernel/mm/transparent_hugepage/enabled']).toContain('[madvise]');
    expect(seen['/proc/sys/vm/overcommit_memory']?.trim()).toBe('0');
    expect(seen['/etc/shadow']).toBeUndefined();

    expect(report.host).toMatchObject({ cgroupVersion: 2, lab: { host: HOST, shape: 'default', accel: accel.accel, cgroup: 'v2' } });
    // The room: MemAvailable after the ballast within 64 MiB of the 1 GiB asked, held by a process the OOM killer never picks.
    const room = report.host.lab!.room!;
    log(`room: ${JSON.stringify(room)}; ballast ${seen.ballastStatus?.match(/^VmRSS:.*$/m)?.[0]}`);
    expect(room.roomMiB).toBe(1024);
    expect(room.ballastMiB).toBeGreaterThan(300);
    expect(Math.abs(room.leftMiB! - 1024)).toBeLessThan(64);
    expect(Number(/^MemAvailable:\s+(\d+) kB$/m.exec(seen['/proc/meminfo'] ?? '')?.[1]) / 1024).toBeLessThan(1024 + 64);
    expect(seen.ballastAdj?.trim()).toBe('-1000');
    expect(Number(/^RssAnon:\s+(\d+) kB$/m.exec(seen.ballastStatus ?? '')?.[1]) / 1024).toBeGreaterThanOrEqual(room.ballastMiB);
    expect(report.host.lab!.bootMs).toBeGreaterThan(0);
    expect(report.emulated).toEqual([]);
    const [config] = report.configs;
    expect(config!.verdict, config!.reason).toBe('pass');
    const samples = (metric: string) => config!.observations.filter((o) => o.kind === 'sample' && o.instance === instance && o.metric === metric);
    // The guest's cgroup v2 files, through the agent: memory, anonymous memory, page cache, CPU and pressure.
    // Every sample a number: v1's memoryFailcnt sampled on v2 wrote nulls, and the report.json could not be read back.
    const notNumbers = config!.observations.filter((o) => o.kind === 'sample' && !Number.isFinite(o.value));
    expect(notNumbers.map((o) => (o.kind === 'sample' ? `${o.instance} ${o.metric}` : '')).slice(0, 3)).toEqual([]);
    for (const metric of ['memoryUsageBytes', 'memoryRssBytes', 'memoryCacheBytes', 'cpuUserTicksPerSecond', 'memoryPressureSomeUsPerSecond']) {
      expect(samples(metric).length, `${instance} ${metric} series`).toBeGreaterThan(0);
    }
    expect(Math.max(...samples('memoryUsageBytes').map((o) => (o.kind === 'sample' ? o.value : 0)))).toBeGreaterThan(10 * 1024 ** 2);
    // The guest's node counters, not this host's.
    expect(config!.observations.some((o) => o.kind === 'sample' && o.source === 'host' && o.metric === 'contextSwitchesPerSecond')).toBe(true);
    const kill = config!.observations.find((o) => o.kind === 'kernel-oom' && o.instance === 'hog');
    log(`hog's kill: ${kill?.kind === 'kernel-oom' ? `${kill.line} / ${kill.constraintLine}` : 'none'}`);
    expect(kill?.kind === 'kernel-oom' && kill.line).toMatch(/Memory cgroup out of memory: Killed process \d+ \(tail\) total-vm:\d+kB, anon-rss:\d+kB/);
    expect(kill?.kind === 'kernel-oom' && kill.memcg).toMatch(/^\/system\.slice\/docker-[0-9a-f]{64}\.scope$/);
    expect(config!.observations.find((o) => o.kind === 'container-state' && o.instance === 'hog')).toMatchObject({ oomKilled: true, exitCode: 137 });
  });
  expect((await qemusOf()).length).toBe(qemusBefore);
}

// The hog beside the instance under watch is what the memcg OOM killer takes: `tail` keeps a line it never finds the
// end of, and /dev/zero grows it past 64 MiB.
const HOG = `hog: { role: 'neighbour', image: '${LAB_SEED_IMAGE}', memory: '64m', entrypoint: ['sh', '-c', 'sleep 8; exec tail /dev/zero'] },`;

// CI's lab run needs only the seed image every guest holds, so no image is copied in: `app` writes a file (page
// cache), holds 32 MiB in a shell variable (anonymous memory) and rewrites the file every second (CPU), sampled with no
// workload from time zero until the hog's kill ends the settle.
const seedScenario = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'lab-run',
  incident: 'the lab VM as a runtime: series on cgroup v2 and a kernel OOM kill in the guest',
  matrix: { memory: ['256m'] },
  instances: (c) => ({
    app: {
      role: 'neighbour',
      image: '${LAB_SEED_IMAGE}',
      memory: c.memory,
      settleMs: 90_000,
      entrypoint: ['sh', '-c', 'x=$(head -c 33554432 /dev/zero | tr "\\\\\\\\0" a); while :; do dd if=/dev/zero of=/tmp/cache bs=1M count=24 2>/dev/null; sleep 1; done'],
    },
    ${HOG}
  }),
  expect: () => ({ app: { outcome: 'survived', because: '32 MiB of anonymous memory and 24 MiB of page cache in 256m' } }),
});
`;

// The same with MariaDB under a short storm (copied from this host's engine into the guest, once per image set: a
// writable boot and minutes of loading under TCG), opt-in: OOMLAB_LAB_FULL=1.
const mariadbScenario = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'lab-run',
  incident: 'the lab VM as a runtime: series on cgroup v2 and a kernel OOM kill in the guest',
  matrix: { memory: ['512m'] },
  instances: (c) => ({
    db: { image: 'oomlab/mariadb:10.11', memory: c.memory, mycnf: { innodb_buffer_pool_size: '64M', performance_schema: 'OFF' }, readyTimeoutMs: 150_000, settleMs: 2_000 },
    ${HOG.replace('sleep 8', 'sleep 2')}
  }),
  workload: () => ({
    kind: 'storm',
    target: 'db',
    stages: [{ targetPerSecond: 8, durationMs: 5_000 }],
    session: { queries: 2, thinkMs: 10, holdMs: 0 },
    mix: [{ sql: 'SELECT SLEEP(0.05)', weight: 1 }],
    drainMs: 5_000,
    sampleIntervalMs: 500,
  }),
  expect: () => ({ db: { outcome: 'survived', because: '64M of buffer pool in 512m' } }),
});
`;

const FULL = process.env.OOMLAB_LAB_FULL === '1';
const HOST = 'lab,room=1g';

describe('lab host', () => {
  it('runs a scenario in one boot of the default shape: cgroup v2 series, a kernel OOM kill from the guest, nothing left', async () => {
    await runInLab(seedScenario, 'app', { configTimeoutMs: 240_000, timeoutMs: 420_000 });
  });

  it.skipIf(!FULL)('runs MariaDB under a storm in the guest, copied in from this host (opt-in: OOMLAB_LAB_FULL=1)', async () => {
    await runInLab(mariadbScenario, 'db', { configTimeoutMs: 280_000, timeoutMs: 420_000 });
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
