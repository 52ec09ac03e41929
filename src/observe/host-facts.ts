import { access, readFile, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { execa } from 'execa';

/** What this host can do, read once per run; reports show it and skips cite it. */
export interface HostFacts {
  kernel: string;
  /** The hard RLIMIT_NOFILE of this process: containers cannot get more without emulation. */
  nofileHardLimit: number;
  cgroupVersion: 1 | 2;
  numaNodes: number;
  thpMode: string;
  dmesgReadable: boolean;
  bpftrace: boolean;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function parseNofileHardLimit(limits: string): number {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
}

/** Whether an executable of that name is on PATH (no subprocess). */
export async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      await access(`${dir}/${command}`, constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

export async function readHostFacts(): Promise<HostFacts> {
  const [limits, release, thp, nodes, cgroup2] = await Promise.all([
    readText('/proc/self/limits'),
    readText('/proc/sys/kernel/osrelease'),
    readText('/sys/kernel/mm/transparent_hugepage/enabled'),
    readdir('/sys/devices/system/node').catch(() => [] as string[]),
    readText('/sys/fs/cgroup/cgroup.controllers'),
  ]);
  const dmesgReadable = await execa('dmesg', [], { timeout: 5_000 }).then(
    () => true,
    () => false,
  );
  return {
    kernel: release?.trim() ?? 'unknown',
    nofileHardLimit: limits ? parseNofileHardLimit(limits) : Number.MAX_SAFE_INTEGER,
    cgroupVersion: cgroup2 !== undefined ? 2 : 1,
    numaNodes: Math.max(1, nodes.filter((n) => /^node\d+$/.test(n)).length),
    thpMode: /\[(\w+)\]/.exec(thp ?? '')?.[1] ?? 'unknown',
    dmesgReadable,
    bpftrace: await onPath('bpftrace'),
  };
}
