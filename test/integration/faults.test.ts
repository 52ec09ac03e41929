import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ShellFailedError } from '../../src/0-model/errors.ts';
import { stepActionSchemas, type StepAction, type StepActionName } from '../../src/1-scenario/steps.ts';
import {
  applyFault,
  boundShell,
  buildNofileShim,
  connectEngine,
  containerShell,
  createSideBudget,
  OFFLINE_MARIADB_IMAGE,
  removeRunContainers,
  selectedMode,
  startInstance,
  THP_ENABLED_PATH,
  thpUnswitchableReason,
  type Engine,
  type DockerFaultTarget,
  type SideBudget,
  type StartedInstance,
  type StepContext,
} from '../../src/3-runtime/docker/index.ts';
import { containersLabelled, docker } from './helpers.ts';

// Each fault against real containers: its effect read back from the engine, the host or the kernel,
// then its undo read back the same way.
const run = { runId: `test-faults-${process.pid}`, scenario: 'test-faults' };
const MiB = 1024 ** 2;
let engine: Engine;
let db: StartedInstance;
let sleeper: StartedInstance;
let side: SideBudget;
const logged: string[] = [];

function action<A extends StepActionName>(input: { action: A } & Record<string, unknown>): StepAction {
  return stepActionSchemas[input.action].parse(input) as StepAction;
}

function target(): DockerFaultTarget {
  return {
    engine,
    run,
    configId: 'faults-test',
    configIndex: 0,
    instances: new Map([
      ['db', db],
      ['sleeper', sleeper],
    ]),
    cgroupParents: new Map([['a', side.cgroupParent]]),
    signal: AbortSignal.timeout(60_000),
    log: (line) => logged.push(line),
    cwd: import.meta.dirname,
  };
}

async function qdiscOf(containerId: string): Promise<string> {
  const pid = (await docker.getContainer(containerId).inspect()).State.Pid;
  const { stdout } = await promisify(execFile)('nsenter', ['-t', String(pid), '-n', 'tc', 'qdisc', 'show', 'dev', 'eth0']);
  return stdout;
}

/** How long a TCP handshake with the server's published port takes (its SYN-ACK leaves through eth0). */
function connectMs(port: number, giveUpMs = 10_000): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(performance.now() - started);
    });
    socket.setTimeout(giveUpMs, () => {
      socket.destroy();
      reject(new Error(`no handshake within ${giveUpMs}ms`));
    });
    socket.on('error', reject);
  });
}

async function kernelHasNetem(): Promise<boolean> {
  // Tried on the loopback of the db's own namespace: nothing else sees it.
  const pid = String((await docker.getContainer(db.containerId).inspect()).State.Pid);
  const added = await promisify(execFile)('nsenter', ['-t', pid, '-n', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']).then(
    () => true,
    () => false,
  );
  if (added) await promisify(execFile)('nsenter', ['-t', pid, '-n', 'tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
  return added;
}

async function nftTableOf(containerId: string): Promise<string> {
  const pid = String((await docker.getContainer(containerId).inspect()).State.Pid);
  return promisify(execFile)('nsenter', ['-t', pid, '-n', 'nft', 'list', 'table', 'inet', 'oomlab_chaos']).then(
    (r) => r.stdout,
    () => '',
  );
}

beforeAll(async () => {
  engine = await connectEngine();
  const context = { engine, run, configId: 'faults-test', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim };
  side = await createSideBudget(run.runId, 0, 'a', 256 * MiB);
  db = await startInstance({ name: 'db', image: OFFLINE_MARIADB_IMAGE, memory: 512 * MiB, mycnf: { innodb_buffer_pool_size: '32M' } }, context);
  sleeper = await startInstance({ name: 'sleeper', role: 'neighbour', image: OFFLINE_MARIADB_IMAGE, memory: 128 * MiB, entrypoint: ['perl', '-e', 'sleep 600'] }, context);
  const ready = await Promise.all([db.waitReady(60_000, AbortSignal.timeout(60_000)), sleeper.waitReady(10_000, AbortSignal.timeout(10_000))]);
  for (const r of ready) if (!r.ready) throw new Error(`instance not ready: ${r.why}`);
});

afterAll(async () => {
  await Promise.allSettled([db?.[Symbol.asyncDispose](), sleeper?.[Symbol.asyncDispose]()]);
  await removeRunContainers(engine, run.runId);
  await side?.remove();
  expect(await containersLabelled(`oomlab.run=${run.runId}`)).toEqual([]);
});

describe('fault actions, their effect and their undo', () => {
  it('pause freezes the container and its undo unpauses it, twice without error', async () => {
    const applied = await applyFault(action({ action: 'pause', instance: 'sleeper' }), target());
    expect(applied.detail).toBe('sleeper paused (every process frozen)');
    expect((await docker.getContainer(sleeper.containerId).inspect()).State.Paused).toBe(true);
    await applied.undo!();
    await applied.undo!();
    expect((await docker.getContainer(sleeper.containerId).inspect()).State.Paused).toBe(false);
  });

  it('limit lowers memory and CPU on the live container and its undo restores them', async () => {
    const applied = await applyFault(action({ action: 'limit', instance: 'db', memory: '384m', cpus: 0.5 }), target());
    expect(applied.detail).toBe('memory limit 512 MiB → 384 MiB, cpus none → 0.5');
    // The undo reads in the direction it goes, and the new limit travels as data for the run's `limit` observations.
    expect(applied.undoDetail).toBe('memory limit 384 MiB → 512 MiB, cpus 0.5 → none');
    expect(applied.memoryLimit).toEqual({ instance: 'db', ownBytes: 384 * MiB, undoneOwnBytes: 512 * MiB });
    let host = (await docker.getContainer(db.containerId).inspect()).HostConfig;
    expect([host.Memory, host.MemorySwap, host.NanoCpus]).toEqual([384 * MiB, 384 * MiB, 0.5e9]);
    await applied.undo!();
    host = (await docker.getContainer(db.containerId).inspect()).HostConfig;
    expect([host.Memory, host.MemorySwap]).toEqual([512 * MiB, 512 * MiB]);
    // What the kernel enforces: no CFS quota, as before the fault (the engine's record keeps NanoCpus: `docker update` cannot clear it).
    expect(await readFile(`/sys/fs/cgroup/cpu/docker/${db.containerId}/cpu.cfs_quota_us`, 'utf8')).toBe('-1\n');
  });

  it('limit below what the kernel can reclaim is one clear line', async () => {
    // The server holds more than 8 MiB it cannot give back (no swap): cgroup v1 refuses with EBUSY.
    const error = await applyFault(action({ action: 'limit', instance: 'db', memory: '8m' }), target()).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^limit db: the kernel refused a memory limit of 8 MiB below what the container uses \(\d+(\.\d)? MiB\) and could not reclaim down to it — give a limit above its usage, or start a neighbour to squeeze it instead$/,
    );
    expect((await docker.getContainer(db.containerId).inspect()).HostConfig.Memory).toBe(512 * MiB);
  });

  it('network adds netem delay on eth0 (a handshake takes at least the delay) and its undo removes the qdisc', async ({ skip }) => {
    if (!(await kernelHasNetem())) skip('this kernel has no netem (CONFIG_NET_SCH_NETEM is not set): the nftables fallback is tested instead');
    const applied = await applyFault(action({ action: 'network', instance: 'db', delay: '300ms', loss: '0%' }), target());
    expect(applied.detail).toBe('netem delay 300ms loss 0% on eth0 of db');
    expect(await qdiscOf(db.containerId)).toMatch(/qdisc netem 8\w*: root .*delay 300ms/);
    expect(await connectMs(db.port!)).toBeGreaterThanOrEqual(300);
    await applied.undo!();
    await applied.undo!();
    expect(await qdiscOf(db.containerId)).not.toMatch(/netem/);
  });

  it('without netem, a partition drops the egress of eth0 with nftables (a handshake does not complete) and its undo removes the table', async ({ skip }) => {
    if (await kernelHasNetem()) skip('this kernel has netem: the fallback is not used');
    await expect(applyFault(action({ action: 'network', instance: 'db', delay: '200ms' }), target())).rejects.toThrow(
      'network db: this kernel has no netem (CONFIG_NET_SCH_NETEM), so a delay of 200ms cannot be emulated — loss and partition still work (dropped by nftables); run delays on a kernel with sch_netem',
    );
    const applied = await applyFault(action({ action: 'network', instance: 'db', partition: true }), target());
    expect(applied.detail).toBe("nftables drop 100% of eth0's egress of db (partition) (no netem in this kernel)");
    expect(await nftTableOf(db.containerId)).toMatch(/oifname "eth0" drop/);
    await expect(connectMs(db.port!, 1_500)).rejects.toThrow('no handshake within 1500ms');
    await applied.undo!();
    await applied.undo!();
    expect(await nftTableOf(db.containerId)).toBe('');
    expect(await connectMs(db.port!, 5_000)).toBeGreaterThanOrEqual(0);
  });

  it('neighbour starts a labelled tenant in the side budget and its undo removes it', async () => {
    const applied = await applyFault(action({ action: 'neighbour', memory: '64m', image: OFFLINE_MARIADB_IMAGE, side: 'a' }), target());
    expect(applied.detail).toMatch(/^neighbour neighbour-\d+ holding 64 MiB in side a$/);
    const tenants = await containersLabelled(`oomlab.run=${run.runId}`);
    const tenant = tenants.find((c) => c.Labels['oomlab.instance']?.startsWith('neighbour-'));
    expect(tenant?.State).toBe('running');
    expect((await docker.getContainer(tenant!.Id).inspect()).HostConfig.CgroupParent).toBe(side.cgroupParent);
    await applied.undo!();
    await applied.undo!();
    expect((await containersLabelled(`oomlab.run=${run.runId}`)).map((c) => c.Id)).not.toContain(tenant!.Id);
  });

  it('cpu-hog runs its busy loops and its undo removes it', async () => {
    const applied = await applyFault(action({ action: 'cpu-hog', image: OFFLINE_MARIADB_IMAGE, workers: 1, cpusetCpus: '0' }), target());
    expect(applied.detail).toMatch(/^cpu-hog cpu-hog-\d+: 1 busy loop on cpus 0$/);
    const hog = (await containersLabelled(`oomlab.run=${run.runId}`)).find((c) => c.Labels['oomlab.instance']?.startsWith('cpu-hog-'));
    const top = (await docker.getContainer(hog!.Id).top()) as { Processes: string[][] };
    // The shell and the subshell spinning.
    expect(top.Processes.length).toBeGreaterThanOrEqual(2);
    await applied.undo!();
    expect((await containersLabelled(`oomlab.run=${run.runId}`)).map((c) => c.Id)).not.toContain(hog!.Id);
  });

  it('a fault naming an image the engine lacks is one line, and nothing is created', async () => {
    const before = (await containersLabelled(`oomlab.run=${run.runId}`)).length;
    await expect(applyFault(action({ action: 'cpu-hog', image: 'oomlab/absent:0' }), target())).rejects.toThrow(
      'cpu-hog: image oomlab/absent:0 is not on this host (faults never pull) — `oomlab images` lists what this host has, `oomlab images load FILE` brings a saved one',
    );
    expect((await containersLabelled(`oomlab.run=${run.runId}`)).length).toBe(before);
  });

  it('thp switches the host mode and its undo restores it', async ({ skip }) => {
    const reason = await thpUnswitchableReason();
    if (reason) skip(reason);
    const original = selectedMode(await readFile(THP_ENABLED_PATH, 'utf8'))!;
    const mode = original === 'never' ? 'madvise' : 'never';
    const applied = await applyFault(action({ action: 'thp', mode }), target());
    expect(applied.detail).toBe(`THP ${original} → ${mode}`);
    expect(selectedMode(await readFile(THP_ENABLED_PATH, 'utf8'))).toBe(mode);
    await applied.undo!();
    expect(selectedMode(await readFile(THP_ENABLED_PATH, 'utf8'))).toBe(original);
  });

  it('drop-caches says how much page cache it freed', async () => {
    const applied = await applyFault(action({ action: 'drop-caches' }), target());
    expect(applied.detail).toMatch(/^page cache dropped: [\d.]+ [KMG]?i?B → [\d.]+ [KMG]?i?B \([\d.]+ [KMG]?i?B freed\)$/);
    expect(applied.undo).toBeUndefined();
  });

  it('restart gives the server a new pid, and kill sends the signal', async () => {
    const pidBefore = (await docker.getContainer(sleeper.containerId).inspect()).State.Pid;
    const restarted = await applyFault(action({ action: 'restart', instance: 'sleeper', graceMs: 0 }), target());
    const after = (await docker.getContainer(sleeper.containerId).inspect()).State;
    expect(after.Running).toBe(true);
    expect(after.Pid).not.toBe(pidBefore);
    expect(restarted.detail).toBe(`sleeper restarted (stop with 0ms grace, then start; pid ${pidBefore} → ${after.Pid})`);
    const pending = [
      await applyFault(action({ action: 'pause', instance: 'sleeper' }), target()),
      await applyFault(action({ action: 'limit', instance: 'sleeper', memory: '96m' }), target()),
      await applyFault(action({ action: 'network', instance: 'sleeper', partition: true }), target()),
    ];
    await docker.getContainer(sleeper.containerId).unpause();
    const killed = await applyFault(action({ action: 'kill', instance: 'sleeper', signal: 'SIGKILL' }), target());
    expect(killed.detail).toBe('SIGKILL sent to sleeper');
    const state = (await docker.getContainer(sleeper.containerId).inspect()).State;
    expect([state.Running, state.ExitCode]).toEqual([false, 137]);
    // Undo after the container died: nothing to put back in a namespace that is gone, and no error.
    for (const fault of pending) await fault.undo!();
  });
});

describe('zx shells', () => {
  const awkward = `it's "quoted" $HOME and spaced`;

  it('container.$ quotes an argument as one word, and a non-zero exit rejects with its output', async () => {
    const lines: string[] = [];
    const $in = containerShell(engine, db.containerId, { signal: AbortSignal.timeout(20_000), log: (l) => lines.push(l), name: 'db' });
    const echoed = await $in`printf '%s|' ${awkward} ${['a b', 'c']}`;
    expect(echoed).toEqual({ stdout: `${awkward}|a b|c|`, stderr: '', exitCode: 0 });
    const failure = await $in`echo partial; echo broken >&2; exit 3`.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ShellFailedError);
    expect(failure).toMatchObject({ stdout: 'partial\n', stderr: 'broken\n', exitCode: 3, message: '`echo partial; echo broken >&2; exit 3` in db exited with 3: broken' });
    // stdout and stderr are two streams: their relative order is the engine's.
    expect([...lines.slice(0, 3), ...lines.slice(3, 5).sort(), lines[5]]).toEqual([
      `[db] $ printf '%s|' $'it\\'s "quoted" $HOME and spaced' $'a b' c`,
      `[db] ${awkward}|a b|c|`,
      '[db] $ echo partial; echo broken >&2; exit 3',
      '[db] broken',
      '[db] partial',
      '[db] exited with 3',
    ]);
  });

  it('container.$ honours the signal: the command is killed and the call rejects as cancelled', async () => {
    const controller = new AbortController();
    const $in = containerShell(engine, db.containerId, { signal: controller.signal, log: () => {}, name: 'db' });
    const pending = $in`sleep 30`.then(
      () => undefined,
      (e: unknown) => e as ShellFailedError,
    );
    setTimeout(() => controller.abort(), 500);
    const error = (await pending)!;
    expect([error.message, error.exitCode]).toEqual(['`sleep 30` in db was cancelled', null]);
    const left = await containerShell(engine, db.containerId, { signal: AbortSignal.timeout(10_000), log: () => {} })`ps -eo comm`;
    expect(left.stdout.split('\n')).not.toContain('sleep');
  });

  it('the bound $ runs in the run folder, and its verbose output goes to the log, not the terminal', async () => {
    const lines: string[] = [];
    const write = { out: vi.spyOn(process.stdout, 'write'), err: vi.spyOn(process.stderr, 'write') };
    try {
      const $ = boundShell({ cwd: '/tmp', env: { OOMLAB_STEP: 'x' }, signal: AbortSignal.timeout(20_000), log: (l) => lines.push(l) });
      const out = await $`printf '%s|' ${awkward} "$OOMLAB_STEP" "$PWD"`;
      expect(out.stdout).toBe(`${awkward}|x|/tmp|`);
      const failure = await $({ nothrow: false })`echo to-err >&2; exit 4`.catch((e: unknown) => e as { exitCode: number; stderr: string });
      expect([failure.exitCode, failure.stderr]).toEqual([4, 'to-err\n']);
      const written = [...write.out.mock.calls, ...write.err.mock.calls].map((c) => String(c[0]));
      expect(written.filter((text) => /printf|to-err/.test(text))).toEqual([]);
    } finally {
      write.out.mockRestore();
      write.err.mockRestore();
    }
    expect(lines).toEqual([
      `$ printf '%s|' $'it\\'s "quoted" $HOME and spaced' "$OOMLAB_STEP" "$PWD"`,
      `${awkward}|x|/tmp|`,
      '$ echo to-err >&2; exit 4',
      'to-err',
      expect.stringMatching(/^exit 4 after \d+ms$/),
    ]);
  });

  it('a run step gets $ and container.$, and its output is what its commands printed', async () => {
    const applied = await applyFault(
      action({
        action: 'run',
        instance: 'db',
        run: async ({ $, container, log }: StepContext) => {
          await $`echo host-side`;
          await container!.$`echo inside ${'the db'}`;
          log('done');
        },
      }),
      target(),
    );
    expect(applied.output).toBe("$ echo host-side\nhost-side\n[db] $ echo inside $'the db'\n[db] inside the db\ndone\n");
    const failed = (await applyFault(action({ action: 'run', run: async ({ $ }: StepContext) => void (await $`echo before; false`) }), target()).catch((e: unknown) => e)) as {
      message: string;
      output: string;
    };
    expect(failed.message).toMatch(/^run step failed: /);
    expect(failed.output).toMatch(/^\$ echo before; false\nbefore\nexit 1 after \d+ms\n$/);
  });
});
