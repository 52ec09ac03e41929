import type { StartedInstance } from '../3-runtime/index.ts';
import { readKernelFile } from './kernel-files.ts';
import { poll } from '../0-model/poll.ts';

function readNumber(path: string): number | undefined {
  const text = readKernelFile(path);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** What the observers need of an instance: where the runtime says its cgroups are. */
export type Locatable = Pick<StartedInstance, 'locate'>;

/** Anonymous memory in a cgroup's memory.stat: `total_rss` (v1, with its children), `anon` (v2). */
export function anonBytesOf(memoryStat: string | undefined): number | undefined {
  const match = /^(?:total_rss|anon) (\d+)$/m.exec(memoryStat ?? '');
  return match ? Number(match[1]) : undefined;
}

async function readOnce(instance: Locatable): Promise<{ peak: number; usage: number | undefined; anon: number | undefined } | undefined> {
  const dir = (await instance.locate()).cgroupDirs.memory;
  if (!dir) return undefined;
  const peak = readNumber(`${dir}/memory.max_usage_in_bytes`) ?? readNumber(`${dir}/memory.peak`);
  if (peak === undefined) return undefined;
  return { peak, usage: readNumber(`${dir}/memory.usage_in_bytes`) ?? readNumber(`${dir}/memory.current`), anon: anonBytesOf(readKernelFile(`${dir}/memory.stat`)) };
}

/**
 * Samples a container's memory high-water mark until stopped. The cgroup vanishes when the
 * container dies, so the last sample is the best we get; the kernel's OOM report fills the gap.
 */
/**
 * `onUsage` receives the current usage every `usageEvery` reads, for the memory-over-time chart; `onAnon` the
 * anonymous memory at the same reads, so a configuration without a workload has its anon peak too.
 */
export function sampleMemoryPeak(instance: Locatable, intervalMs = 200, onUsage?: (bytes: number) => void, usageEvery = 2, onAnon?: (bytes: number) => void): { stop(): Promise<number | undefined> } {
  let peak: number | undefined;
  let reads = 0;
  const stopping = new AbortController();
  const loop = poll(
    async () => {
      const value = await readOnce(instance);
      if (value !== undefined) {
        peak = Math.max(peak ?? 0, value.peak);
        // The usage over time is for charts; every other read is plenty and halves the report.
        if (reads++ % usageEvery === 0) {
          if (value.usage !== undefined) onUsage?.(value.usage);
          if (value.anon !== undefined) onAnon?.(value.anon);
        }
      }
      return undefined;
    },
    { intervalMs, signal: stopping.signal },
  );
  return {
    async stop() {
      const last = await readOnce(instance);
      if (last !== undefined) peak = Math.max(peak ?? 0, last.peak);
      stopping.abort();
      await loop;
      return peak;
    },
  };
}
