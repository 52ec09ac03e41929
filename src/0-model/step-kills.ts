// The kernel's kills of containers that steps started (neighbours in a side budget), and how a report names them:
// the verdict, the margin and the ranking all say the same words.
import type { ObservationOf } from './observation.ts';

type KernelKill = ObservationOf<'kernel-oom'>;

/** The kills of containers the given steps started. */
export function stepKills(observations: readonly { kind: string }[], steps: readonly string[] | undefined): KernelKill[] {
  if (!steps?.length) return [];
  return observations.filter((o): o is KernelKill => o.kind === 'kernel-oom' && (o as KernelKill).step !== undefined && steps.includes((o as KernelKill).step!));
}

/** `step neighbour-2's container neighbour-2 (perl)`. */
export function stepContainerText(kill: Pick<KernelKill, 'step' | 'instance' | 'process'>): string {
  return `step ${kill.step}'s container ${kill.instance} (${kill.process})`;
}

/** `the neighbours of steps neighbour-1, neighbour-2`. */
export function stepNeighboursText(steps: readonly string[]): string {
  return `the neighbours of step${steps.length > 1 ? 's' : ''} ${steps.join(', ')}`;
}
