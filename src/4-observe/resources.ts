import type { Locatable } from './cgroup-memory.ts';
import { readKernelFile } from './kernel-files.ts';

function keyValues(text: string | undefined): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) map.set(key, Number(value));
  }
  return map;
}

/** A container's memory and CPU as its cgroup (v1) counts them; undefined once the cgroup is gone. */
export async function readContainerResources(instance: Locatable): Promise<Record<string, number> | undefined> {
  const { cgroupDirs } = await instance.locate();
  const memory = cgroupDirs.memory;
  if (memory === undefined) return undefined;
  const usage = readKernelFile(`${memory}/memory.usage_in_bytes`);
  if (usage === undefined) return undefined;
  const stat = keyValues(readKernelFile(`${memory}/memory.stat`));
  const failcnt = readKernelFile(`${memory}/memory.failcnt`);
  const cpuDir = cgroupDirs.cpuacct;
  const cpu = keyValues(cpuDir ? readKernelFile(`${cpuDir}/cpuacct.stat`) : undefined);
  return {
    memoryUsageBytes: Number(usage),
    memoryRssBytes: stat.get('total_rss') ?? stat.get('rss') ?? 0,
    memoryCacheBytes: stat.get('total_cache') ?? stat.get('cache') ?? 0,
    memoryFailcnt: Number(failcnt ?? 0),
    cpuUserTicks: cpu.get('user') ?? 0,
    cpuSystemTicks: cpu.get('system') ?? 0,
  };
}

/** The /proc/vmstat counters of incident 2's slow path: direct reclaim, compaction, THP fallbacks. */
export const VMSTAT_COUNTERS = ['pgscan_direct', 'pgscan_kswapd', 'allocstall_normal', 'allocstall_movable', 'compact_stall', 'compact_fail', 'thp_fault_alloc', 'thp_fault_fallback'] as const;

/** Host counters: vmstat, context switches and CPU ticks (user vs system), NUMA nodes' free memory. */
export async function readHostCounters(): Promise<Record<string, number>> {
  const vmstat = keyValues(readKernelFile('/proc/vmstat'));
  const stat = readKernelFile('/proc/stat');
  const counters: Record<string, number> = {};
  for (const name of VMSTAT_COUNTERS) counters[name] = vmstat.get(name) ?? 0;
  const cpu = /^cpu\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(stat ?? '');
  if (cpu) {
    counters.cpuUserTicks = Number(cpu[1]) + Number(cpu[2]);
    counters.cpuSystemTicks = Number(cpu[3]);
  }
  const ctxt = /^ctxt (\d+)/m.exec(stat ?? '');
  if (ctxt) counters.contextSwitches = Number(ctxt[1]);
  for (let node = 0; node < 64; node++) {
    const meminfo = readKernelFile(`/sys/devices/system/node/node${node}/meminfo`);
    if (meminfo === undefined) break;
    const free = /MemFree:\s+(\d+) kB/.exec(meminfo);
    if (free) counters[`node${node}FreeBytes`] = Number(free[1]) * 1024;
  }
  return counters;
}

/** Counters become rates per second between two samples; gauges (bytes) stay as they are. */
export function deltasPerSecond(previous: Record<string, number>, current: Record<string, number>, seconds: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [key, value] of Object.entries(current)) {
    if (key.endsWith('Bytes')) result[key] = value;
    else if (previous[key] !== undefined && seconds > 0) result[`${key}PerSecond`] = (value - previous[key]!) / seconds;
  }
  return result;
}
