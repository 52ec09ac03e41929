import { readFile } from 'node:fs/promises';

/** Where the engine puts a container's memory cgroup, for cgroup v1 and v2 with either driver. */
function candidateDirs(containerId: string): string[] {
  return [
    `/sys/fs/cgroup/memory/docker/${containerId}`,
    `/sys/fs/cgroup/memory/system.slice/docker-${containerId}.scope`,
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope`,
    `/sys/fs/cgroup/docker/${containerId}`,
  ];
}

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

async function readPeakOnce(containerId: string): Promise<number | undefined> {
  for (const dir of candidateDirs(containerId)) {
    const peak = (await readNumber(`${dir}/memory.max_usage_in_bytes`)) ?? (await readNumber(`${dir}/memory.peak`));
    if (peak !== undefined) return peak;
  }
  return undefined;
}

/**
 * Samples a container's memory high-water mark until stopped. The cgroup vanishes when the
 * container dies, so the last sample is the best we get; the kernel's OOM report fills the gap.
 */
export function sampleMemoryPeak(containerId: string, intervalMs = 200): { stop(): Promise<number | undefined> } {
  let peak: number | undefined;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const value = await readPeakOnce(containerId);
      if (value !== undefined) peak = Math.max(peak ?? 0, value);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      const last = await readPeakOnce(containerId);
      if (last !== undefined) peak = Math.max(peak ?? 0, last);
      stopped = true;
      await loop;
      return peak;
    },
  };
}
