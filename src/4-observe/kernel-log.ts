import { execa } from 'execa';
import { parseOomReports } from '../2-plan/index.ts';
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
}

/**
 * The kernel's OOM kills in dmesg text, with their sizes: the one OOM-report parser of the project
 * (2-plan's, which also reads what users paste), narrowed to the kills a run's evidence needs.
 */
export function parseKernelOomKills(text: string): KernelOomKill[] {
  return parseOomReports(text).flatMap((kill) => {
    if (kill.pid === undefined || kill.totalVmKb === undefined || kill.anonRssKb === undefined || kill.fileRssKb === undefined) return [];
    const paired = kill.constraintLine !== undefined;
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
        ...(paired ? { constraintLine: stripTimestamp(kill.constraintLine!) } : {}),
      },
    ];
  });
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

/** The kernel's OOM kills of processes in the given containers, in this host's kernel log or in `node`'s (a lab VM's). */
export async function kernelOomKillsOf(containerIds: readonly string[], signal?: AbortSignal, node?: Pick<NodeAccess, 'kernelLog'>): Promise<Map<string, KernelOomKill[]>> {
  const byContainer = new Map<string, KernelOomKill[]>();
  for (const kill of parseKernelOomKills(node ? await node.kernelLog(signal) : await readKernelLog(signal))) {
    const id = containerIdOfMemcg(kill.memcg);
    if (!id || !containerIds.includes(id)) continue;
    byContainer.set(id, [...(byContainer.get(id) ?? []), kill]);
  }
  return byContainer;
}
