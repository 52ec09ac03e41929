import { access, constants } from 'node:fs/promises';

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
  /** The memory controller is mounted: without it a memory limit is not enforced. */
  memoryController: boolean;
  /** Swap is limited with memory (memsw / memory.swap.max): MemorySwap works. */
  swapAccounting: boolean;
  k6: boolean;
  /** CAP_SYS_RESOURCE is effective: without it no container can be given a negative oom_score_adj. */
  canLowerOomScoreAdj: boolean;
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
