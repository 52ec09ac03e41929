// Host-wide faults: the page cache dropped, transparent hugepages switched (restored by undo, and by
// `oomlab clean` from the record switchHostSetting keeps when the run dies first).
import { readFile, writeFile } from 'node:fs/promises';
import { FaultFailedError } from '../../../0-model/errors.ts';
import { formatBytes } from '../../../0-model/units.ts';
import type { StepAction } from '../../../1-scenario/steps.ts';
import { selectedMode, switchHostSetting, THP_ENABLED_PATH } from '../host-switches.ts';
import type { AppliedFault, FaultTarget } from './target.ts';

export const DROP_CACHES_PATH = '/proc/sys/vm/drop_caches';

/** `Cached:` of /proc/meminfo, in bytes. */
export function cachedBytes(meminfo: string): number | undefined {
  const match = /^Cached:\s+(\d+) kB$/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : undefined;
}

export async function dropCaches(target: FaultTarget, paths = { dropCaches: DROP_CACHES_PATH, meminfo: '/proc/meminfo' }): Promise<AppliedFault> {
  const before = cachedBytes(await readFile(paths.meminfo, 'utf8'));
  try {
    await writeFile(paths.dropCaches, '3');
  } catch (error) {
    throw new FaultFailedError(`drop-caches: cannot write ${paths.dropCaches} (${(error as NodeJS.ErrnoException).code ?? 'write failed'}) — run as root on a host, not in an unprivileged container`, {
      cause: error,
    });
  }
  const after = cachedBytes(await readFile(paths.meminfo, 'utf8'));
  target.log(`drop-caches: Cached ${before} → ${after} bytes`);
  if (before === undefined || after === undefined) return { detail: 'page cache, dentries and inodes dropped' };
  return { detail: `page cache dropped: ${formatBytes(before)} → ${formatBytes(after)} (${formatBytes(Math.max(0, before - after))} freed)` };
}

export async function thp(action: Extract<StepAction, { action: 'thp' }>, target: FaultTarget, path = THP_ENABLED_PATH, recordFile?: string): Promise<AppliedFault> {
  const current = selectedMode(await readFile(path, 'utf8').catch(() => ''));
  if (!current) throw new FaultFailedError(`thp: cannot read the mode from ${path} (kernel without transparent hugepages?)`);
  const hostSwitch = await switchHostSetting(path, action.mode, recordFile ? { recordFile } : {}).catch((error: unknown) => {
    throw new FaultFailedError(`thp: cannot write ${action.mode} to ${path} (${(error as NodeJS.ErrnoException).code ?? 'write failed'}) — run as root on a host`, { cause: error });
  });
  let undone = false;
  return {
    detail: `THP ${current} → ${action.mode}`,
    undo: async () => {
      if (undone) return;
      // The mode before this step; when a configuration's own THP switch holds the host's original, its restore stays its own.
      if (current === hostSwitch.original) await hostSwitch.restore();
      else await writeFile(path, current);
      undone = true;
      target.log(`undo: THP back to ${current}`);
    },
  };
}
