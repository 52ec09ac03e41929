// A lab host's shape as data, and the qemu command line and kernel command line that give a guest that shape.
import { OomlabError } from '../../0-model/errors.ts';
import { LAB_GUEST_OWN } from '../../0-model/lab-room.ts';

export type LabCgroup = 'v1' | 'v2';
export type LabThp = 'always' | 'madvise' | 'never';
export type LabAccel = 'kvm' | 'tcg';
/** A systemd LimitNOFILE value: one number (soft = hard), `infinity` (fs.nr_open), or `soft:hard`. */
export type LabNofile = number | 'infinity' | `${number}:${number}`;

export interface LabNumaNode {
  memoryMiB: number;
  /** The vCPUs of this node, numbered from 0 across the whole guest. */
  cpus: readonly number[];
}

export interface LabShape {
  /** @default 2 */
  vcpus: number;
  /** The guest's memory; when NUMA nodes are given it must be their sum. */
  memoryMiB: number;
  /** The emulated NUMA nodes; absent: one node holding every vCPU and all memory. */
  numaNodes?: readonly LabNumaNode[];
  /** v2: the unified hierarchy, as current distributions; v1: systemd's hybrid, as this project's own host. */
  cgroup: LabCgroup;
  /** LimitNOFILE of containerd and docker, set before they start (their containers inherit it); absent keeps the Debian units' own. */
  runtimeNofile?: LabNofile;
  /** fs.nr_open, the ceiling of any nofile; absent keeps what systemd raises it to at boot. */
  nrOpen?: number;
  /** vm.overcommit_memory. @default 0 */
  overcommitMemory: 0 | 1 | 2;
  /** /sys/kernel/mm/transparent_hugepage/enabled from boot. @default 'madvise' */
  thp: LabThp;
  /** The Debian release of the guest, so its kernel. */
  release: 'bookworm';
  /**
   * The memory the guest leaves available to the run once booted: the rest of what it has available is held by a
   * ballast process (at oom_score_adj -1000) for what production's machine held beside the server, so a global
   * OOM comes at production's size. Absent: no ballast, the server has all the guest's own system leaves.
   */
  roomMiB?: number;
  /**
   * The multi-gen LRU on, with its thrashing prevention (/sys/kernel/mm/lru_gen/min_ttl_ms, Linux 6.1; commit
   * 1332a809d95a): when the working set of the last that many ms cannot be kept, the kernel's OOM killer fires.
   * A guest under TCG otherwise reclaims for minutes, its engine silent, before a global OOM kill (lowmem-vm in
   * 656 MiB, 2026-12-07). Absent: the guest kernel's default, the classic LRU.
   */
  minTtlMs?: number;
}

const BASE: LabShape = { vcpus: 2, memoryMiB: 2048, cgroup: 'v2', overcommitMemory: 0, thp: 'madvise', release: 'bookworm' };

/** Named shapes for `--host lab:NAME`. */
export const LAB_SHAPES = {
  /** Two vCPUs, 2 GiB, cgroup v2: most users' hosts. */
  default: BASE,
  /** The hybrid cgroup v1 of this project's own machine. */
  v1: { ...BASE, cgroup: 'v1' },
  /** Two NUMA nodes of 1.5 GiB, one vCPU each (incident 2). */
  numa2: {
    ...BASE,
    memoryMiB: 3072,
    numaNodes: [
      { memoryMiB: 1536, cpus: [0] },
      { memoryMiB: 1536, cpus: [1] },
    ],
  },
  /** Two NUMA nodes of unequal size, 2.5 GiB and 1 GiB, one vCPU each: node 1 runs out while node 0 has room (incident 2). */
  'numa2-uneven': {
    ...BASE,
    memoryMiB: 3584,
    numaNodes: [
      { memoryMiB: 2560, cpus: [0] },
      { memoryMiB: 1024, cpus: [1] },
    ],
  },
  /**
   * The runtimes' nofile 1073741816 for real, and the overcommit MariaDB's 16 GiB allocation needs (incident 1). 5 GiB, so
   * the incident's 4g container limit is reached before the guest runs out: with 3 GiB the kernel's global OOM killer
   * took mariadbd at anon-rss 2.8 GB, not the memory cgroup's.
   */
  nofile: { ...BASE, memoryMiB: 5120, runtimeNofile: 1_073_741_816, nrOpen: 1_073_741_816, overcommitMemory: 1 },
  // The runtime shapes of scenarios/runtime-nofile.ts: the `nofile` guest (fs.nr_open 1073741816, 5 GiB, overcommit 1)
  // with only the runtimes' LimitNOFILE differing. Both units get it, so it reaches the container whichever daemon its shim descends from.
  /** moby v19.03.0 contrib/init/systemd/docker.service line 15: `LimitNOFILE=1048576`. */
  'docker-2019': { ...BASE, memoryMiB: 5120, runtimeNofile: 1_048_576, nrOpen: 1_073_741_816, overcommitMemory: 1 },
  /** containerd v1.5.0–v1.7.x containerd.service (v1.7.0 line 35): `LimitNOFILE=infinity`, which systemd resolves to fs.nr_open. */
  'containerd-infinity': { ...BASE, memoryMiB: 5120, runtimeNofile: 'infinity', nrOpen: 1_073_741_816, overcommitMemory: 1 },
  /** Docker ≥ 25 (moby PR #45534) and containerd 2.x (PR #8924) set no LimitNOFILE: systemd's default 1024:524288, written out. */
  'runtime-today': { ...BASE, memoryMiB: 5120, runtimeNofile: '1024:524288', nrOpen: 1_073_741_816, overcommitMemory: 1 },
} as const satisfies Record<string, LabShape>;

export type LabShapeName = keyof typeof LAB_SHAPES;

/** `lab`, `lab:NAME` or `lab:NAME,memory=SIZE` (the `--host` value) to its shape. */
export function labShapeOf(host: string): { name: string; shape: LabShape } {
  const [base = host, ...options] = host.split(',');
  const match = /^lab(?::(.+))?$/.exec(base);
  const name = match?.[1] ?? 'default';
  const shape = match ? (LAB_SHAPES as Record<string, LabShape>)[name] : undefined;
  if (!shape) throw new OomlabError('LAB_SHAPE_INVALID', `unknown lab host \`${host}\`; use lab or lab:SHAPE with SHAPE one of ${Object.keys(LAB_SHAPES).join(', ')}`);
  return { name, shape: options.length > 0 ? withLabOptions(host, name, shape, options) : shape };
}

/** The options a `--host lab:NAME,KEY=VALUE` may add to a named shape: two sizes, then a whole number of ms. */
export const LAB_SHAPE_OPTIONS = ['memory', 'room', 'min_ttl_ms'] as const;
const OPTION_FORMS: Record<(typeof LAB_SHAPE_OPTIONS)[number], string> = { memory: 'memory=SIZE', room: 'room=SIZE', min_ttl_ms: 'min_ttl_ms=N' };

/**
 * A named shape with `memory=SIZE` and `room=SIZE` over it. memory: the machine a global OOM happened on (a
 * t3.small's 2g) is the guest's memory, since nothing else bounds a process with no container limit; a NUMA shape
 * keeps its nodes' sizes. room: what the guest leaves available once booted (LabShape.roomMiB).
 */
function withLabOptions(host: string, name: string, shape: LabShape, options: readonly string[]): LabShape {
  let resized = shape;
  for (const option of options) {
    const [key, value] = option.split('=', 2);
    if (!LAB_SHAPE_OPTIONS.includes(key as (typeof LAB_SHAPE_OPTIONS)[number]) || value === undefined || value === '') {
      throw new OomlabError('LAB_SHAPE_INVALID', `lab host \`${host}\`: unknown option \`${option}\`; options are ${Object.values(OPTION_FORMS).join(', ')}, e.g. lab:${name},memory=2g`);
    }
    if (key === 'min_ttl_ms') {
      if (!/^\d+$/.test(value)) throw new OomlabError('LAB_SHAPE_INVALID', `lab host \`${host}\`: min_ttl_ms takes a whole number of milliseconds, got \`${value}\` — e.g. min_ttl_ms=1000`);
      resized = { ...resized, minTtlMs: Number(value) };
      continue;
    }
    const match = /^(\d+(?:\.\d+)?)([mg])$/i.exec(value);
    if (!match) throw new OomlabError('LAB_SHAPE_INVALID', `lab host \`${host}\`: ${key} takes a size in m or g, got \`${value}\` — e.g. ${key}=2g or ${key}=6000m`);
    const mib = Math.round(Number(match[1]) * (match[2]!.toLowerCase() === 'g' ? 1024 : 1));
    if (key === 'room') {
      resized = { ...resized, roomMiB: mib };
      continue;
    }
    if (shape.numaNodes)
      throw new OomlabError(
        'LAB_SHAPE_INVALID',
        `lab host \`${host}\`: lab:${name} has ${shape.numaNodes.length} NUMA nodes whose sizes make its memory; memory= resizes only a shape without NUMA nodes`,
      );
    resized = { ...resized, memoryMiB: mib };
  }
  assertLabShape(resized);
  return resized;
}

/** The least memory a lab VM boots with: its kernel, systemd, dockerd, containerd and the agent need it before any server. */
export const LAB_MIN_MEMORY_MIB = 512;

/** Beside the room: the ballast's own interpreter (10 MiB) and enough over it that there is a ballast to trim with. */
const BALLAST_SLACK_MIB = 48;

/** The least guest memory (a multiple of 16 MiB) that can leave `roomMiB` available once booted: the ballast takes any excess. */
export function labMemoryForRoom(roomMiB: number): number {
  return Math.max(LAB_MIN_MEMORY_MIB, Math.ceil((roomMiB + BALLAST_SLACK_MIB + LAB_GUEST_OWN.mib) / (1 - LAB_GUEST_OWN.share) / 16) * 16);
}

/** The shape's own contradictions, each as one line; empty when qemu can run it. */
export function labShapeProblems(shape: LabShape): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(shape.vcpus) || shape.vcpus < 1) problems.push(`vcpus must be a positive integer, got ${shape.vcpus}`);
  if (!Number.isInteger(shape.memoryMiB) || shape.memoryMiB < LAB_MIN_MEMORY_MIB)
    problems.push(`memoryMiB must be an integer of at least ${LAB_MIN_MEMORY_MIB} (the guest's engine needs it), got ${shape.memoryMiB}`);
  if (shape.numaNodes) {
    const sum = shape.numaNodes.reduce((total, node) => total + node.memoryMiB, 0);
    if (sum !== shape.memoryMiB) problems.push(`the NUMA nodes' memory adds up to ${sum} MiB, not memoryMiB ${shape.memoryMiB}`);
    const cpus = shape.numaNodes.flatMap((node) => node.cpus).sort((a, b) => a - b);
    const every = Array.from({ length: shape.vcpus }, (_, i) => i);
    if (cpus.join(',') !== every.join(',')) problems.push(`the NUMA nodes' cpus must be 0..${shape.vcpus - 1} once each, got ${cpus.join(',') || 'none'}`);
    if (shape.numaNodes.some((node) => !Number.isInteger(node.memoryMiB) || node.memoryMiB < 128)) problems.push('each NUMA node needs an integer memoryMiB of at least 128');
  }
  if (shape.roomMiB !== undefined && (!Number.isInteger(shape.roomMiB) || shape.roomMiB < 1 || shape.roomMiB >= shape.memoryMiB))
    problems.push(`roomMiB must be a whole number of MiB below memoryMiB ${shape.memoryMiB} (the guest's own system needs the rest), got ${shape.roomMiB}`);
  if (shape.minTtlMs !== undefined && (!Number.isInteger(shape.minTtlMs) || shape.minTtlMs < 1 || shape.minTtlMs > 60_000))
    problems.push(`minTtlMs must be a whole number of ms from 1 to 60000, got ${shape.minTtlMs}`);
  if (shape.nrOpen !== undefined && (!Number.isInteger(shape.nrOpen) || shape.nrOpen < 1024 || shape.nrOpen > 1_073_741_816))
    problems.push(`nrOpen must be an integer from 1024 to 1073741816, got ${shape.nrOpen}`);
  if (shape.runtimeNofile !== undefined && shape.runtimeNofile !== 'infinity') {
    const ceiling = shape.nrOpen ?? 1_073_741_816;
    const [soft, hard = soft] = String(shape.runtimeNofile).split(':').map(Number);
    const valid = (n: number | undefined) => Number.isInteger(n) && n! >= 1 && n! <= ceiling;
    if (!valid(soft) || !valid(hard) || soft! > hard! || !/^\d+(:\d+)?$/.test(String(shape.runtimeNofile)))
      problems.push(`runtimeNofile must be infinity, N or SOFT:HARD with 1 ≤ SOFT ≤ HARD ≤ fs.nr_open ${ceiling}, got ${shape.runtimeNofile}`);
  }
  return problems;
}

export function assertLabShape(shape: LabShape): void {
  const problems = labShapeProblems(shape);
  if (problems.length > 0) throw new OomlabError('LAB_SHAPE_INVALID', `lab shape: ${problems.join('; ')}`);
}

/**
 * The guest kernel's command line: the shape's boot-time settings, so each is in place before any
 * daemon starts. `oomlab.*` words are read by the guest's systemd generator (lab/guest/files/).
 */
export function labKernelCmdline(shape: LabShape): string {
  const words = [
    'root=/dev/vda',
    'rw',
    'console=ttyS0',
    // A guest that panics powers off (with qemu's -no-reboot) instead of hanging the boot wait.
    'panic=-1',
    'net.ifnames=0',
    // The guest has no apparmor_parser: without this docker refuses to start containers.
    'apparmor=0',
    `systemd.unified_cgroup_hierarchy=${shape.cgroup === 'v2' ? 1 : 0}`,
    `transparent_hugepage=${shape.thp}`,
    `sysctl.vm.overcommit_memory=${shape.overcommitMemory}`,
  ];
  // Also before PID 1 starts: systemd sets its own hard nofile from fs.nr_open at that moment, and `LimitNOFILE=infinity`
  // resolves to that hard limit (measured: 1048576, the kernel's default, when only the sysctl.d file raised it later).
  if (shape.nrOpen !== undefined) words.push(`sysctl.fs.nr_open=${shape.nrOpen}`, `oomlab.nr_open=${shape.nrOpen}`);
  if (shape.runtimeNofile !== undefined) words.push(`oomlab.nofile=${shape.runtimeNofile}`);
  // Through systemd-tmpfiles before any daemon: the generator (lab/guest/files/) writes its line.
  if (shape.minTtlMs !== undefined) words.push(`oomlab.min_ttl_ms=${shape.minTtlMs}`);
  return words.join(' ');
}

/** Where the guest's files are and which host ports reach it. */
export interface LabBootFiles {
  kernel: string;
  initrd: string;
  disk: string;
  pidFile: string;
  consoleLog: string;
  /** qemu's human monitor (a unix socket): how forwards to containers' published ports are added while it runs. */
  monitor?: string;
  /** Boot writing the disk (a qcow2 overlay being filled with images); otherwise the disk is never written. */
  writable?: boolean;
}

export interface LabPorts {
  /** 127.0.0.1 port forwarded to the guest engine's TCP 2375. */
  engine: number;
  /** 127.0.0.1 port forwarded to the guest agent's 9100. */
  agent: number;
}

export const GUEST_ENGINE_PORT = 2375;
export const GUEST_AGENT_PORT = 9100;

/** qemu-system-x86_64's arguments for one boot: the disk is never written (`snapshot=on`) unless `writable`, so boots share one image. */
export function labQemuArgs(shape: LabShape, accel: LabAccel, files: LabBootFiles, ports: LabPorts, name: string): string[] {
  assertLabShape(shape);
  const numa = (shape.numaNodes ?? []).flatMap((node, i) => ['-object', `memory-backend-ram,id=mem${i},size=${node.memoryMiB}M`, '-numa', `node,nodeid=${i},${cpuRanges(node.cpus)}memdev=mem${i}`]);
  // restrict=on: the guest reaches no address at all; the two forwards below are the only way in, from 127.0.0.1.
  const netdev = `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${ports.engine}-:${GUEST_ENGINE_PORT},hostfwd=tcp:127.0.0.1:${ports.agent}-:${GUEST_AGENT_PORT}`;
  return [
    '-name',
    name,
    '-machine',
    'pc',
    '-accel',
    accel,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-smp',
    String(shape.vcpus),
    '-m',
    `${shape.memoryMiB}M`,
    ...numa,
    '-kernel',
    files.kernel,
    '-initrd',
    files.initrd,
    '-append',
    labKernelCmdline(shape),
    '-drive',
    `file=${files.disk},format=${files.disk.endsWith('.qcow2') ? 'qcow2' : 'raw'},if=virtio${files.writable ? '' : ',snapshot=on'}`,
    '-netdev',
    netdev,
    '-device',
    'virtio-net-pci,netdev=net0,romfile=',
    '-device',
    'virtio-rng-pci',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    `file:${files.consoleLog}`,
    '-no-reboot',
    '-pidfile',
    files.pidFile,
    ...(files.monitor ? ['-monitor', `unix:${files.monitor},server=on,wait=off`] : []),
  ];
}

/** `cpus=0-1,cpus=3,` for qemu's -numa node (one cpus= per contiguous run). */
function cpuRanges(cpus: readonly number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(i === j ? `cpus=${sorted[i]}` : `cpus=${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return runs.map((run) => `${run},`).join('');
}
