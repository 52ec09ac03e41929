// What the app tier keeps of each replica: its sockets and pool, its requests in flight, and its counts,
// from which the balancer's view and the tier's stats are read.
import type { Socket } from 'node:net';
import type { Pool, PoolConnection } from 'mysql2';
import { ScenarioInvalidError } from '../../0-model/errors.ts';
import { updateEwma, type LatencyEwma, type ReplicaLoad } from './balancers.ts';
import { errorKey } from '../measure.ts';
import type { MysqlEndpoint } from '../../0-model/endpoint.ts';

export interface AppTierReplica {
  name: string;
  endpoint: MysqlEndpoint;
}

export interface ReplicaStats {
  name: string;
  /** Connections the tier holds open to the replica now, pooled or per request, counted by socket. */
  openConnections: number;
  /** Connections opened since start; in `new-connection` mode one per request. */
  connectionsOpened: number;
  activeRequests: number;
  /** Requests routed to the replica, answered or not. */
  requests: number;
  ok: number;
  errors: number;
  errorsByCode: Record<string, number>;
  /** Recent answer time (see `latencyDecayMs`), an error weighing `queryTimeoutMs`; `null` before the first answer. */
  latencyEwmaMs: number | null;
  /** Sum of answer times (ok and errors); differences between two samples give the mean over the interval. */
  latencySumMs: number;
}

export interface AppTierStats {
  replicas: ReplicaStats[];
  totals: Omit<ReplicaStats, 'name' | 'latencyEwmaMs'>;
}

export interface ReplicaRuntime extends AppTierReplica {
  sockets: Set<Socket>;
  pool: Pool | undefined;
  idleSince: Map<PoolConnection, number>;
  /** Requests in flight, in the order they started: the first is the oldest. */
  active: Set<{ startedAt: number }>;
  counts: Omit<ReplicaStats, 'name' | 'openConnections' | 'activeRequests' | 'errorsByCode' | 'latencyEwmaMs'>;
  errorsByCode: Record<string, number>;
  latency: LatencyEwma | null;
}

export function validateReplicas(replicas: readonly AppTierReplica[]): void {
  if (replicas.length === 0) throw new ScenarioInvalidError('app tier: expected at least one replica, got none');
  const seen = new Set<string>();
  for (const { name } of replicas) {
    if (!name || seen.has(name)) throw new ScenarioInvalidError(`app tier: replica names must be non-empty and unique, got \`${replicas.map((r) => r.name).join(', ')}\``);
    seen.add(name);
  }
}

export function replicaRuntime(replica: AppTierReplica): ReplicaRuntime {
  return {
    ...replica,
    sockets: new Set(),
    pool: undefined,
    idleSince: new Map(),
    active: new Set(),
    counts: { connectionsOpened: 0, requests: 0, ok: 0, errors: 0, latencySumMs: 0 },
    errorsByCode: {},
    latency: null,
  };
}

/** Counts one answer of the replica and updates its recent latency; returns the error's key, if it failed. */
export function recordAnswer(replica: ReplicaRuntime, error: unknown, elapsedMs: number, timing: { queryTimeoutMs: number; latencyDecayMs: number }): string | undefined {
  replica.counts.latencySumMs += elapsedMs;
  if (error === null || error === undefined) {
    replica.counts.ok++;
    replica.latency = updateEwma(replica.latency, elapsedMs, performance.now(), timing.latencyDecayMs);
    return undefined;
  }
  const key = errorKey(error);
  replica.counts.errors++;
  replica.errorsByCode[key] = (replica.errorsByCode[key] ?? 0) + 1;
  // A replica that fails fast must not look fast: an error weighs as much as the deadline.
  replica.latency = updateEwma(replica.latency, Math.max(elapsedMs, timing.queryTimeoutMs), performance.now(), timing.latencyDecayMs);
  return key;
}

/** What the balancer sees of the replica at `now`. */
export function loadOf(replica: ReplicaRuntime, now: number): ReplicaLoad {
  const oldest = replica.active.values().next();
  return {
    activeRequests: replica.active.size,
    latencyEwmaMs: replica.latency?.valueMs ?? null,
    oldestActiveMs: oldest.done ? 0 : now - oldest.value.startedAt,
  };
}

export function statsOf(replicas: readonly ReplicaRuntime[]): AppTierStats {
  const perReplica: ReplicaStats[] = replicas.map((r) => ({
    name: r.name,
    openConnections: r.sockets.size,
    activeRequests: r.active.size,
    ...r.counts,
    errorsByCode: { ...r.errorsByCode },
    latencyEwmaMs: r.latency?.valueMs ?? null,
  }));
  const totals: AppTierStats['totals'] = { openConnections: 0, connectionsOpened: 0, activeRequests: 0, requests: 0, ok: 0, errors: 0, errorsByCode: {}, latencySumMs: 0 };
  for (const r of perReplica) {
    totals.openConnections += r.openConnections;
    totals.connectionsOpened += r.connectionsOpened;
    totals.activeRequests += r.activeRequests;
    totals.requests += r.requests;
    totals.ok += r.ok;
    totals.errors += r.errors;
    totals.latencySumMs += r.latencySumMs;
    for (const [key, n] of Object.entries(r.errorsByCode)) totals.errorsByCode[key] = (totals.errorsByCode[key] ?? 0) + n;
  }
  return { replicas: perReplica, totals };
}
