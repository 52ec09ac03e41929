// `docker update` of memory and CPU limits on the live container; undo puts back the values read before.
import { FaultFailedError } from '../../../0-model/errors.ts';
import { formatBytes } from '../../../0-model/units.ts';
import type { StepAction } from '../../../1-scenario/steps.ts';
import { engineMessage, instanceNamed, statusCodeOf, type AppliedFault, type FaultTarget } from './target.ts';

interface Limits {
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuQuota: number;
  CpuPeriod: number;
}

const NANO = 1e9;

function memoryText(bytes: number): string {
  return bytes > 0 ? formatBytes(bytes) : 'none';
}

function cpusOf(limits: Limits): number | undefined {
  if (limits.NanoCpus > 0) return limits.NanoCpus / NANO;
  if (limits.CpuQuota > 0) return limits.CpuQuota / (limits.CpuPeriod || 100_000);
  return undefined;
}

/** The swap allowance the container had is kept: none stays none, unlimited stays unlimited. */
export function swapFor(before: Pick<Limits, 'Memory' | 'MemorySwap'>, memory: number): number {
  if (before.MemorySwap === -1) return -1;
  if (before.Memory > 0 && before.MemorySwap > before.Memory) return memory + (before.MemorySwap - before.Memory);
  return memory;
}

/** The update that puts `before` back; an absent limit is written as unlimited (-1), which the engine applies, where 0 means "unchanged". */
export function restoreUpdate(before: Limits, changedMemory: boolean, changedCpus: boolean): Record<string, number> {
  const update: Record<string, number> = {};
  if (changedMemory) {
    update.Memory = before.Memory > 0 ? before.Memory : -1;
    update.MemorySwap = before.Memory > 0 ? before.MemorySwap || before.Memory : -1;
  }
  if (changedCpus) {
    if (before.NanoCpus > 0) update.NanoCpus = before.NanoCpus;
    else if (before.CpuQuota > 0) Object.assign(update, { CpuQuota: before.CpuQuota, CpuPeriod: before.CpuPeriod || 100_000 });
    else update.CpuQuota = -1;
  }
  return update;
}

async function memoryUsage(target: FaultTarget, containerId: string): Promise<number | undefined> {
  const stats = (await target.engine.api
    .getContainer(containerId)
    .stats({ stream: false })
    .catch(() => undefined)) as { memory_stats?: { usage?: number } } | undefined;
  return stats?.memory_stats?.usage;
}

export async function limit(action: Extract<StepAction, { action: 'limit' }>, target: FaultTarget): Promise<AppliedFault> {
  const instance = instanceNamed(target, action.instance);
  const container = target.engine.api.getContainer(instance.containerId);
  const host = (await container.inspect()).HostConfig;
  const before: Limits = {
    Memory: host.Memory ?? 0,
    MemorySwap: host.MemorySwap ?? 0,
    NanoCpus: host.NanoCpus ?? 0,
    CpuQuota: host.CpuQuota ?? 0,
    CpuPeriod: host.CpuPeriod ?? 0,
  };
  const update: Record<string, number> = {};
  const parts: string[] = [];
  const undoParts: string[] = [];
  if (action.memory !== undefined) {
    update.Memory = action.memory;
    update.MemorySwap = swapFor(before, action.memory);
    parts.push(`memory limit ${memoryText(before.Memory)} → ${formatBytes(action.memory)}`);
    undoParts.push(`memory limit ${formatBytes(action.memory)} → ${memoryText(before.Memory)}`);
  }
  if (action.cpus !== undefined) {
    // NanoCpus and a quota cannot both be set: a container limited by quota is updated by quota.
    if (before.CpuQuota > 0) Object.assign(update, { CpuQuota: Math.round(action.cpus * (before.CpuPeriod || 100_000)), CpuPeriod: before.CpuPeriod || 100_000 });
    else update.NanoCpus = Math.round(action.cpus * NANO);
    parts.push(`cpus ${cpusOf(before) ?? 'none'} → ${action.cpus}`);
    undoParts.push(`cpus ${action.cpus} → ${cpusOf(before) ?? 'none'}`);
  }
  try {
    await container.update(update);
  } catch (error) {
    const message = engineMessage(error);
    if (action.memory !== undefined && /unable to set memory limit|device or resource busy|EBUSY/i.test(message)) {
      // runc says `unable to set memory limit to N (current usage: U, peak usage: P)`; else ask the engine.
      const said = /current usage: (\d+)/.exec(message)?.[1];
      const usage = said !== undefined ? Number(said) : await memoryUsage(target, instance.containerId);
      throw new FaultFailedError(
        `limit ${action.instance}: the kernel refused a memory limit of ${formatBytes(action.memory)} below what the container uses${usage ? ` (${formatBytes(usage)})` : ''} and could not reclaim down to it — give a limit above its usage, or start a neighbour to squeeze it instead`,
        { cause: error },
      );
    }
    throw new FaultFailedError(`limit ${action.instance}: ${message}`, { cause: error });
  }
  const restore = restoreUpdate(before, action.memory !== undefined, action.cpus !== undefined);
  let undone = false;
  return {
    detail: parts.join(', '),
    undoDetail: undoParts.join(', '),
    ...(action.memory !== undefined ? { memoryLimit: { instance: action.instance, ownBytes: action.memory, ...(before.Memory > 0 ? { undoneOwnBytes: before.Memory } : {}) } } : {}),
    undo: async () => {
      if (undone) return;
      try {
        await container.update(restore);
        undone = true;
        target.log(`undo: ${action.instance} limits back to memory ${memoryText(before.Memory)}, cpus ${cpusOf(before) ?? 'none'}`);
      } catch (error) {
        if (statusCodeOf(error) === 404) {
          undone = true;
          return;
        }
        throw new FaultFailedError(`undo limit ${action.instance}: ${engineMessage(error)}`, { cause: error });
      }
    },
  };
}
