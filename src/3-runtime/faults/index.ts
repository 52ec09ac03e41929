// TEMPORARY SHIM (chaos-run): a minimal applyFault (pause, unpause, kill, limit, drop-caches) so the
// scheduler and its tests run before chaos-actions' implementation is merged; theirs replaces this file.
import { writeFile } from 'node:fs/promises';
import type { StepAction } from '../../1-scenario/index.ts';
import type { Engine } from '../engine.ts';
import type { StartedInstance } from '../instance.ts';
import type { RunLabels } from '../labels.ts';

export interface FaultTarget {
  engine: Engine;
  run: RunLabels;
  configId: string;
  configIndex: number;
  /** Started instances by name. */
  instances: ReadonlyMap<string, StartedInstance>;
  /** Side name → the side budget's cgroup parent. */
  cgroupParents: ReadonlyMap<string, string>;
  /** The configuration's signal. */
  signal: AbortSignal;
  /** Appends to the run's log file (reportDir/run.log). */
  log: (line: string) => void;
  /** The scenario file's folder. */
  cwd: string;
}

export interface AppliedFault {
  detail: string;
  output?: string;
  undo?: () => Promise<void>;
}

/** Marks this file as the shim: tests that need the other faults skip while it is here. */
export const FAULTS_SHIM = true;

const gone = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;

export async function applyFault(action: StepAction, target: FaultTarget): Promise<AppliedFault> {
  if (action.action === 'drop-caches') {
    await writeFile('/proc/sys/vm/drop_caches', '3');
    return { detail: 'dropped the page cache, dentries and inodes' };
  }
  if (!('instance' in action) || action.instance === undefined) throw new Error(`the shim does not implement ${action.action}`);
  const instance = target.instances.get(action.instance);
  if (!instance) throw new Error(`instance ${action.instance} was not started`);
  const container = target.engine.api.getContainer(instance.containerId);
  switch (action.action) {
    case 'pause':
      await container.pause();
      return {
        detail: `paused ${action.instance}`,
        undo: async () => {
          const state = await container.inspect().catch((error: unknown) => (gone(error) ? undefined : Promise.reject(error)));
          if (state?.State.Paused) await container.unpause();
        },
      };
    case 'unpause':
      await container.unpause();
      return { detail: `unpaused ${action.instance}` };
    case 'kill':
      await container.kill({ signal: action.signal ?? 'SIGKILL' });
      return { detail: `sent ${action.signal ?? 'SIGKILL'} to ${action.instance}` };
    case 'limit': {
      const before = (await container.inspect()).HostConfig;
      const update = {
        ...(action.memory !== undefined ? { Memory: action.memory, MemorySwap: action.memory } : {}),
        ...(action.cpus !== undefined ? { NanoCpus: Math.round(action.cpus * 1e9) } : {}),
      };
      await container.update(update);
      return {
        detail: `${action.instance}: ${Object.entries(update)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        undo: async () => {
          const restore = {
            ...(action.memory !== undefined ? { Memory: before.Memory ?? 0, MemorySwap: before.MemorySwap ?? 0 } : {}),
            ...(action.cpus !== undefined ? { NanoCpus: before.NanoCpus ?? 0 } : {}),
          };
          await container.update(restore).catch((error: unknown) => (gone(error) ? undefined : Promise.reject(error)));
        },
      };
    }
    default:
      throw new Error(`the shim does not implement ${action.action}`);
  }
}
