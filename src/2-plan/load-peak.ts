// The connections the scenario's workload can hold open on one server, and the peak they bring: what the
// limit must cover for this load, beside the worst case that only max_connections bounds.
import type { ConnectionBound, LoadPeak, MemoryTerm } from '../0-model/prediction.ts';
import { BURST_POOL_SIZE, HTTP_MAX_IN_FLIGHT, STORM_MAX_IN_FLIGHT } from '../0-model/workload-defaults.ts';
import type { Workload } from '../1-scenario/index.ts';
import { connectionTerms, sumOf } from './memory-terms.ts';
import type { ServerVariables } from './server-profiles.ts';

/** One thing that caps the connections on a server at once: how many, and in words. */
export interface ConnectionCap {
  by: ConnectionBound;
  connections: number;
  text: string;
}

/** Arrivals the stages schedule in all: the rate ramps linearly within a stage, as the drivers ramp it. */
export function arrivalsOf(stages: readonly { targetPerSecond: number; durationMs: number }[], startPerSecond = 0): number {
  let from = startPerSecond;
  let total = 0;
  for (const stage of stages) {
    total += ((from + stage.targetPerSecond) / 2) * (stage.durationMs / 1000);
    from = stage.targetPerSecond;
  }
  // The drivers start arrival k once k arrivals are due, with the same tolerance.
  return Math.floor(total + 1e-9);
}

/**
 * What caps the connections `workload` holds open on `instance` at once, before the server's own
 * max_connections: a session of a storm, or a request of a `new-connection` burst, holds one connection to
 * one server while it runs, so there are never more than arrive in all, nor more than the driver keeps in
 * flight; a pooled burst holds at most its pool on each replica. Undefined when the workload does not reach the instance.
 */
export function workloadCaps(workload: Workload, instance: string): ConnectionCap[] | undefined {
  if (workload.kind === 'storm') {
    if (workload.target !== instance) return undefined;
    const arrivals = arrivalsOf(workload.stages, workload.startPerSecond);
    const maxInFlight = workload.maxInFlight ?? STORM_MAX_IN_FLIGHT;
    return [
      { by: 'arrivals', connections: arrivals, text: `${arrivals} sessions arrive` },
      { by: 'maxInFlight', connections: maxInFlight, text: `maxInFlight ${maxInFlight}` },
    ];
  }
  if (!workload.targets.includes(instance)) return undefined;
  const arrivals = arrivalsOf(workload.stages, workload.startPerSecond);
  const maxInFlight = workload.maxInFlight ?? HTTP_MAX_IN_FLIGHT;
  const caps: ConnectionCap[] = [
    { by: 'arrivals', connections: arrivals, text: `${arrivals} requests arrive` },
    { by: 'maxInFlight', connections: maxInFlight, text: `maxInFlight ${maxInFlight}` },
  ];
  if (workload.connectionMode === 'pool') {
    const poolSize = workload.poolSize ?? BURST_POOL_SIZE;
    caps.push({ by: 'poolSize', connections: poolSize, text: `poolSize ${poolSize} per replica` });
  }
  return caps;
}

export interface LoadPeakInput {
  variables: ServerVariables;
  /** The start-up and global terms of the worst case: the load does not change them. */
  fixedTerms: readonly MemoryTerm[];
  caps: readonly ConnectionCap[];
  /** `@@max_connections` after start-up (lowered when descriptors run short). */
  maxConnections: number;
  limitBytes?: number;
}

/** The peak for the fewest connections any cap allows, the server's max_connections + 1 among them. */
export function loadPeak(input: LoadPeakInput): LoadPeak {
  const server: ConnectionCap = { by: 'max_connections', connections: input.maxConnections + 1, text: `max_connections ${input.maxConnections} + 1 admin` };
  const caps = [...input.caps, server];
  // On a tie the server's cap wins: the load then reaches the worst case.
  const bound = caps.reduce((best, cap) => (cap.connections < best.connections || (cap.connections === best.connections && cap === server) ? cap : best));
  const terms = [...input.fixedTerms, ...connectionTerms(input.variables, bound.connections, `${bound.connections} connections (${bound.text})`)];
  const peakBytes = sumOf(terms);
  const limitBytes = input.limitBytes;
  return {
    peakBytes,
    connections: bound.connections,
    boundBy: bound.by,
    formula: `min(${caps.map((c) => c.text).join(', ')}) = ${bound.connections}`,
    fits: limitBytes === undefined ? undefined : peakBytes <= limitBytes,
    ...(limitBytes !== undefined ? { headroomBytes: limitBytes - peakBytes } : {}),
    limitMustCover: bound.by === 'max_connections' ? 'worst-case' : 'load',
    terms,
  };
}
