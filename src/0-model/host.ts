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
  /** Set when a lab VM ran the configurations (`--host lab[:SHAPE]`): every other fact is the guest's. */
  lab?: LabHostFacts;
}

/** The lab VM a run's configurations ran in, and what it cost. */
export interface LabHostFacts {
  /** The `--host` value: `lab`, `lab:nofile`. */
  host: string;
  shape: string;
  accel: 'kvm' | 'tcg';
  /** Why that accelerator: the KVM probe's result, or OOMLAB_LAB_ACCEL. */
  accelWhy: string;
  /** From qemu's start to the guest's engine and agent answering. */
  bootMs: number;
  /** Readiness timeouts are multiplied by it: the guest runs several times slower under TCG. 1 under KVM. */
  timeScale: number;
  vcpus: number;
  memoryMiB: number;
  cgroup: 'v1' | 'v2';
  /** LimitNOFILE of the guest's containerd and dockerd, set before they started (N, `infinity` or `soft:hard`); absent: Debian's units. */
  runtimeNofile?: number | string;
  /** fs.nr_open as the guest has it. */
  nrOpen?: number;
  overcommitMemory: number;
  numaNodes?: { memoryMiB: number; cpus: number[] }[];
  /** The guest's /sys/kernel/mm/lru_gen/min_ttl_ms as read after boot, when the shape set it (LabShape.minTtlMs). */
  minTtlMs?: number;
  /** The room the shape asked for (LabShape.roomMiB), and the ballast that made it. */
  room?: LabRoomFacts;
}

/** A lab VM's room: what the guest had available once booted, what a ballast took of it, and what it left. */
export interface LabRoomFacts {
  roomMiB: number;
  /** MemAvailable before the ballast. */
  availableMiB?: number;
  /** 0: no ballast, the guest had no more than the room (`why` says so). */
  ballastMiB: number;
  /** MemAvailable after the ballast: the room the run had. */
  leftMiB?: number;
  /** Why the room is not exact, when it is not. */
  why?: string;
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

/** One line for every format: `lab VM lab:nofile (shape nofile) under tcg, booted in 71.2 s: 2 vCPUs, 3072 MiB, cgroup v2, …`. */
export function labHostLine(lab: LabHostFacts): string {
  const parts = [
    `${lab.vcpus} vCPUs`,
    `${lab.memoryMiB} MiB`,
    ...(lab.numaNodes ? [`${lab.numaNodes.length} NUMA nodes of ${lab.numaNodes.map((node) => node.memoryMiB).join('/')} MiB`] : []),
    `cgroup ${lab.cgroup}`,
    ...(lab.runtimeNofile !== undefined ? [`runtimes' nofile ${lab.runtimeNofile}`] : []),
    ...(lab.nrOpen !== undefined ? [`fs.nr_open ${lab.nrOpen}`] : []),
    `overcommit ${lab.overcommitMemory}`,
    ...(lab.minTtlMs !== undefined ? [`multi-gen LRU min_ttl_ms ${lab.minTtlMs} (the OOM killer rather than thrashing)`] : []),
    ...(lab.room
      ? [
          lab.room.ballastMiB > 0
            ? `room ${lab.room.leftMiB ?? lab.room.roomMiB} MiB left available (${lab.room.roomMiB} asked; a ballast held ${lab.room.ballastMiB} of ${lab.room.availableMiB} MiB)`
            : `room ${lab.room.roomMiB} MiB asked, no ballast: ${lab.room.why ?? 'the guest had no more'}`,
        ]
      : []),
  ];
  const scale = lab.timeScale !== 1 ? `; readiness and step timeouts ×${lab.timeScale}` : '';
  return `lab VM \`${lab.host}\` (shape ${lab.shape}) under ${lab.accel}, booted in ${(lab.bootMs / 1000).toFixed(1)} s: ${parts.join(', ')}${scale}`;
}
