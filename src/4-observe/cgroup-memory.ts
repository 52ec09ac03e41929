import type { StartedInstance } from '../3-runtime/index.ts';
import { readKernelFile } from './kernel-files.ts';
import { sampleEvery } from './sample-every.ts';

function readNumber(path: string): number | undefined {
  const text = readKernelFile(path);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** What the observers need of an instance: where the runtime says its cgroups are. */
export type Locatable = Pick<StartedInstance, 'locate'>;

async function readOnce(instance: Locatable): Promise<{ peak: number; usage: number | undefined } | undefined> {
  const dir = (await instance.locate()).cgroupDirs.memory;
  if (!dir) return undefined;
  const peak = readNumber(`${dir}/memory.max_usage_in_bytes`) ?? readNumber(`${dir}/memory.peak`);
  if (peak === undefined) return undefined;
  return { peak, usage: readNumber(`${dir}/memory.usage_in_bytes`) ?? readNumber(`${dir}/memory.current`) };
}

/**
 * Samples a container's memory high-water mark until stopped. The cgroup vanishes when the
 * container dies, so the last sample is the best we get; the kernel's OOM report fills the gap.
 */
/** `onUsage` receives the current usage every `usageEvery` reads, for the memory-over-time chart. */
export function sampleMemoryPeak(instance: Locatable, intervalMs = 200, onUsage?: (bytes: number) => void, usageEvery = 2): { stop(): Promise<number | undefined> } {
  let peak: number | undefined;
  let reads = 0;
  const loop = sampleEvery(intervalMs, async () => {
    const value = await readOnce(instance);
    if (value === undefined) return;
    peak = Math.max(peak ?? 0, value.peak);
    // The usage over time is for charts; every other read is plenty and halves the report.
    if (value.usage !== undefined && reads++ % usageEvery === 0) onUsage?.(value.usage);
  });
  return {
    async stop() {
      const last = await readOnce(instance);
      if (last !== undefined) peak = Math.max(peak ?? 0, last.peak);
      await loop.stop();
      return peak;
    },
  };
}
