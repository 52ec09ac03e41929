import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ownerAlive } from './labels.ts';
import type { HostSwitch } from '../runtime.ts';

export const THP_ENABLED_PATH = '/sys/kernel/mm/transparent_hugepage/enabled';

/**
 * Where a changed host setting's original value is kept until it is restored: a run killed with
 * SIGKILL cannot restore it, so `oomlab clean` (and the next run) put it back from here.
 */
export const HOST_RESTORE_FILE = '/var/lib/oomlab/host-restore.json';

interface RestoreRecord {
  path: string;
  original: string;
  ownerPid: number;
}

/** The bracketed choice of a sysfs selector such as `always [madvise] never`. */
export function selectedMode(text: string): string | undefined {
  return /\[([\w+]+)\]/.exec(text)?.[1];
}

/** Why THP cannot be switched here, or undefined when it can; doctor and the planner say the same. */
export async function thpUnswitchableReason(path = THP_ENABLED_PATH): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return `THP mode cannot be read (${path} is missing: kernel without transparent hugepages)`;
  const current = selectedMode(text);
  if (!current) return `THP mode cannot be read from ${path}`;
  try {
    // Writing the current value back changes nothing and proves the file is writable.
    await writeFile(path, current);
    return undefined;
  } catch (error) {
    return `THP mode cannot be changed (${(error as NodeJS.ErrnoException).code ?? 'write failed'} on ${path}; run as root on a host, not in an unprivileged container)`;
  }
}

async function readRecords(file: string): Promise<RestoreRecord[]> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as RestoreRecord[];
  } catch {
    return [];
  }
}

async function writeRecords(file: string, records: RestoreRecord[]): Promise<void> {
  if (records.length === 0) {
    await rm(file, { force: true });
    return;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.partial`, JSON.stringify(records, null, 2));
  await rename(`${file}.partial`, file);
}

/**
 * Sets a host selector (THP mode) for the duration of a configuration. The original value is
 * recorded on disk first, so it is restored even if this process dies before `restore()`.
 */
export async function switchHostSetting(path: string, value: string, options: { recordFile?: string } = {}): Promise<HostSwitch> {
  const recordFile = options.recordFile ?? HOST_RESTORE_FILE;
  const original = selectedMode(await readFile(path, 'utf8'));
  if (!original) throw new Error(`cannot read the current value of ${path}`);
  const records = await readRecords(recordFile);
  // An earlier record of the same path holds the true original (a run died mid-switch): keep it.
  if (!records.some((r) => r.path === path)) await writeRecords(recordFile, [...records, { path, original, ownerPid: process.pid }]);
  const trueOriginal = (await readRecords(recordFile)).find((r) => r.path === path)?.original ?? original;
  await writeFile(path, value);
  let restored = false;
  return {
    path,
    original: trueOriginal,
    applied: value,
    async restore() {
      if (restored) return;
      restored = true;
      await writeFile(path, trueOriginal);
      await writeRecords(
        recordFile,
        (await readRecords(recordFile)).filter((r) => r.path !== path),
      );
    },
  };
}

/** Puts back host settings that a dead run changed. Returns what was restored. */
export async function restoreAbandonedHostSettings(options: { recordFile?: string; all?: boolean } = {}): Promise<{ path: string; value: string }[]> {
  const recordFile = options.recordFile ?? HOST_RESTORE_FILE;
  const records = await readRecords(recordFile);
  const restored: { path: string; value: string }[] = [];
  const kept: RestoreRecord[] = [];
  for (const record of records) {
    if (!options.all && record.ownerPid !== process.pid && ownerAlive(record.ownerPid)) {
      kept.push(record);
      continue;
    }
    await writeFile(record.path, record.original);
    restored.push({ path: record.path, value: record.original });
  }
  await writeRecords(recordFile, kept);
  return restored;
}
