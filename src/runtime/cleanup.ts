import type Docker from 'dockerode';
import { LABEL_OWNER_PID, LABEL_RUN } from './labels.ts';
import type { Engine } from './engine.ts';

/** Removes every container of one run (force, with volumes). Returns how many. */
export async function removeRunContainers(engine: Engine, runId: string): Promise<number> {
  const containers = await engine.api.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
  await Promise.all(containers.map((c) => removeContainer(engine.api, c.Id)));
  return containers.length;
}

export async function removeContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    // Already gone (auto-removed, or removed by a concurrent cleanup) is what we wanted.
    if ((error as { statusCode?: number }).statusCode !== 404 && (error as { statusCode?: number }).statusCode !== 409) throw error;
  }
}

function ownerAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface CleanResult {
  removed: { id: string; name: string; runId: string }[];
  /** Containers the engine refused to remove, with its reason; cleaning goes on past them. */
  failed: { name: string; reason: string }[];
  keptLive: number;
}

/** Removes what dead runs left behind; containers of runs still in progress stay unless `all`. */
export async function cleanLeftovers(engine: Engine, options: { all?: boolean } = {}): Promise<CleanResult> {
  const containers = await engine.api.listContainers({ all: true, filters: { label: [LABEL_RUN] } });
  const removed: CleanResult['removed'] = [];
  const failed: CleanResult['failed'] = [];
  let keptLive = 0;
  for (const container of containers) {
    const owner = Number(container.Labels[LABEL_OWNER_PID]);
    if (!options.all && owner !== process.pid && ownerAlive(owner)) {
      keptLive++;
      continue;
    }
    const name = container.Names[0]?.replace(/^\//, '') ?? container.Id;
    try {
      await removeContainer(engine.api, container.Id);
      removed.push({ id: container.Id, name, runId: container.Labels[LABEL_RUN] ?? '' });
    } catch (error) {
      failed.push({ name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { removed, failed, keptLive };
}
