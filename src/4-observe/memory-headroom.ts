// What the host's memory can still give a run, read once before its configurations are scheduled side by side.
import { readKernelFile } from './kernel-files.ts';

export interface MemoryHeadroom {
  totalBytes: number;
  /** The kernel's own estimate of what can be allocated without swapping (MemAvailable). */
  availableBytes: number;
  /** vm.overcommit_memory: 0 heuristic, 1 always, 2 strict (every mapping is charged against CommitLimit). */
  overcommitMemory: number;
}

/** MemTotal and MemAvailable of /proc/meminfo, in bytes; undefined when either is missing. */
export function parseMeminfo(meminfo: string): { totalBytes: number; availableBytes: number } | undefined {
  const kb = (name: string) => {
    const value = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(meminfo)?.[1];
    return value === undefined ? undefined : Number(value) * 1024;
  };
  const totalBytes = kb('MemTotal');
  const availableBytes = kb('MemAvailable');
  return totalBytes === undefined || availableBytes === undefined ? undefined : { totalBytes, availableBytes };
}

/** The memory headroom of the node a run's instances live on (a lab's guest, not this host), read through its NodeAccess. */
export async function readNodeMemoryHeadroom(node: { readFile(path: string): Promise<string | undefined> }): Promise<MemoryHeadroom | undefined> {
  const meminfo = parseMeminfo((await node.readFile('/proc/meminfo')) ?? '');
  if (!meminfo) return undefined;
  const overcommit = Number((await node.readFile('/proc/sys/vm/overcommit_memory'))?.trim());
  return { ...meminfo, overcommitMemory: Number.isInteger(overcommit) ? overcommit : 0 };
}

/** The host's memory headroom now; undefined when /proc/meminfo cannot be read (then nothing runs side by side). */
export function readMemoryHeadroom(): MemoryHeadroom | undefined {
  const meminfo = parseMeminfo(readKernelFile('/proc/meminfo') ?? '');
  if (!meminfo) return undefined;
  const overcommit = Number(readKernelFile('/proc/sys/vm/overcommit_memory')?.trim());
  return { ...meminfo, overcommitMemory: Number.isInteger(overcommit) ? overcommit : 0 };
}
