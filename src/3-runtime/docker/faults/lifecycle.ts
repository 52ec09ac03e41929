// pause, unpause, kill and restart: the container's own lifecycle, through the engine.
import { FaultFailedError } from '../../../0-model/errors.ts';
import type { StepAction } from '../../../1-scenario/steps.ts';
import { engineMessage, instanceNamed, statusCodeOf, type AppliedFault, type FaultTarget } from './target.ts';

type Action<K extends StepAction['action']> = Extract<StepAction, { action: K }>;

/** Unpauses when the container is still paused; gone or already running is fine. */
async function unpauseIfPaused(target: FaultTarget, containerId: string): Promise<boolean> {
  const container = target.engine.api.getContainer(containerId);
  try {
    if (!(await container.inspect()).State.Paused) return false;
    await container.unpause();
    return true;
  } catch (error) {
    if (statusCodeOf(error) === 404 || statusCodeOf(error) === 409) return false;
    throw error;
  }
}

export async function pause(action: Action<'pause'>, target: FaultTarget): Promise<AppliedFault> {
  const instance = instanceNamed(target, action.instance);
  try {
    await target.engine.api.getContainer(instance.containerId).pause();
  } catch (error) {
    throw new FaultFailedError(`pause ${action.instance}: ${engineMessage(error)}`, { cause: error });
  }
  return {
    detail: `${action.instance} paused (every process frozen)`,
    undo: async () => {
      if (await unpauseIfPaused(target, instance.containerId)) target.log(`undo: ${action.instance} unpaused`);
    },
  };
}

export async function unpause(action: Action<'unpause'>, target: FaultTarget): Promise<AppliedFault> {
  const instance = instanceNamed(target, action.instance);
  const was = await unpauseIfPaused(target, instance.containerId).catch((error: unknown) => {
    throw new FaultFailedError(`unpause ${action.instance}: ${engineMessage(error)}`, { cause: error });
  });
  return { detail: was ? `${action.instance} unpaused` : `${action.instance} was not paused` };
}

export async function kill(action: Action<'kill'>, target: FaultTarget): Promise<AppliedFault> {
  const instance = instanceNamed(target, action.instance);
  const signal = action.signal ?? 'SIGKILL';
  try {
    await target.engine.api.getContainer(instance.containerId).kill({ signal });
  } catch (error) {
    throw new FaultFailedError(`kill ${action.instance} with ${signal}: ${engineMessage(error)}`, { cause: error });
  }
  return { detail: `${signal} sent to ${action.instance}` };
}

export async function restart(action: Action<'restart'>, target: FaultTarget): Promise<AppliedFault> {
  const instance = instanceNamed(target, action.instance);
  const container = target.engine.api.getContainer(instance.containerId);
  const graceMs = action.graceMs ?? 10_000;
  const before = await container.inspect().catch(() => undefined);
  try {
    // The engine's stop takes whole seconds; a paused container is unpaused first, or stop waits on it.
    if (before?.State.Paused) await container.unpause();
    await container.stop({ t: Math.ceil(graceMs / 1000) }).catch((error: unknown) => {
      if (statusCodeOf(error) !== 304) throw error; // 304: already stopped
    });
    await container.start();
  } catch (error) {
    throw new FaultFailedError(`restart ${action.instance}: ${engineMessage(error)}`, { cause: error });
  }
  const after = await container.inspect().catch(() => undefined);
  return { detail: `${action.instance} restarted (stop with ${graceMs}ms grace, then start; pid ${before?.State.Pid ?? '?'} → ${after?.State.Pid ?? '?'})` };
}
