import type { Locatable } from './cgroup-memory.ts';
import { nodeReader, type NodeRead } from './kernel-files.ts';

function keyValues(text: string | undefined): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) map.set(key, Number(value));
  }
  return map;
}

/** USER_HZ: v1's cpuacct.stat counts in ticks of 10 ms; v2's cpu.stat in µs, converted so both series mean the same. */
const USEC_PER_TICK = 10_000;

/** `some`/`full` stall totals (µs) of a PSI file: `some avg10=0.00 avg60=0.00 avg300=0.00 total=1234`. */
export function pressureTotals(text: string | undefined): { someUs?: number; fullUs?: number } {
  const total = (kind: string) => {
    const match = new RegExp(`^${kind} .*\\btotal=(\\d+)`, 'm').exec(text ?? '');
    return match ? Number(match[1]) : undefined;
  };
  const someUs = total('some');
  const fullUs = total('full');
  return { ...(someUs !== undefined ? { someUs } : {}), ...(fullUs !== undefined ? { fullUs } : {}) };
}

/** Memory pressure and OOM counters, read wherever the host keeps them (v2, or a v1 host's unified hierarchy and oom_control). */
async function pressureAndOom(read: NodeRead, unified: string | undefined, v1Memory: string | undefined): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const pressure = pressureTotals(unified ? await read(`${unified}/memory.pressure`) : undefined);
  if (pressure.someUs !== undefined) out.memoryPressureSomeUs = pressure.someUs;
  if (pressure.fullUs !== undefined) out.memoryPressureFullUs = pressure.fullUs;
  const events = unified ? keyValues(await read(`${unified}/memory.events`)) : new Map<string, number>();
  if (events.size > 0) {
    out.memoryEventsHigh = events.get('high') ?? 0;
    out.memoryEventsMax = events.get('max') ?? 0;
    out.memoryEventsOom = events.get('oom') ?? 0;
    out.memoryEventsOomKill = events.get('oom_kill') ?? 0;
  } else if (v1Memory) {
    // v1's oom_control counts kills since 4.13.
    const control = keyValues(await read(`${v1Memory}/memory.oom_control`));
    if (control.has('oom_kill')) out.memoryEventsOomKill = control.get('oom_kill')!;
  }
  return out;
}

/**
 * A container's memory and CPU as its cgroup counts them, v1 or v2 by what the node has: usage, anonymous
 * memory and page cache, CPU user and system (in ticks), memory pressure and OOM counters; undefined once the cgroup is gone.
 */
export async function readContainerResources(instance: Locatable): Promise<Record<string, number> | undefined> {
  const { cgroupDirs, node } = await instance.locate();
  const memory = cgroupDirs.memory;
  if (memory === undefined) return undefined;
  const read = nodeReader(node);
  const v1Usage = await read(`${memory}/memory.usage_in_bytes`);
  if (v1Usage !== undefined) {
    const stat = keyValues(await read(`${memory}/memory.stat`));
    const failcnt = await read(`${memory}/memory.failcnt`);
    const cpuDir = cgroupDirs.cpuacct;
    const cpu = keyValues(cpuDir ? await read(`${cpuDir}/cpuacct.stat`) : undefined);
    return {
      memoryUsageBytes: Number(v1Usage),
      memoryRssBytes: stat.get('total_rss') ?? stat.get('rss') ?? 0,
      memoryCacheBytes: stat.get('total_cache') ?? stat.get('cache') ?? 0,
      memoryFailcnt: Number(failcnt ?? 0),
      cpuUserTicks: cpu.get('user') ?? 0,
      cpuSystemTicks: cpu.get('system') ?? 0,
      ...(await pressureAndOom(read, cgroupDirs.unified, memory)),
    };
  }
  const current = await read(`${memory}/memory.current`);
  if (current === undefined) return undefined;
  const stat = keyValues(await read(`${memory}/memory.stat`));
  const cpu = keyValues(await read(`${cgroupDirs.cpuacct ?? memory}/cpu.stat`));
  return {
    memoryUsageBytes: Number(current),
    memoryRssBytes: stat.get('anon') ?? 0,
    memoryCacheBytes: stat.get('file') ?? 0,
    memoryKernelBytes: stat.get('kernel') ?? (stat.get('kernel_stack') ?? 0) + (stat.get('slab') ?? 0),
    memorySockBytes: stat.get('sock') ?? 0,
    cpuUserTicks: Math.round((cpu.get('user_usec') ?? 0) / USEC_PER_TICK),
    cpuSystemTicks: Math.round((cpu.get('system_usec') ?? 0) / USEC_PER_TICK),
    ...(await pressureAndOom(read, cgroupDirs.unified ?? memory, undefined)),
  };
}

/** The /proc/vmstat counters of incident 2's slow path: direct reclaim, compaction, THP fallbacks. */
export const VMSTAT_COUNTERS = ['pgscan_direct', 'pgscan_kswapd', 'allocstall_normal', 'allocstall_movable', 'compact_stall', 'compact_fail', 'thp_fault_alloc', 'thp_fault_fallback'] as const;

/** Node counters (this host's, or a lab VM's through `read`): vmstat, context switches and CPU ticks (user vs system); each NUMA node's free memory is numa-nodes.ts's. */
export async function readHostCounters(read: NodeRead = nodeReader()): Promise<Record<string, number>> {
  const vmstat = keyValues(await read('/proc/vmstat'));
  const stat = await read('/proc/stat');
  const counters: Record<string, number> = {};
  for (const name of VMSTAT_COUNTERS) counters[name] = vmstat.get(name) ?? 0;
  const cpu = /^cpu\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(stat ?? '');
  if (cpu) {
    counters.cpuUserTicks = Number(cpu[1]) + Number(cpu[2]);
    counters.cpuSystemTicks = Number(cpu[3]);
  }
  const ctxt = /^ctxt (\d+)/m.exec(stat ?? '');
  if (ctxt) counters.contextSwitches = Number(ctxt[1]);
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
