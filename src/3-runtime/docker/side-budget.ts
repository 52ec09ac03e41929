import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SideBudget } from '../runtime.ts';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** Every side budget's cgroup starts with this, so `oomlab clean` can find those a dead run left. */
export const SIDE_CGROUP_PREFIX = 'oomlab-side-';

/**
 * A side budget is a parent cgroup with a limit that its instances share (docker's CgroupParent): the
 * kernel then OOM-kills within the side, picking the largest tenant, as on replica A's host that also
 * ran a second instance.
 */
function isCgroupV2(): boolean {
  return existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
}

export function sideCgroupName(runId: string, configIndex: number, side: string): string {
  return `${SIDE_CGROUP_PREFIX}${runId.slice(-6)}-${configIndex}-${side}`;
}

export async function createSideBudget(runId: string, configIndex: number, side: string, limitBytes: number): Promise<SideBudget> {
  const name = sideCgroupName(runId, configIndex, side);
  const v2 = isCgroupV2();
  const dir = v2 ? join(CGROUP_ROOT, name) : join(CGROUP_ROOT, 'memory', name);
  await mkdir(dir, { recursive: true });
  if (v2) {
    await writeFile(join(dir, 'memory.max'), String(limitBytes));
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => {});
  } else {
    // Children account to the parent: without use_hierarchy the limit would not bind them (always 1 on modern kernels).
    await writeFile(join(dir, 'memory.use_hierarchy'), '1').catch(() => {});
    await writeFile(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => {});
  }
  return {
    side,
    cgroupParent: `/${name}`,
    limitBytes,
    locate: async () => ({ cgroupDirs: { memory: dir } }),
    remove: () => removeSideCgroup(name),
  };
}

/** Removes a side's cgroup in every hierarchy where runc created it; it must be empty (containers removed first). */
export async function removeSideCgroup(name: string): Promise<void> {
  const dirs = isCgroupV2() ? [join(CGROUP_ROOT, name)] : (await readdir(CGROUP_ROOT).catch(() => [] as string[])).map((controller) => join(CGROUP_ROOT, controller, name));
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    // A cgroup whose last task just died can refuse rmdir for a moment (EBUSY).
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 20) throw new Error(`cannot remove the side cgroup ${dir} (${code}) — \`oomlab clean\` retries once its containers are gone`, { cause: error });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

/** Side cgroups left by runs that died before removing them (names, once per hierarchy). */
export async function leftoverSideCgroups(): Promise<string[]> {
  const roots = isCgroupV2() ? [CGROUP_ROOT] : [join(CGROUP_ROOT, 'memory')];
  const names = new Set<string>();
  for (const root of roots) for (const entry of await readdir(root).catch(() => [] as string[])) if (entry.startsWith(SIDE_CGROUP_PREFIX)) names.add(entry);
  return [...names];
}
