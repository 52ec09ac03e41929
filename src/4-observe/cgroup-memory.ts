import type { StartedInstance } from '../3-runtime/index.ts';
import { nodeReader, type NodeRead } from './kernel-files.ts';
import { sampleEvery } from './sample-every.ts';

async function readNumber(read: NodeRead, path: string): Promise<number | undefined> {
  const text = await read(path);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** What the observers need of an instance: where the runtime says its cgroups are. */
export type Locatable = Pick<StartedInstance, 'locate'>;

/** A cgroup's memory split as `memory.stat` counts it: anonymous (v1 `total_rss`/`rss`, v2 `anon`) and page cache (v1 `total_cache`/`cache`, v2 `file`). */
export interface MemorySplit {
  anonBytes: number;
  cacheBytes: number;
}

export function memorySplitOf(stat: string | undefined): MemorySplit | undefined {
  const values = new Map<string, number>();
  for (const line of (stat ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) values.set(key, Number(value));
  }
  const anonBytes = values.get('total_rss') ?? values.get('rss') ?? values.get('anon');
  const cacheBytes = values.get('total_cache') ?? values.get('cache') ?? values.get('file');
  return anonBytes === undefined || cacheBytes === undefined ? undefined : { anonBytes, cacheBytes };
}

/** Anonymous memory in a cgroup's memory.stat: `total_rss` (v1, with its children), `anon` (v2). */
export function anonBytesOf(memoryStat: string | undefined): number | undefined {
  const match = /^(?:total_rss|anon) (\d+)$/m.exec(memoryStat ?? '');
  return match ? Number(match[1]) : undefined;
}

async function readOnce(instance: Locatable): Promise<{ peak: number; usage: number | undefined; split: MemorySplit | undefined } | undefined> {
  const location = await instance.locate();
  const dir = location.cgroupDirs.memory;
  if (!dir) return undefined;
  const read = nodeReader(location.node);
  const v1Peak = await readNumber(read, `${dir}/memory.max_usage_in_bytes`);
  const current = v1Peak === undefined ? await readNumber(read, `${dir}/memory.current`) : undefined;
  // v2 before 5.19 has no memory.peak: the sampled memory.current is the best high-water mark there.
  const peak = v1Peak ?? (await readNumber(read, `${dir}/memory.peak`)) ?? current;
  if (peak === undefined) return undefined;
  const usage = v1Peak !== undefined ? await readNumber(read, `${dir}/memory.usage_in_bytes`) : current;
  return { peak, usage, split: memorySplitOf(await read(`${dir}/memory.stat`)) };
}

/** What a memory sampler measured: the cgroup's high-water mark (page cache counted), and its anonymous peak with the page cache beside it then. */
export interface MemoryPeakSampler {
  stop(): Promise<number | undefined>;
  /** The highest anonymous memory sampled, with the page cache at that moment; undefined before any memory.stat read. */
  anonymousPeak?(): MemorySplit | undefined;
}

/**
 * Samples a container's memory high-water mark until stopped. The cgroup vanishes when the
 * container dies, so the last sample is the best we get; the kernel's OOM report fills the gap.
 * `onUsage` receives the current usage every `usageEvery` reads, for the memory-over-time chart; `onAnon` the
 * anonymous memory at the same reads, so a configuration without a workload has its anon series too.
 */
export function sampleMemoryPeak(instance: Locatable, intervalMs = 200, onUsage?: (bytes: number) => void, usageEvery = 2, onAnon?: (bytes: number) => void): Required<MemoryPeakSampler> {
  let peak: number | undefined;
  let anonymous: MemorySplit | undefined;
  let reads = 0;
  const take = (split: MemorySplit | undefined) => {
    if (split && split.anonBytes >= (anonymous?.anonBytes ?? 0)) anonymous = split;
  };
  const loop = sampleEvery(intervalMs, async () => {
    const value = await readOnce(instance);
    if (value === undefined) return;
    peak = Math.max(peak ?? 0, value.peak);
    take(value.split);
    // The usage over time is for charts; every other read is plenty and halves the report.
    if (reads++ % usageEvery === 0) {
      if (value.usage !== undefined) onUsage?.(value.usage);
      if (value.split !== undefined) onAnon?.(value.split.anonBytes);
    }
  });
  return {
    async stop() {
      const last = await readOnce(instance);
      if (last !== undefined) peak = Math.max(peak ?? 0, last.peak);
      take(last?.split);
      await loop.stop();
      return peak;
    },
    anonymousPeak: () => anonymous,
  };
}
