// What a dead dockerd leaves mounted under its data root, and letting go of it before the next dockerd starts.
// A new dockerd bind-mounts its data root over itself; a layer still mounted on the filesystem beneath is
// then out of reach of every path, and its container stays "Removal In Progress" (`device or resource busy`).
import { readdir, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { parseMountInfo, type MountInfoEntry } from './mount-holders.ts';

export const DEFAULT_DATA_ROOT = '/var/lib/docker';

/** The engine's data root: daemon.json's `data-root` when set, else Docker's default. */
export async function dataRootOf(daemonJson = '/etc/docker/daemon.json'): Promise<string> {
  const text = await readFile(daemonJson, 'utf8').catch(() => '');
  try {
    const root = (JSON.parse(text) as { 'data-root'?: unknown })['data-root'];
    return typeof root === 'string' && root.startsWith('/') ? root.replace(/\/+$/, '') : DEFAULT_DATA_ROOT;
  } catch {
    return DEFAULT_DATA_ROOT;
  }
}

/** Mounts strictly under the data root (layers, shm), deepest first; the data root's own bind is not one. */
export function mountsUnder(entries: readonly MountInfoEntry[], dataRoot: string): MountInfoEntry[] {
  return entries.filter((m) => m.mountPoint.startsWith(`${dataRoot}/`)).sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.mountId - a.mountId);
}

/** The data root's bind over itself, topmost last, when an engine made one. */
export function dataRootBinds(entries: readonly MountInfoEntry[], dataRoot: string): MountInfoEntry[] {
  return entries.filter((m) => m.mountPoint === dataRoot && m.root === dataRoot);
}

/** Processes named dockerd that are alive (not zombies): while one is, its mounts are its own. */
export async function liveDockerds(procRoot = '/proc'): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`${procRoot}/${entry}/stat`, 'utf8').catch(() => '');
    const match = /^\d+ \((.*)\) (\S)/s.exec(stat);
    if (match?.[1] === 'dockerd' && match[2] !== 'Z' && match[2] !== 'X') pids.push(Number(entry));
  }
  return pids;
}

async function lazyUnmount(path: string): Promise<string | undefined> {
  const result = await execa('umount', ['-l', path], { timeout: 10_000, reject: false });
  return result.exitCode === 0 ? undefined : (result.stderr || result.shortMessage || '').split('\n')[0];
}

const readMounts = async () => parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));

/**
 * With no dockerd alive, lazily unmounts what a dead one left under its data root: each mount deepest first,
 * then, for those a leftover bind of the data root shadows, that bind (no engine uses it) and them again.
 * Containers still running keep their own copies of their mounts. Returns one line per mount let go, or per failure.
 */
export async function releaseDeadEngineMounts(dataRoot: string, read: () => Promise<MountInfoEntry[]> = readMounts): Promise<{ released: string[]; failed: string[] }> {
  const released: string[] = [];
  const failed: string[] = [];
  if ((await liveDockerds()).length > 0) return { released, failed };
  for (let pass = 0; pass < 2; pass++) {
    const entries = await read();
    const left = mountsUnder(entries, dataRoot);
    if (left.length === 0) break;
    for (const mount of left) {
      const why = await lazyUnmount(mount.mountPoint);
      if (why === undefined) released.push(`${mount.fsType} on ${mount.mountPoint}`);
    }
    const shadowed = mountsUnder(await read(), dataRoot);
    if (shadowed.length === 0) break;
    // What is still listed sits beneath the dead engine's bind of the data root: without the bind the paths reach it.
    const binds = dataRootBinds(await read(), dataRoot);
    if (pass === 1 || binds.length === 0) {
      failed.push(...shadowed.map((m) => `${m.fsType} on ${m.mountPoint} (mount ${m.mountId}) is still mounted`));
      break;
    }
    const why = await lazyUnmount(dataRoot);
    if (why !== undefined) {
      failed.push(`umount -l ${dataRoot}: ${why}`);
      break;
    }
    released.push(`the dead engine's bind of ${dataRoot}`);
  }
  return { released, failed };
}

/**
 * Whether a mount at `mountPoint` under the data root is out of reach: listed, but beneath the topmost bind
 * of the data root (a path resolves through that bind, where nothing is mounted), so `umount` answers "not mounted".
 */
export function shadowedBelowDataRoot(entries: readonly MountInfoEntry[], dataRoot: string, mountPoint: string): boolean {
  const binds = dataRootBinds(entries, dataRoot);
  const topmost = binds.find((b) => !binds.some((other) => other.parentId === b.mountId));
  if (!topmost) return false;
  const byId = new Map(entries.map((m) => [m.mountId, m]));
  return entries
    .filter((m) => m.mountPoint === mountPoint)
    .some((m) => {
      // Up through the mounts under the data root to the one its path starts in: reachable only through the topmost bind.
      let parent = byId.get(m.parentId);
      while (parent?.mountPoint.startsWith(`${dataRoot}/`)) parent = byId.get(parent.parentId);
      return parent?.mountId !== topmost.mountId;
    });
}

export async function shadowedMount(dataRoot: string, mountPoint: string): Promise<boolean> {
  return shadowedBelowDataRoot(await readMounts(), dataRoot, mountPoint);
}

/** Stops every live dockerd (SIGTERM, then SIGKILL after `graceMs`); true once none is left. */
export async function stopDockerd(graceMs = 30_000): Promise<boolean> {
  for (const pid of await liveDockerds()) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((await liveDockerds()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  for (const pid of await liveDockerds()) process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  return (await liveDockerds()).length === 0;
}
