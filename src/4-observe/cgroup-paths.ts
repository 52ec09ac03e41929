import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** Side budgets (runtime/side-budget.ts) nest containers under a parent of this name. */
const SIDE_PREFIX = 'oomlab-side-';
const found = new Map<string, string>();

/**
 * Where the engine put a container's cgroup for a v1 controller (or the v2 unified tree): under
 * `docker/`, a systemd scope, or a side budget's parent. Found paths are remembered; the cgroup
 * vanishes with the container, so callers treat a missing file as the end of the samples.
 */
export async function containerCgroupDir(containerId: string, controller: 'memory' | 'cpuacct'): Promise<string | undefined> {
  const key = `${controller}/${containerId}`;
  const known = found.get(key);
  if (known) return known;
  const v2 = existsSync(join(ROOT, 'cgroup.controllers'));
  const base = v2 ? ROOT : join(ROOT, controller);
  const candidates = [join(base, 'docker', containerId), join(base, 'system.slice', `docker-${containerId}.scope`)];
  for (const entry of await readdir(base).catch(() => [] as string[])) if (entry.startsWith(SIDE_PREFIX)) candidates.push(join(base, entry, containerId));
  const dir = candidates.find((candidate) => existsSync(candidate));
  if (dir) found.set(key, dir);
  return dir;
}
