import { execa } from 'execa';
import type { OthersAtKill } from '../0-model/observation.ts';
import { othersAtKill, parseOomReports } from '../2-plan/index.ts';
import type { NodeAccess } from '../3-runtime/index.ts';

/** One OOM kill as the kernel logged it. */
export interface KernelOomKill {
  process: string;
  pid: number;
  totalVmKb: number;
  anonRssKb: number;
  fileRssKb: number;
  constraint: string;
  /** The memory cgroup of the killed task, e.g. `/docker/<container id>`. */
  memcg: string;
  /** The memcg usage and limit printed just before, when present. */
  memcgUsageKb?: number;
  memcgLimitKb?: number;
  /** The `Killed process` line, as printed. */
  line: string;
  /** The `oom-kill:` line, as printed. */
  constraintLine?: string;
  /** What the task table's other processes held at the kill: in a global OOM, the rest of the machine. */
  others?: OthersAtKill;
  /** The kill's timestamp as dmesg printed it: seconds since boot on the kernel's monotonic clock. */
  kernelSeconds?: number;
  /** When the kill happened, in epoch ms: `kernelSeconds` put on the wall clock (kernelOomKillsOf). */
  atMs?: number;
}

/**
 * The kernel's OOM kills in dmesg text, with their sizes: the one OOM-report parser of the project
 * (2-plan's, which also reads what users paste), narrowed to the kills a run's evidence needs.
 */
export function parseKernelOomKills(text: string): KernelOomKill[] {
  return parseOomReports(text).flatMap((kill) => {
    if (kill.pid === undefined || kill.totalVmKb === undefined || kill.anonRssKb === undefined || kill.fileRssKb === undefined) return [];
    const paired = kill.constraintLine !== undefined;
    const others = othersAtKill(kill);
    return [
      {
        process: kill.process,
        pid: kill.pid,
        totalVmKb: kill.totalVmKb,
        anonRssKb: kill.anonRssKb,
        fileRssKb: kill.fileRssKb,
        constraint: paired ? (kill.constraint ?? 'unknown') : 'unknown',
        memcg: paired ? (kill.taskMemcg ?? '') : '',
        ...(kill.memcgUsageKb !== undefined && kill.memcgLimitKb !== undefined ? { memcgUsageKb: kill.memcgUsageKb, memcgLimitKb: kill.memcgLimitKb } : {}),
        line: stripTimestamp(kill.lines.at(-1)!),
        ...(kernelSecondsOf(kill.lines.at(-1)!) !== undefined ? { kernelSeconds: kernelSecondsOf(kill.lines.at(-1)!)! } : {}),
        ...(paired ? { constraintLine: stripTimestamp(kill.constraintLine!) } : {}),
        ...(others ? { others } : {}),
      },
    ];
  });
}

/** `[  462.926292] Memory cgroup …` → 462.926292; undefined for a line printed without it (`dmesg -t`). */
export function kernelSecondsOf(line: string): number | undefined {
  const match = /^\[\s*(\d+\.\d+)\]/.exec(line);
  return match ? Number(match[1]) : undefined;
}

function stripTimestamp(line: string): string {
  return line.replace(/^\[\s*\d+\.\d+\]\s*/, '');
}

/** The container id a memcg path names (`/docker/<id>`, `/system.slice/docker-<id>.scope`). */
export function containerIdOfMemcg(memcg: string): string | undefined {
  return /([0-9a-f]{64})/.exec(memcg)?.[1];
}

/** Reads the kernel ring buffer. Needs root (or kernel.dmesg_restrict=0). */
export async function readKernelLog(signal?: AbortSignal): Promise<string> {
  const { stdout } = await execa('dmesg', [], { timeout: 5_000, ...(signal ? { cancelSignal: signal } : {}) });
  return stdout;
}

/** The clocks a kernel timestamp is put on the wall clock with. */
export interface KernelClock {
  /** Epoch ms. */
  nowMs: () => number;
  /** ms on CLOCK_MONOTONIC, the clock printk's timestamps follow (measured here: a line written to /dev/kmsg printed 0.6 ms from it). */
  monotonicMs: () => number;
}

const systemClock: KernelClock = { nowMs: Date.now, monotonicMs: () => Number(process.hrtime.bigint()) / 1e6 };

/** A kernel timestamp (seconds since boot) as epoch ms: the kill's own time, not when the log was read. */
export function kernelTimeToEpochMs(kernelSeconds: number, clock: KernelClock = systemClock): number {
  return Math.round(clock.nowMs() - clock.monotonicMs() + kernelSeconds * 1000);
}

/** A node's clocks read once through its files: a lab guest's boot time is not this host's. */
async function nodeClock(node: Pick<NodeAccess, 'readFile'>): Promise<KernelClock | undefined> {
  const uptime = Number((await node.readFile('/proc/uptime'))?.split(' ')[0]);
  if (!Number.isFinite(uptime) || uptime <= 0) return undefined;
  const readAt = Date.now();
  return { nowMs: () => readAt, monotonicMs: () => uptime * 1000 };
}

/**
 * The kernel's OOM kills of processes in the given containers, in this host's kernel log or in `node`'s (a lab
 * VM's), each with the time it happened where dmesg printed one.
 */
export async function kernelOomKillsOf(
  containerIds: readonly string[],
  signal?: AbortSignal,
  node?: Pick<NodeAccess, 'kernelLog' | 'readFile'>,
  clock?: KernelClock,
): Promise<Map<string, KernelOomKill[]>> {
  const log = node ? await node.kernelLog(signal) : await readKernelLog(signal);
  const onClock = clock ?? (node ? await nodeClock(node) : systemClock);
  const byContainer = new Map<string, KernelOomKill[]>();
  for (const kill of parseKernelOomKills(log)) {
    const id = containerIdOfMemcg(kill.memcg);
    if (!id || !containerIds.includes(id)) continue;
    const timed = kill.kernelSeconds !== undefined && onClock ? { ...kill, atMs: kernelTimeToEpochMs(kill.kernelSeconds, onClock) } : kill;
    byContainer.set(id, [...(byContainer.get(id) ?? []), timed]);
  }
  return byContainer;
}
