// The app tier's balancers: pure choices over what the tier knows of each replica, testable without a server.
import { ScenarioInvalidError } from '../../0-model/errors.ts';

export type BalancerKind = 'round-robin' | 'least-connections' | 'fastest';
export const BALANCER_KINDS: readonly BalancerKind[] = ['round-robin', 'least-connections', 'fastest'];

/** What a balancer sees of one replica when it picks. */
export interface ReplicaLoad {
  /** Requests the tier is running against the replica now (the connections it keeps busy there). */
  readonly activeRequests: number;
  /** Recent answer time, an error counting as the request deadline; `null` before the first answer. */
  readonly latencyEwmaMs: number | null;
  /** How long the oldest request in flight there has been waiting; 0 when none is. */
  readonly oldestActiveMs: number;
}

/** A pure choice over what the tier knows of each replica: testable without a server. */
export interface Balancer {
  readonly kind: BalancerKind;
  /** The index of the replica the next request goes to. */
  pick(replicas: readonly ReplicaLoad[]): number;
}

/** Lowest value wins; among equal values the scan starts after the last winner, so ties rotate. */
class RotatingTieBreak {
  private start = 0;

  lowest(values: readonly number[]): number {
    let best = -1;
    for (let step = 0; step < values.length; step++) {
      const i = (this.start + step) % values.length;
      if (best < 0 || values[i]! < values[best]!) best = i;
    }
    this.start = (best + 1) % values.length;
    return best;
  }
}

function assertReplicas(replicas: readonly ReplicaLoad[]): void {
  if (replicas.length === 0) throw new ScenarioInvalidError('a balancer needs at least one replica to pick from, got none');
}

/** DNS-style: blind to load and speed, each replica in turn. */
export class RoundRobinBalancer implements Balancer {
  readonly kind = 'round-robin';
  private next = 0;

  pick(replicas: readonly ReplicaLoad[]): number {
    assertReplicas(replicas);
    const chosen = this.next % replicas.length;
    this.next = (chosen + 1) % replicas.length;
    return chosen;
  }
}

/** The replica with the fewest requests in flight; ties in turn. */
export class LeastConnectionsBalancer implements Balancer {
  readonly kind = 'least-connections';
  private readonly ties = new RotatingTieBreak();

  pick(replicas: readonly ReplicaLoad[]): number {
    assertReplicas(replicas);
    return this.ties.lowest(replicas.map((r) => r.activeRequests));
  }
}

export interface FastestOptions {
  /** One pick in this many explores: it goes to the replica picked longest ago. @default 20 */
  exploreEvery?: number;
}

/**
 * Whoever answered faster recently, as the clients of incident 2 did. The rule, in order:
 * 1. a replica with no answer yet and no request in flight gets the request (it must be measured once);
 * 2. every `exploreEvery`-th pick goes to the replica picked longest ago, so one that recovered is re-measured;
 * 3. otherwise the lowest recent latency wins, ties in turn; recent latency is the time-decayed EWMA of answers, or the
 *    age of the oldest request still in flight when that is longer: a request already waiting 50ms says the
 *    replica is at least that slow now. Without it, a burst herds onto a slow replica whose EWMA is stale
 *    and piles connections there, the opposite of the incident.
 * Under load the fast replica's latency rises with what it is sent, so the split settles where the
 * latencies meet: the slower A becomes, the more of the requests, and of the connections, B takes.
 */
export class FastestBalancer implements Balancer {
  readonly kind = 'fastest';
  readonly exploreEvery: number;
  private picks = 0;
  private lastPickedAt: number[] = [];
  private readonly ties = new RotatingTieBreak();

  constructor(options: FastestOptions = {}) {
    const exploreEvery = options.exploreEvery ?? 20;
    if (!Number.isInteger(exploreEvery) || exploreEvery < 2) {
      throw new ScenarioInvalidError(`expected \`exploreEvery\` to be an integer of at least 2, got \`${exploreEvery}\``);
    }
    this.exploreEvery = exploreEvery;
  }

  pick(replicas: readonly ReplicaLoad[]): number {
    assertReplicas(replicas);
    this.picks++;
    const lastPicked = (i: number) => this.lastPickedAt[i] ?? 0;
    const unmeasured = replicas.findIndex((r) => r.latencyEwmaMs === null && r.activeRequests === 0);
    let chosen: number;
    if (unmeasured >= 0) {
      chosen = this.ties.lowest(replicas.map((r) => (r.latencyEwmaMs === null && r.activeRequests === 0 ? 0 : 1)));
    } else if (replicas.length > 1 && this.picks % this.exploreEvery === 0) {
      chosen = this.ties.lowest(replicas.map((_, i) => lastPicked(i)));
    } else {
      chosen = this.ties.lowest(replicas.map(recentLatencyMs));
    }
    this.lastPickedAt[chosen] = this.picks;
    return chosen;
  }
}

/** What `fastest` compares: a replica still waiting for its first answer counts as the slowest. */
export function recentLatencyMs(replica: ReplicaLoad): number {
  return Math.max(replica.latencyEwmaMs ?? Number.POSITIVE_INFINITY, replica.oldestActiveMs);
}

export function createBalancer(kind: BalancerKind, options: FastestOptions = {}): Balancer {
  switch (kind) {
    case 'round-robin':
      return new RoundRobinBalancer();
    case 'least-connections':
      return new LeastConnectionsBalancer();
    case 'fastest':
      return new FastestBalancer(options);
    default:
      throw new ScenarioInvalidError(`unknown balancer \`${String(kind)}\`; expected one of ${BALANCER_KINDS.join(', ')}`);
  }
}

/** A replica's recent latency and when it was last updated. */
export interface LatencyEwma {
  readonly valueMs: number;
  readonly atMs: number;
}

/**
 * A moving average that decays with time, not with the number of answers: history weighs e^(-Δt/decayMs).
 * "Recent" then means the same thing whatever the traffic, and one answer after a long silence counts
 * almost fully, so a replica that only gets the explorer's requests has a current figure.
 */
export function updateEwma(previous: LatencyEwma | null, sampleMs: number, atMs: number, decayMs: number): LatencyEwma {
  if (previous === null) return { valueMs: sampleMs, atMs };
  const weight = 1 - Math.exp(-Math.max(0, atMs - previous.atMs) / decayMs);
  return { valueMs: previous.valueMs + weight * (sampleMs - previous.valueMs), atMs };
}
