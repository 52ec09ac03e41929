import { readdir, readFile, readlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';

/** One line of /proc/PID/mountinfo (proc(5)); paths unescaped. */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** The path inside the filesystem that is mounted (a bind mount's source). */
  root: string;
  /** Where it is mounted, as the reading process sees it (relative to its root). */
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as three octal digits. */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    // Optional fields (shared:N, master:N…) come between the options and the lone `-`.
    const separator = fields.indexOf('-', 6);
    if (fields.length < 10 || separator < 0 || fields.length < separator + 4) continue;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      root: unescapeOctal(fields[3]!),
      mountPoint: unescapeOctal(fields[4]!),
      fsType: fields[separator + 1]!,
      source: unescapeOctal(fields[separator + 2]!),
      superOptions: fields[separator + 3]!.split(',').map(unescapeOctal),
    });
  }
  return entries;
}

/** A container's writable layer as the storage driver reports it (`GraphDriver.Data` of an inspect). */
export interface ContainerLayer {
  /** The layer's own folder, e.g. /var/lib/docker/overlay2/<layer>. */
  dir: string;
  mergedDir: string;
  upperDir?: string;
  workDir?: string;
}

export function layerOf(graphDriver: { Data?: Record<string, string> | null } | undefined): ContainerLayer | undefined {
  const data = graphDriver?.Data ?? undefined;
  const mergedDir = data?.MergedDir;
  if (!mergedDir) return undefined;
  return {
    dir: dirname(mergedDir),
    mergedDir,
    ...(data.UpperDir ? { upperDir: data.UpperDir } : {}),
    ...(data.WorkDir ? { workDir: data.WorkDir } : {}),
  };
}

/**
 * The mounts in one process's view that keep the layer in use: anything mounted on or under the layer's
 * folder, and an overlay built on its upper or work dir wherever it is mounted (inside the container it is `/`).
 */
export function layerMounts(entries: MountInfoEntry[], layer: ContainerLayer): MountInfoEntry[] {
  const overlayDirs = [layer.upperDir && `upperdir=${layer.upperDir}`, layer.workDir && `workdir=${layer.workDir}`].filter((o): o is string => !!o);
  return entries.filter((m) => m.mountPoint === layer.dir || m.mountPoint.startsWith(`${layer.dir}/`) || (m.fsType === 'overlay' && m.superOptions.some((o) => overlayDirs.includes(o))));
}

/** What one process shows of itself: enough to tell who holds a layer and how to let go of it. */
export interface ProcessView {
  pid: number;
  comm: string;
  /** The target of /proc/PID/ns/mnt, e.g. `mnt:[4026531832]`. */
  mountNamespace: string;
  cgroup: string;
  mountinfo: string;
}

export type Release = { kind: 'kill'; pid: number; comm: string; why: string } | { kind: 'unmount'; pid: number; mountNamespace: string; mountPoint: string; ownNamespace: boolean };

export function describeRelease(release: Release): string {
  return release.kind === 'kill'
    ? `killed pid ${release.pid} (${release.comm}): ${release.why}`
    : release.ownNamespace
      ? `unmounted ${release.mountPoint} (umount -l)`
      : `unmounted ${release.mountPoint} in the mount namespace ${release.mountNamespace} of pid ${release.pid} (nsenter -t ${release.pid} -m umount -l)`;
}

/**
 * What to do so the engine can remove a container whose layer is still in use: end the container's own
 * leftover processes (in its cgroup, or running on its filesystem; the container is being removed anyway),
 * and lazily unmount the layer wherever else it is still mounted, once per mount namespace. Other processes
 * are never killed.
 */
export function planRelease(containerId: string, layer: ContainerLayer, processes: ProcessView[], ownMountNamespace: string): Release[] {
  const kills: Release[] = [];
  const killed = new Set<number>();
  const mountsByProcess = new Map<number, MountInfoEntry[]>();
  for (const view of processes) {
    const mounts = layerMounts(parseMountInfo(view.mountinfo), layer);
    mountsByProcess.set(view.pid, mounts);
    const why = view.cgroup.includes(containerId)
      ? `a process of container ${containerId.slice(0, 12)} left running`
      : mounts.some((m) => m.mountPoint === '/')
        ? `runs on the container's filesystem`
        : undefined;
    if (why) {
      kills.push({ kind: 'kill', pid: view.pid, comm: view.comm, why });
      killed.add(view.pid);
    }
  }
  const unmounts = new Map<string, Release>();
  for (const view of processes) {
    if (killed.has(view.pid)) continue;
    // Deepest first: a mount under the merged dir must go before the merged dir itself.
    const mounts = [...(mountsByProcess.get(view.pid) ?? [])].sort((a, b) => b.mountPoint.length - a.mountPoint.length);
    for (const mount of mounts) {
      const key = `${view.mountNamespace} ${mount.mountPoint}`;
      if (unmounts.has(key)) continue;
      unmounts.set(key, {
        kind: 'unmount',
        pid: view.pid,
        mountNamespace: view.mountNamespace,
        mountPoint: mount.mountPoint,
        ownNamespace: view.mountNamespace === ownMountNamespace,
      });
    }
  }
  return [...kills, ...unmounts.values()];
}

/** Every process's view that mentions the layer or the container (the others cannot hold it). */
export async function readProcessViews(containerId: string, layer: ContainerLayer, procRoot = '/proc'): Promise<ProcessView[]> {
  const views: ProcessView[] = [];
  const needles = [layer.dir, layer.upperDir, layer.workDir].filter((n): n is string => !!n);
  for (const entry of await readdir(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    const base = `${procRoot}/${entry}`;
    // A process can end between the listing and the reads: skip it.
    const [mountinfo, cgroup, mountNamespace, comm] = await Promise.all([
      readFile(`${base}/mountinfo`, 'utf8').catch(() => ''),
      readFile(`${base}/cgroup`, 'utf8').catch(() => ''),
      readlink(`${base}/ns/mnt`).catch(() => ''),
      readFile(`${base}/comm`, 'utf8').catch(() => ''),
    ]);
    if (!mountNamespace) continue;
    if (!cgroup.includes(containerId) && !needles.some((n) => mountinfo.includes(n))) continue;
    views.push({ pid: Number(entry), comm: comm.trim(), mountNamespace, cgroup, mountinfo });
  }
  return views;
}

export async function ownMountNamespace(): Promise<string> {
  return readlink('/proc/self/ns/mnt').catch(() => '');
}

const RELEASE_TIMEOUT_MS = 10_000;

/** Carries out a plan; returns what was done and what failed (a release that fails is reported, never thrown). */
export async function carryOut(plan: Release[]): Promise<{ done: string[]; failed: string[] }> {
  const done: string[] = [];
  const failed: string[] = [];
  for (const release of plan) {
    if (release.kind === 'kill') {
      try {
        process.kill(release.pid, 'SIGKILL');
        done.push(describeRelease(release));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') continue;
        failed.push(`cannot kill pid ${release.pid} (${release.comm}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      continue;
    }
    const [file, args]: [string, string[]] = release.ownNamespace ? ['umount', ['-l', release.mountPoint]] : ['nsenter', ['-t', String(release.pid), '-m', 'umount', '-l', release.mountPoint]];
    const result = await execa(file, args, { timeout: RELEASE_TIMEOUT_MS, reject: false });
    if (result.exitCode === 0) done.push(describeRelease(release));
    else failed.push(`${file} ${args.join(' ')}: ${(result.stderr || result.shortMessage || '').split('\n')[0]}`);
  }
  // A killed process lets go of its mounts only once it has exited.
  const killedPids = plan.filter((r) => r.kind === 'kill').map((r) => r.pid);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && (await Promise.all(killedPids.map(running))).some(Boolean)) await new Promise((r) => setTimeout(r, 100));
  return { done, failed };
}

/** Neither gone nor a zombie (a zombie holds no mounts). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) [ZX]/s.test(stat);
}
