// The memory limit an instance runs under, decided once by the plan and carried as `limit` observations:
// every reader (margins, post-mortem, charts, the "killed at" text) asks for the limit in force at t.
import type { Observation, ObservationOf } from './observation.ts';

/** The limit an instance's memory is held to: its own, or its side's budget where that is lower (or it has none). */
export interface InstanceLimit {
  limitBytes: number;
  /** The side whose budget it is, when the budget binds before the instance's own limit. */
  side?: string;
}

/** The one rule: the instance's own limit or its side's budget, whichever is lower; undefined with neither. */
export function effectiveLimit(ownBytes: number | undefined, side?: { name: string; memory: number }): InstanceLimit | undefined {
  if (side === undefined || (ownBytes !== undefined && ownBytes <= side.memory)) return ownBytes === undefined ? undefined : { limitBytes: ownBytes };
  return { limitBytes: side.memory, side: side.name };
}

/** The `limit` observation in force for `instance` at `t` (the last one at or before it); undefined before the first. */
export function limitInForce(observations: readonly Observation[], instance: string, t = Number.POSITIVE_INFINITY): ObservationOf<'limit'> | undefined {
  let found: ObservationOf<'limit'> | undefined;
  for (const o of observations) if (o.kind === 'limit' && o.instance === instance && o.t <= t && (found === undefined || o.t >= found.t)) found = o;
  return found;
}

/** The limit in bytes in force at `t`: undefined when none was recorded (a report from before limits were) or none is set. */
export function limitAt(observations: readonly Observation[], instance: string, t = Number.POSITIVE_INFINITY): number | undefined {
  return limitInForce(observations, instance, t)?.limitBytes;
}

/** Every change of the instance's limit, in time order: what a chart draws as a stepped line. */
export function limitChanges(observations: readonly Observation[], instance: string): { t: number; limitBytes?: number }[] {
  return observations
    .filter((o): o is ObservationOf<'limit'> => o.kind === 'limit' && o.instance === instance)
    .sort((a, b) => a.t - b.t)
    .map((o) => ({ t: o.t, ...(o.limitBytes !== undefined ? { limitBytes: o.limitBytes } : {}) }));
}
