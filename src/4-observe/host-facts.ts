import { readdir } from 'node:fs/promises';
import { execa } from 'execa';
import { readKernelFile } from './kernel-files.ts';
import { onPath, type HostFacts } from '../0-model/host.ts';
import type { NodeAccess } from '../3-runtime/index.ts';

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

/**
 * The facts of another node (a lab VM), read through its `NodeAccess`. Its engine runs as root with every
 * capability, so a container can be given any nofile up to the node's fs.nr_open; the syscall tracer runs
 * on this host and cannot see the node's processes.
 */
export async function readNodeFacts(node: NodeAccess): Promise<HostFacts> {
  const [nrOpen, status, release, thp, cgroup2, memoryV1, memsw] = await Promise.all([
    node.readFile('/proc/sys/fs/nr_open'),
    node.readFile('/proc/self/status'),
    node.readFile('/proc/sys/kernel/osrelease'),
    node.readFile('/sys/kernel/mm/transparent_hugepage/enabled'),
    node.readFile('/sys/fs/cgroup/cgroup.controllers'),
    node.readFile('/sys/fs/cgroup/memory/memory.limit_in_bytes'),
    node.readFile('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
  ]);
  let numaNodes = 0;
  while (numaNodes < 64 && (await node.readFile(`/sys/devices/system/node/node${numaNodes}/meminfo`)) !== undefined) numaNodes++;
  const dmesgReadable = await node.kernelLog().then(
    () => true,
    () => false,
  );
  return {
    kernel: release?.trim() ?? 'unknown',
    nofileHardLimit: nrOpen ? Number(nrOpen.trim()) : 1_048_576,
    cgroupVersion: cgroup2 !== undefined ? 2 : 1,
    numaNodes: Math.max(1, numaNodes),
    thpMode: /\[(\w+)\]/.exec(thp ?? '')?.[1] ?? 'unknown',
    dmesgReadable,
    bpftrace: false,
    memoryController: cgroup2 !== undefined ? /\bmemory\b/.test(cgroup2) : memoryV1 !== undefined,
    swapAccounting: cgroup2 !== undefined ? true : memsw !== undefined,
    k6: await onPath('k6'),
    canLowerOomScoreAdj: status ? hasSysResource(status) : false,
  };
}
