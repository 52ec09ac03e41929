import { readdir } from 'node:fs/promises';
import { execa } from 'execa';
import { readKernelFile } from './kernel-files.ts';
import { onPath, type HostFacts } from '../0-model/host.ts';

export { onPath, type HostFacts };

const CAP_SYS_RESOURCE = 24n;

/** Whether `CapEff` in /proc/<pid>/status holds CAP_SYS_RESOURCE. */
export function hasSysResource(status: string): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex !== undefined && ((BigInt(`0x${hex}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

export function parseNofileHardLimit(limits: string): number {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
}

/** The THP mode as the kernel selects it now (`always [madvise] never` → `madvise`), `unknown` when unreadable. */
export function readThpMode(): string {
  return /\[(\w+)\]/.exec(readKernelFile('/sys/kernel/mm/transparent_hugepage/enabled') ?? '')?.[1] ?? 'unknown';
}

export async function readHostFacts(): Promise<HostFacts> {
  const [limits, status, release, thp, nodes, cgroup2, memsw, k6] = await Promise.all([
    readKernelFile('/proc/self/limits'),
    readKernelFile('/proc/self/status'),
    readKernelFile('/proc/sys/kernel/osrelease'),
    readKernelFile('/sys/kernel/mm/transparent_hugepage/enabled'),
    readdir('/sys/devices/system/node').catch(() => [] as string[]),
    readKernelFile('/sys/fs/cgroup/cgroup.controllers'),
    readKernelFile('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    onPath('k6'),
  ]);
  const memoryV1 = await readKernelFile('/sys/fs/cgroup/memory/memory.limit_in_bytes');
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
    memoryController: cgroup2 !== undefined ? /\bmemory\b/.test(cgroup2) : memoryV1 !== undefined,
    // cgroup v2 always accounts swap with memory (memory.swap.max); v1 needs swapaccount=1.
    swapAccounting: cgroup2 !== undefined ? true : memsw !== undefined,
    k6,
    canLowerOomScoreAdj: status ? hasSysResource(status) : false,
  };
}
