// One lab VM: qemu booting the guest with a shape, its engine and agent forwarded to 127.0.0.1, and
// its files under /run/oomlab/lab/<runId>/<vmId>/ so that `oomlab clean` finds it whatever happened.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { CancelledError, describeError, OomlabError } from '../../0-model/errors.ts';
import { onPath } from '../../0-model/host.ts';
import { poll } from '../../0-model/poll.ts';
import { currentSession, ownerAlive } from '../docker/labels.ts';
import { agentNode, type AgentNode } from './agent.ts';
import { assertLabShape, labQemuArgs, type LabAccel, type LabPorts, type LabShape } from './shape.ts';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** Where running lab VMs keep their pid and label files (tmpfs: a host reboot leaves none). */
export const LAB_RUN_ROOT = '/run/oomlab/lab';
/** The image every guest's engine holds after boot (lab/guest/files/oomlab-seed.service). */
export const LAB_SEED_IMAGE = 'oomlab/busybox';

/** What the guest build hands to a boot. */
export interface LabGuestFiles {
  kernel: string;
  initrd: string;
  /** The raw disk, or a qcow2 overlay of it that already holds images (image-disk.ts). */
  disk: string;
}

/** The label file of a running VM: who owns it, what it is, and where it answers. */
export interface LabVmLabel {
  runId: string;
  vmId: string;
  ownerPid: number;
  session?: string;
  shape: LabShape;
  accel: LabAccel;
  ports: LabPorts;
  startedAt: string;
}

export interface LabVm extends AsyncDisposable {
  readonly label: LabVmLabel;
  /** `tcp://127.0.0.1:PORT`: the guest's Docker engine, as DOCKER_HOST would name it. */
  readonly dockerHost: string;
  /** The guest's files and kernel log. */
  readonly node: AgentNode;
  /** From qemu's start to the engine answering with its seed image and the agent answering. */
  readonly bootMs: number;
  readonly pid: number;
  /** The 127.0.0.1 port here forwarded to a TCP port of the guest (a container's published port), added while the VM runs. */
  forward(guestPort: number): Promise<number>;
  /** Settles when qemu exits, for whatever reason. */
  readonly exited: Promise<void>;
  /** Kills qemu and removes the VM's files; safe to call twice. */
  stop(): Promise<void>;
}

export interface BootOptions {
  runId: string;
  shape: LabShape;
  guest: LabGuestFiles;
  accel: LabAccel;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  /** @default 300_000 under tcg, 90_000 under kvm */
  timeoutMs?: number;
  /** @default LAB_RUN_ROOT */
  runRoot?: string;
  /** Write the disk instead of a throw-away snapshot: only to fill an image disk. @default false */
  writable?: boolean;
}

/**
 * Installs what the lab runs with apt-get when it is missing (root on Debian), as the engine is installed:
 * qemu-system-x86, and qemu-utils, whose qemu-img makes the image disks that spare a copy of the run's images at
 * every boot (a Recommends that --no-install-recommends leaves out).
 */
export async function ensureQemu(onProgress?: (message: string) => void): Promise<void> {
  const missing = [...((await onPath(QEMU_BINARY)) ? [] : ['qemu-system-x86']), ...((await onPath('qemu-img')) ? [] : ['qemu-utils'])];
  if (missing.length === 0) return;
  if (!(await onPath('apt-get'))) {
    // Without qemu-img a lab still runs, copying its images at each boot.
    if (!missing.includes('qemu-system-x86')) return;
    throw new OomlabError('LAB_BOOT_FAILED', `${QEMU_BINARY} is not installed and there is no apt-get — install QEMU for x86_64`);
  }
  onProgress?.(`installing ${missing.join(', ')} (apt-get), once`);
  try {
    await execa('apt-get', ['update', '-qq'], { timeout: 300_000 });
    await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { timeout: 600_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (error) {
    throw new OomlabError('LAB_BOOT_FAILED', `installing ${missing.join(', ')} failed: ${describeError(error).split('\n')[0]} — install it with apt-get`, { cause: error });
  }
}

/** A free TCP port on 127.0.0.1 now (qemu binds it a moment later; a lost race fails the boot with qemu's message). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function engineReady(port: number): Promise<boolean> {
  const url = `http://127.0.0.1:${port}`;
  try {
    const ping = await fetch(`${url}/_ping`, { signal: AbortSignal.timeout(3_000) });
    if (!ping.ok) return false;
    const seed = await fetch(`${url}/images/${LAB_SEED_IMAGE}/json`, { signal: AbortSignal.timeout(3_000) });
    return seed.ok;
  } catch {
    return false;
  }
}

/** The last non-empty line of the guest console that says something, for a one-line boot error. */
async function consoleTail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((line) => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim())
    .filter(Boolean);
  return lines.at(-1) ?? '(nothing on the console)';
}

/** Boots the guest with a shape and waits for its engine and agent; on every failure path nothing is left running. */
export async function bootLab(options: BootOptions): Promise<LabVm> {
  assertLabShape(options.shape);
  // A cached guest (a CI cache, another checkout's build) does not mean qemu is installed here.
  await ensureQemu(options.onProgress);
  const runRoot = options.runRoot ?? LAB_RUN_ROOT;
  const vmId = `vm-${randomBytes(4).toString('hex')}`;
  const runDir = join(runRoot, options.runId);
  const vmDir = join(runDir, vmId);
  const files = {
    ...options.guest,
    pidFile: join(vmDir, 'qemu.pid'),
    consoleLog: join(vmDir, 'console.log'),
    monitor: join(vmDir, 'monitor.sock'),
    ...(options.writable ? { writable: true } : {}),
  };
  const ports = { engine: await freeLocalPort(), agent: await freeLocalPort() };
  const session = currentSession();
  const label: LabVmLabel = {
    runId: options.runId,
    vmId,
    ownerPid: process.pid,
    ...(session ? { session } : {}),
    shape: options.shape,
    accel: options.accel,
    ports,
    startedAt: new Date().toISOString(),
  };
  await mkdir(vmDir, { recursive: true });
  await writeFile(join(vmDir, 'label.json'), `${JSON.stringify(label, null, 2)}\n`);
  const args = labQemuArgs(options.shape, options.accel, files, ports, `oomlab-lab-${options.runId}-${vmId}`);
  const started = performance.now();
  // setpriv --pdeathsig: qemu dies with this process even when it is killed without a chance to clean up.
  const qemu: ResultPromise<{ reject: false; stdin: 'ignore'; all: true }> = execa('setpriv', ['--pdeathsig', 'KILL', QEMU_BINARY, ...args], {
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  let exited = false;
  const exit = qemu.then((result) => {
    exited = true;
    return result;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      qemu.kill('SIGTERM');
      const killer = setTimeout(() => qemu.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(killer);
    }
    await rm(vmDir, { recursive: true, force: true });
    await rmdir(runDir).catch(() => {});
  };
  const fail = async (what: string): Promise<never> => {
    // The console is the only witness of a failed boot: it outlives the VM's folder.
    const kept = join(tmpdir(), `oomlab-lab-console-${options.runId}-${vmId}.log`);
    await copyFile(files.consoleLog, kept).catch(() => {});
    await stop();
    throw new OomlabError('LAB_BOOT_FAILED', `the lab VM (${options.accel}) did not boot: ${what} — console: ${kept}`);
  };
  const node = agentNode(ports.agent);
  const timeoutMs = options.timeoutMs ?? (options.accel === 'tcg' ? 300_000 : 90_000);
  options.onProgress?.(
    `booting the lab VM under ${options.accel} (${options.shape.vcpus} vCPUs, ${options.shape.memoryMiB} MiB, cgroup ${options.shape.cgroup}${options.shape.numaNodes ? `, ${options.shape.numaNodes.length} NUMA nodes` : ''})`,
  );
  let ready: Awaited<ReturnType<typeof poll<true>>>;
  try {
    ready = await poll(async () => !exited && (await engineReady(ports.engine)) && (await node.answers()) && (true as const), {
      intervalMs: 1_000,
      timeoutMs,
      wake: exit,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    return fail(describeError(error));
  }
  if (!ready.done) {
    if (ready.why === 'cancel') {
      await stop();
      throw new CancelledError('the lab VM was stopped while it booted');
    }
    return fail(`its engine and agent did not answer within ${timeoutMs}ms; last console line: ${await consoleTail(files.consoleLog)}`);
  }
  if (exited) {
    const result = await exit;
    const said = result.all?.trim().split('\n')[0];
    return fail(`qemu exited ${result.exitCode ?? result.signal}${said ? `: ${said}` : ''}; last console line: ${await consoleTail(files.consoleLog)}`);
  }
  const bootMs = Math.round(performance.now() - started);
  const pid = Number((await readFile(files.pidFile, 'utf8').catch(() => '')).trim()) || (qemu.pid ?? 0);
  const forwards = new Map<number, Promise<number>>();
  return {
    label,
    dockerHost: `tcp://127.0.0.1:${ports.engine}`,
    node,
    bootMs,
    pid,
    exited: exit.then(() => {}),
    forward(guestPort) {
      let forwarded = forwards.get(guestPort);
      if (!forwarded) {
        forwarded = (async () => {
          const hostPort = await freeLocalPort();
          await monitorCommand(files.monitor, `hostfwd_add net0 tcp:127.0.0.1:${hostPort}-:${guestPort}`);
          return hostPort;
        })();
        forwards.set(guestPort, forwarded);
        forwarded.catch(() => forwards.delete(guestPort));
      }
      return forwarded;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

const MONITOR_PROMPT = '(qemu) ';
const MONITOR_TIMEOUT_MS = 10_000;

/** Runs one command on qemu's human monitor; it answers nothing on success, and its complaint otherwise. */
export function monitorCommand(socket: string, command: string): Promise<void> {
  return new Promise((resolveCommand, reject) => {
    const connection = createConnection(socket);
    let text = '';
    let sent = false;
    const fail = (why: string) => {
      connection.destroy();
      reject(new OomlabError('LAB_BOOT_FAILED', `the lab VM's monitor refused \`${command}\`: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${MONITOR_TIMEOUT_MS}ms`), MONITOR_TIMEOUT_MS);
    connection.on('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    connection.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (!sent && text.includes(MONITOR_PROMPT)) {
        sent = true;
        text = '';
        connection.write(`${command}\n`);
        return;
      }
      if (sent && text.includes(MONITOR_PROMPT)) {
        clearTimeout(timer);
        connection.end();
        // The monitor echoes the command (with terminal escapes), then prints its complaint, if any.
        const said = text
          .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
          .split(/\r?\n/)
          .map((line) => line.trim())
          .filter((line) => line && !line.includes(command) && line !== MONITOR_PROMPT.trim());
        if (said.length > 0) fail(said.join('; '));
        else resolveCommand();
      }
    });
  });
}

export interface LabLeftover {
  runId: string;
  vmId: string;
  /** The qemu pid that was killed, when one was still running. */
  killedPid?: number;
}

/** Whether a pid is a qemu of this VM (its command line names the VM's folder), so a reused pid is never killed. */
async function isQemuOf(pid: number, vmDir: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(QEMU_BINARY) && cmdline.includes(vmDir);
}

/** `oomlab clean`: kills the lab VMs whose owning process is gone (every one with `all`) and removes their files. */
export async function removeAbandonedLabs(options: { all?: boolean; runRoot?: string } = {}): Promise<LabLeftover[]> {
  const runRoot = options.runRoot ?? LAB_RUN_ROOT;
  const removed: LabLeftover[] = [];
  for (const runId of await readdir(runRoot).catch(() => [] as string[])) {
    const runDir = join(runRoot, runId);
    for (const vmId of await readdir(runDir).catch(() => [] as string[])) {
      const vmDir = join(runDir, vmId);
      const label = JSON.parse((await readFile(join(vmDir, 'label.json'), 'utf8').catch(() => '{}')) || '{}') as Partial<LabVmLabel>;
      if (!options.all && label.ownerPid !== undefined && label.ownerPid !== process.pid && ownerAlive(label.ownerPid)) continue;
      const pid = Number((await readFile(join(vmDir, 'qemu.pid'), 'utf8').catch(() => '')).trim());
      const leftover: LabLeftover = { runId, vmId };
      if (pid > 0 && (await isQemuOf(pid, vmDir))) {
        process.kill(pid, 'SIGKILL');
        await poll(async () => !(await isQemuOf(pid, vmDir)), { intervalMs: 100, timeoutMs: 5_000 });
        leftover.killedPid = pid;
      }
      await rm(vmDir, { recursive: true, force: true });
      removed.push(leftover);
    }
    await rmdir(runDir).catch(() => {});
  }
  return removed;
}
