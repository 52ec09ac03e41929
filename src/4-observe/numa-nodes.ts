// Free memory per NUMA node (incident 2: node 1 at 20 MB free while node 0 had 1900 MB), read from the
// node's /sys through NodeAccess, so the same sampler reads this host and a lab guest through its agent.
import type { NodeAccess } from '../3-runtime/index.ts';
import type { Timeline } from './timeline.ts';
import { sampleEvery } from './sample-every.ts';

const NODE_ROOT = '/sys/devices/system/node';

/** One node's memory, as `/sys/devices/system/node/nodeN/meminfo` prints it (`Node 1 MemFree: 20480 kB`). */
export interface NodeMemory {
  node: number;
  totalBytes: number;
  freeBytes: number;
}

/** `0-1`, `0,2-3` (the kernel's node and cpu lists) to the numbers they name. */
export function parseNodeList(text: string): number[] {
  const nodes: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) continue;
    const first = Number(range[1]);
    const last = range[2] !== undefined ? Number(range[2]) : first;
    for (let n = first; n <= last; n++) nodes.push(n);
  }
  return nodes;
}

/** A node's meminfo; undefined when the text is not one (no `Node N MemTotal`/`MemFree` lines). */
export function parseNodeMeminfo(text: string): NodeMemory | undefined {
  const field = (name: string) => {
    const match = new RegExp(`^Node (\\d+) ${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? { node: Number(match[1]), bytes: Number(match[2]) * 1024 } : undefined;
  };
  const total = field('MemTotal');
  const free = field('MemFree');
  if (!total || !free) return undefined;
  return { node: total.node, totalBytes: total.bytes, freeBytes: free.bytes };
}

/** `numa_stat` (`numa_hit 123`, `numa_miss 0`, `interleave_hit 42`, …) as counters. */
export function parseNumaStat(text: string): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(\w+) (\d+)$/.exec(line.trim());
    if (match) counters[match[1]!] = Number(match[2]);
  }
  return counters;
}

/** The node's NUMA nodes with memory, read now; one entry on a host without NUMA. */
export async function readNodeMemory(node: NodeAccess): Promise<NodeMemory[]> {
  const online = await node.readFile(`${NODE_ROOT}/online`);
  const numbers = online === undefined ? [0] : parseNodeList(online);
  const read = await Promise.all(numbers.map(async (n) => parseNodeMeminfo((await node.readFile(`${NODE_ROOT}/node${n}/meminfo`)) ?? '')));
  return read.filter((memory): memory is NodeMemory => memory !== undefined && memory.totalBytes > 0);
}

/** The metric a node's free memory is recorded under (`node1FreeBytes`): the report's chart and the judge read it by this name. */
export const nodeFreeMetric = (node: number) => `node${node}FreeBytes`;

/** The node a sample's metric is the free memory of (`node1FreeBytes` → 1), or undefined for any other metric. */
export function nodeOfFreeMetric(metric: string): number | undefined {
  const node = /^node(\d+)FreeBytes$/.exec(metric);
  return node && metric === nodeFreeMetric(Number(node[1])) ? Number(node[1]) : undefined;
}
/** numa_stat counters worth a line each: allocations a node served for another (miss) and interleaved ones (interleave_hit). */
const NUMA_STAT_COUNTERS = ['numa_miss', 'interleave_hit'] as const;

export interface NumaSamplerOptions {
  node: NodeAccess;
  timeline: Timeline;
  /** The instance the host-wide samples are filed under (a report draws host-wide series from one instance). */
  instance: string;
  /** @default 1_000 */
  intervalMs?: number;
}

/**
 * Samples every NUMA node's free memory (and numa_miss / interleave_hit per second) until stopped. One sample
 * is taken before it returns, so a kill early in the configuration still has the nodes' state before it.
 */
export async function startNumaSampler(options: NumaSamplerOptions): Promise<{ stop(): Promise<void> }> {
  const { node, timeline, instance } = options;
  let previous: { at: number; counters: Map<string, number> } | undefined;
  const sampleOnce = async () => {
    const at = performance.now();
    const memory = await readNodeMemory(node);
    for (const { node: n, freeBytes } of memory) timeline.add({ kind: 'sample', instance, source: 'host', metric: nodeFreeMetric(n), value: freeBytes });
    const counters = new Map<string, number>();
    for (const { node: n } of memory) {
      const stat = parseNumaStat((await node.readFile(`${NODE_ROOT}/node${n}/numastat`)) ?? '');
      for (const name of NUMA_STAT_COUNTERS) if (stat[name] !== undefined) counters.set(`node${n}_${name}`, stat[name]);
    }
    if (previous) {
      const seconds = (at - previous.at) / 1000;
      for (const [key, value] of counters) {
        const before = previous.counters.get(key);
        if (before !== undefined && seconds > 0) timeline.add({ kind: 'sample', instance, source: 'host', metric: `${key}PerSecond`, value: (value - before) / seconds });
      }
    }
    previous = { at, counters };
  };
  await sampleOnce().catch(() => {});
  const loop = sampleEvery(options.intervalMs ?? 1_000, () => sampleOnce().catch(() => {}));
  return { stop: () => loop.stop() };
}
