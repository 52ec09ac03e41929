import { execa } from 'execa';

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

const KILLED = /(?:Memory cgroup out of memory|Out of memory): Killed process (\d+) \(([^)]+)\) total-vm:(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB/;
const CONSTRAINT = /oom-kill:constraint=(\w+),.*?task_memcg=([^,]*),task=([^,]+),pid=(\d+)/;
const USAGE = /memory: usage (\d+)kB, limit (\d+)kB/;

/**
 * Parses kernel log text (dmesg) into OOM kills. The `oom-kill:` line carries the constraint
 * and the cgroup; the `Killed process` line that follows carries the sizes; they are paired by pid.
 */
export function parseKernelOomKills(text: string): KernelOomKill[] {
  const kills: KernelOomKill[] = [];
  let pendingConstraint: { constraint: string; memcg: string; pid: number; line: string } | undefined;
  let usage: { usageKb: number; limitKb: number } | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trimEnd();
    const usageMatch = USAGE.exec(line);
    if (usageMatch) {
      usage = { usageKb: Number(usageMatch[1]), limitKb: Number(usageMatch[2]) };
      continue;
    }
    const constraintMatch = CONSTRAINT.exec(line);
    if (constraintMatch) {
      pendingConstraint = {
        constraint: constraintMatch[1]!,
        memcg: constraintMatch[2]!,
        pid: Number(constraintMatch[4]),
        line: stripTimestamp(line),
      };
      continue;
    }
    const killed = KILLED.exec(line);
    if (killed) {
      const pid = Number(killed[1]);
      const paired = pendingConstraint?.pid === pid ? pendingConstraint : undefined;
      kills.push({
        process: killed[2]!,
        pid,
        totalVmKb: Number(killed[3]),
        anonRssKb: Number(killed[4]),
        fileRssKb: Number(killed[5]),
        constraint: paired?.constraint ?? 'unknown',
        memcg: paired?.memcg ?? '',
        ...(usage ? { memcgUsageKb: usage.usageKb, memcgLimitKb: usage.limitKb } : {}),
        line: stripTimestamp(line),
        ...(paired ? { constraintLine: paired.line } : {}),
      });
      pendingConstraint = undefined;
      usage = undefined;
    }
  }
  return kills;
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

/** The kernel's OOM kills of processes in the given containers. */
export async function kernelOomKillsOf(containerIds: readonly string[], signal?: AbortSignal): Promise<Map<string, KernelOomKill[]>> {
  const byContainer = new Map<string, KernelOomKill[]>();
  for (const kill of parseKernelOomKills(await readKernelLog(signal))) {
    const id = containerIdOfMemcg(kill.memcg);
    if (!id || !containerIds.includes(id)) continue;
    byContainer.set(id, [...(byContainer.get(id) ?? []), kill]);
  }
  return byContainer;
}
