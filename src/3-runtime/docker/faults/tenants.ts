// A memory neighbour or a CPU hog: another container on the host, started through the instance
// machinery (labels, removal), in a side's budget when given. Undo: removed.
import { availableParallelism } from 'node:os';
import { FaultFailedError } from '../../../0-model/errors.ts';
import { formatBytes } from '../../../0-model/units.ts';
import { memoryNeighbour } from '../../../1-scenario/define.ts';
import { instanceSchema, type InstanceSpec } from '../../../1-scenario/schema.ts';
import type { StepAction } from '../../../1-scenario/steps.ts';
import { startInstance } from '../instance.ts';
import { requireImage, type AppliedFault, type FaultTarget } from './target.ts';

/** How long a tenant must run without dying to count as started. */
const SETTLE_TIMEOUT_MS = 10_000;
let started = 0;

/** Host CPUs named by a cpuset such as `0-1,3`. */
export function cpusetSize(cpuset: string): number {
  return cpuset.split(',').reduce((n, part) => {
    const [from, to] = part.split('-').map(Number);
    return n + (to === undefined ? 1 : to - (from ?? 0) + 1);
  }, 0);
}

/** `workers` shell busy loops, then wait: one core each. */
export function cpuHogScript(workers: number): string {
  return `i=0; while [ $i -lt ${workers} ]; do (while :; do :; done) & i=$((i+1)); done; wait`;
}

async function startTenant(
  kind: string,
  spec: Omit<InstanceSpec, 'name'>,
  target: FaultTarget,
  side?: string,
): Promise<AppliedFault & { name: string; started: NonNullable<AppliedFault['started']> }> {
  await requireImage(target, spec.image, kind);
  const cgroupParent = side === undefined ? undefined : target.cgroupParents.get(side);
  if (side !== undefined && cgroupParent === undefined) {
    throw new FaultFailedError(`${kind}: no side \`${side}\` in configuration ${target.configId}; sides: ${[...target.cgroupParents.keys()].join(', ') || 'none (host(config).sides declares them)'}`);
  }
  // Named after its step (neighbour-3 is step neighbour-3's, in every configuration); a counter where no step or an instance has that name.
  const name = target.step !== undefined && !target.instances.has(target.step) ? target.step : `${kind}-${++started}`;
  const tenant = await startInstance(
    { ...spec, name },
    {
      engine: target.engine,
      run: target.run,
      configId: target.configId,
      configIndex: target.configIndex,
      hostNofileHardLimit: Number.MAX_SAFE_INTEGER,
      shimPath: () => Promise.reject(new Error('a tenant never emulates nofile')),
      ...(cgroupParent !== undefined ? { cgroupParent } : {}),
    },
  );
  const container = { instance: name, containerId: tenant.containerId };
  let removed = false;
  const undo = async () => {
    if (removed) return;
    await tenant[Symbol.asyncDispose]();
    removed = true;
    target.log(`undo: ${kind} ${tenant.containerName} removed`);
  };
  const ready = await tenant.waitReady(SETTLE_TIMEOUT_MS, target.signal).catch(async (error: unknown) => {
    await undo();
    throw error;
  });
  if (!ready.ready) {
    const state = await tenant.state().catch(() => undefined);
    const tail = (await tenant.logTail(5).catch(() => '')).trim().split('\n').at(-1);
    await undo();
    // Killed by the kernel at start is an outcome of the fault (its side was full), not a broken step.
    if (state?.oomKilled) return { name, started: container, detail: `${kind} ${name} OOM-killed as it started${side ? ` in side ${side}` : ''}` };
    throw new FaultFailedError(`${kind}: its container ${ready.why === 'exited' ? `exited with ${state?.exitCode ?? '?'}` : ready.why} within ${ready.afterMs}ms${tail ? `: ${tail}` : ''}`);
  }
  return { name, started: container, detail: '', undo };
}

export async function neighbour(action: Extract<StepAction, { action: 'neighbour' }>, target: FaultTarget): Promise<AppliedFault> {
  const spec = instanceSchema.parse({
    ...memoryNeighbour({ memory: action.memory, image: action.image, ...(action.cpusetCpus !== undefined ? { cpusetCpus: action.cpusetCpus } : {}) }),
    ...(action.oomScoreAdj !== undefined ? { oomScoreAdj: action.oomScoreAdj } : {}),
  });
  const tenant = await startTenant('neighbour', spec, target, action.side);
  return {
    started: tenant.started,
    detail: tenant.detail || `neighbour ${tenant.name} holding ${formatBytes(action.memory)}${action.side ? ` in side ${action.side}` : ''}${action.cpusetCpus ? ` on cpus ${action.cpusetCpus}` : ''}`,
    ...(tenant.undo ? { undo: tenant.undo } : {}),
  };
}

export async function cpuHog(action: Extract<StepAction, { action: 'cpu-hog' }>, target: FaultTarget): Promise<AppliedFault> {
  const workers = action.workers ?? (action.cpusetCpus ? cpusetSize(action.cpusetCpus) : availableParallelism());
  const spec = instanceSchema.parse({
    role: 'neighbour',
    image: action.image,
    entrypoint: ['sh', '-c', cpuHogScript(workers)],
    ...(action.cpusetCpus !== undefined ? { cpusetCpus: action.cpusetCpus } : {}),
  });
  const tenant = await startTenant('cpu-hog', spec, target);
  return {
    started: tenant.started,
    detail: tenant.detail || `cpu-hog ${tenant.name}: ${workers} busy loop${workers === 1 ? '' : 's'}${action.cpusetCpus ? ` on cpus ${action.cpusetCpus}` : ''}`,
    ...(tenant.undo ? { undo: tenant.undo } : {}),
  };
}
