// The chaos timeline's actions: one function per step action, each returning the line a report shows
// and how to undo it. The run stage schedules them; this stage only acts.
import type { StepAction } from '../../../1-scenario/steps.ts';
import { dropCaches, thp } from './host.ts';
import { kill, pause, restart, unpause } from './lifecycle.ts';
import { limit } from './limit.ts';
import { network } from './network.ts';
import { runStep } from './run.ts';
import type { AppliedFault, FaultTarget } from './target.ts';
import { cpuHog, neighbour } from './tenants.ts';

export type { FaultTarget as DockerFaultTarget } from './target.ts';
export { StepRunFailedError, OUTPUT_KEEP_CHARS, type StepContext } from './run.ts';
export { netemArgs, nftLossRuleset, NFT_TABLE } from './network.ts';
export { swapFor, restoreUpdate } from './limit.ts';
export { cachedBytes } from './host.ts';
export { cpuHogScript, cpusetSize } from './tenants.ts';

/** Every action has its handler: a new action does not compile until it is added here. */
const HANDLERS: { [K in StepAction['action']]: (action: Extract<StepAction, { action: K }>, target: FaultTarget) => Promise<AppliedFault> } = {
  pause,
  unpause,
  kill,
  restart,
  limit,
  network,
  neighbour,
  'cpu-hog': cpuHog,
  'drop-caches': (_, target) => dropCaches(target),
  thp: (action, target) => thp(action, target),
  run: runStep,
};

export function applyFault(action: StepAction, target: FaultTarget): Promise<AppliedFault> {
  target.signal.throwIfAborted();
  const handler = HANDLERS[action.action] as (action: StepAction, target: FaultTarget) => Promise<AppliedFault>;
  return handler(action, target);
}
