import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { LABEL_OWNER_PID, LABEL_RUN, LABEL_SESSION, ownerAlive } from './labels.ts';
import { connectEngine, engineMessage, statusCodeOf, type Engine } from './engine.ts';
import { dataRootOf, shadowedMount, stopDockerd } from './engine-leftovers.ts';
import type { CleanResult, RemovedContainer, StuckContainer } from '../runtime.ts';
import { carryOut, layerOf, ownMountNamespace, planRelease, readProcessViews, type ContainerLayer } from './mount-holders.ts';
import { leftoverSideCgroups, removeSideCgroup, SIDE_CGROUP_PREFIX } from './side-budget.ts';

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
    if (statusCodeOf(error) !== 404 && statusCodeOf(error) !== 409) throw error;
  }
}

export type Removal = ({ kind: 'removed' } & RemovedContainer) | ({ kind: 'stuck' } & StuckContainer);

/** How long a removal someone else started (the engine answers 409) may take before the container counts as stuck. */
const CONCURRENT_REMOVAL_WAIT_MS = 10_000;

async function stateOf(docker: Docker, id: string): Promise<{ status: string; layer: ContainerLayer | undefined } | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    return { status: info.State.Status, layer: layerOf(info.GraphDriver) };
  } catch (error) {
    if (statusCodeOf(error) === 404) return undefined;
    throw error;
  }
}

/** Undefined once the container is gone, else the engine's refusal. Throws only when the engine does not answer. */
async function attemptRemoval(docker: Docker, id: string): Promise<string | undefined> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
    return undefined;
  } catch (error) {
    const code = statusCodeOf(error);
    if (code === undefined) throw error;
    if (code === 404) return undefined;
    if (code !== 409) return engineMessage(error);
    // 409: a removal is already under way, a concurrent clean's or one the engine never finished.
    const deadline = Date.now() + CONCURRENT_REMOVAL_WAIT_MS;
    while (Date.now() < deadline) {
      if ((await stateOf(docker, id)) === undefined) return undefined;
      await sleep(500);
    }
    return engineMessage(error);
  }
}

/** What to do by hand, in one line: free what still mounts the layer when something does, else what the engine names. */
export function byHandAdvice(id: string, layer: ContainerLayer | undefined, stillMounted: boolean): string {
  const lastResort = `if it stays: stop dockerd, \`rm -rf /var/lib/docker/containers/${id}\`, start dockerd`;
  if (layer && stillMounted) {
    return `\`grep -l ${basename(layer.dir)} /proc/*/mountinfo\` names what still mounts its filesystem: \`nsenter -t PID -m umount -l ${layer.mergedDir}\` or end that process, then \`oomlab clean\`; ${lastResort}`;
  }
  return `free the path the engine names (a mount on it, an immutable file: \`lsattr\`) or restart dockerd, then \`oomlab clean\`; ${lastResort}`;
}

/**
 * Removes a leftover container (force, with volumes). When the engine refuses because the container's
 * filesystem is still in use (`driver "overlay2" failed to remove root filesystem … device or resource busy`,
 * a removal left half-done by a killed dockerd), it frees what holds the layer — the container's own leftover
 * processes are killed, its mounts in other mount namespaces lazily unmounted — and tries once more.
 * Throws only when the engine does not answer.
 */
export async function removeLeftover(engine: Engine, container: { id: string; name: string; runId: string }): Promise<Removal> {
  const docker = engine.api;
  const first = await attemptRemoval(docker, container.id);
  if (first === undefined) return { kind: 'removed', ...container, released: [] };
  const state = await stateOf(docker, container.id);
  if (state === undefined) return { kind: 'removed', ...container, released: [] };
  const released: string[] = [];
  let reason = first;
  let stillMounted = false;
  if (state.layer) {
    const plan = planRelease(container.id, state.layer, await readProcessViews(container.id, state.layer), await ownMountNamespace());
    const { done, failed } = await carryOut(plan);
    released.push(...done, ...failed.map((f) => `could not: ${f}`));
    if (plan.length > 0) {
      const second = await attemptRemoval(docker, container.id);
      if (second === undefined) return { kind: 'removed', ...container, released: done };
      reason = second;
      stillMounted = planRelease(container.id, state.layer, await readProcessViews(container.id, state.layer), await ownMountNamespace()).length > 0;
    } else {
      released.push(`nothing on this host mounts ${state.layer.mergedDir}`);
    }
  }
  if (state.layer && (await shadowedMount(await dataRootOf(), state.layer.mergedDir))) {
    const restart = await restartPastShadow(engine, container.id);
    released.push(...restart.released);
    if (restart.removed) return { kind: 'removed', ...container, released };
  }
  const now = await stateOf(docker, container.id);
  if (now === undefined) return { kind: 'removed', ...container, released };
  return { kind: 'stuck', ...container, state: now.status, reason, released, byHand: byHandAdvice(container.id, now.layer ?? state.layer, stillMounted) };
}

/**
 * The layer is mounted beneath the bind a restarted dockerd made of its data root, where no path reaches it:
 * only a dockerd that is down lets it go. Stops the engine (its running containers stop too), and starts it
 * again, which first releases what the dead engine left mounted; then removes the container.
 */
async function restartPastShadow(engine: Engine, id: string): Promise<{ removed: boolean; released: string[] }> {
  const released = ["its layer is mounted beneath dockerd's bind of its data root: restarting dockerd"];
  if (!(await stopDockerd())) return { removed: false, released: [...released, 'could not stop dockerd'] };
  await connectEngine({ install: false, onProgress: (line) => released.push(line) });
  return { removed: (await attemptRemoval(engine.api, id)) === undefined, released };
}

function identify(container: Docker.ContainerInfo): { id: string; name: string; runId: string } {
  return { id: container.Id, name: container.Names[0]?.replace(/^\//, '') ?? container.Id, runId: container.Labels[LABEL_RUN] ?? '' };
}

/** Removes what dead runs left behind; containers of runs still in progress stay unless `all`. */
export async function cleanLeftovers(engine: Engine, options: { all?: boolean } = {}): Promise<CleanResult> {
  const containers = await engine.api.listContainers({ all: true, filters: { label: [LABEL_RUN] } });
  const result: CleanResult = { removed: [], stuck: [], keptLive: 0 };
  for (const container of containers) {
    const owner = Number(container.Labels[LABEL_OWNER_PID]);
    if (!options.all && owner !== process.pid && ownerAlive(owner)) {
      result.keptLive++;
      continue;
    }
    const { kind, ...removal } = await removeLeftover(engine, identify(container));
    if (kind === 'removed') result.removed.push(removal);
    else result.stuck.push(removal as StuckContainer);
  }
  return result;
}

export interface SessionCleanResult extends Omit<CleanResult, 'keptLive'> {
  networks: string[];
  volumes: string[];
  sideCgroups: string[];
  /** What could not be removed other than stuck containers, one line each. */
  problems: string[];
}

/**
 * Removes everything labelled with one session (containers with their volumes, then networks, then
 * volumes, then the side cgroups of the session's runs), whoever owns it and whether or not its run is
 * alive: a session's teardown runs once all of its runs are over. Other sessions' objects are never touched.
 */
export async function removeSession(engine: Engine, session: string): Promise<SessionCleanResult> {
  const filters = { label: [`${LABEL_SESSION}=${session}`] };
  const result: SessionCleanResult = { removed: [], stuck: [], networks: [], volumes: [], sideCgroups: [], problems: [] };
  const containers = await engine.api.listContainers({ all: true, filters });
  const runIds = new Set(containers.map((c) => c.Labels[LABEL_RUN]).filter((r): r is string => !!r));
  for (const container of containers) {
    const { kind, ...removal } = await removeLeftover(engine, identify(container));
    if (kind === 'removed') result.removed.push(removal);
    else result.stuck.push(removal as StuckContainer);
  }
  for (const network of await engine.api.listNetworks({ filters })) {
    await engine.api
      .getNetwork(network.Id)
      .remove()
      .then(
        () => result.networks.push(network.Name),
        (error: unknown) => statusCodeOf(error) === 404 || result.problems.push(`network ${network.Name}: ${engineMessage(error)}`),
      );
  }
  for (const volume of (await engine.api.listVolumes({ filters })).Volumes ?? []) {
    await engine.api
      .getVolume(volume.Name)
      .remove()
      .then(
        () => result.volumes.push(volume.Name),
        (error: unknown) => statusCodeOf(error) === 404 || result.problems.push(`volume ${volume.Name}: ${engineMessage(error)}`),
      );
  }
  const prefixes = [...runIds].map((runId) => `${SIDE_CGROUP_PREFIX}${runId.slice(-6)}-`);
  for (const name of await leftoverSideCgroups()) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    await removeSideCgroup(name).then(
      () => result.sideCgroups.push(name),
      (error: unknown) => result.problems.push(error instanceof Error ? error.message : String(error)),
    );
  }
  return result;
}
