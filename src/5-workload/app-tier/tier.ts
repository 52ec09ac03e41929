// The app tier of incident 2: an HTTP API on 127.0.0.1 that balances each request over MySQL replicas.
// Its parts are beside it: the balancers, the HTTP server, the connections to the replicas, and what it
// keeps of each replica.
import { ScenarioInvalidError } from '../../0-model/errors.ts';
import { weightedPicker } from '../../0-model/pick.ts';
import { ReplicaConnections, type ConnectionMode } from './connections.ts';
import { createTierServer, listenOnLoopback, routesOf } from './http.ts';
import { loadOf, recordAnswer, replicaRuntime, statsOf, validateReplicas, type AppTierReplica, type AppTierStats } from './replicas.ts';
import { BALANCER_KINDS, createBalancer, type BalancerKind } from './balancers.ts';
import { feedQueryMix, type FeedSize } from '../feed.ts';

export type { AppTierReplica, AppTierStats, ConnectionMode };

export interface AppTierOptions {
  replicas: AppTierReplica[];
  balancer: BalancerKind;
  /** `pool`: a mysql2 pool per replica, connections opened on demand; `new-connection`: each request opens and closes its own, as scrapers cause. */
  connectionMode: ConnectionMode;
  /** Connections per replica's pool at most (`pool` mode). @default 10 */
  poolSize?: number;
  /** Requests waiting for a pooled connection at most, per replica; beyond it a request fails at once with `POOL_QUEUE_FULL`. 0 means no limit. @default 0 */
  queueLimit?: number;
  /** A pooled connection idle this long is closed, so a replica sent less traffic holds fewer connections. @default 10_000 */
  idleTimeoutMs?: number;
  /** A request with no answer from its replica within this time (waiting for a connection, connecting, querying) fails with `timeout`. @default 10_000 */
  queryTimeoutMs?: number;
  /** How far back a replica's recent latency reaches: an answer this old weighs 1/e of a new one. @default 1_000 */
  latencyDecayMs?: number;
  /** `fastest`: one pick in this many explores. @default 20 */
  exploreEvery?: number;
  /** Sizes the random parameters of the feed queries. */
  seed: FeedSize;
  /** Query parameters and the `/mix` choice. @default Math.random */
  random?: () => number;
}

export interface AppTier extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stats(): AppTierStats;
  /** Stops listening, drops every HTTP connection and every connection to the replicas; in-flight requests are cut. */
  close(): Promise<void>;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < min) {
    throw new ScenarioInvalidError(`app tier: expected \`${name}\` to be an integer of at least ${min}, got \`${resolved}\``);
  }
  return resolved;
}

/** Starts the tier on 127.0.0.1 at an ephemeral port; the caller closes (or disposes) it. */
export async function startAppTier(options: AppTierOptions): Promise<AppTier> {
  validateReplicas(options.replicas);
  if (!BALANCER_KINDS.includes(options.balancer)) {
    throw new ScenarioInvalidError(`app tier: unknown balancer \`${options.balancer}\`; expected one of ${BALANCER_KINDS.join(', ')}`);
  }
  if (options.connectionMode !== 'pool' && options.connectionMode !== 'new-connection') {
    throw new ScenarioInvalidError(`app tier: unknown connectionMode \`${String(options.connectionMode)}\`; expected pool or new-connection`);
  }
  const poolSize = positiveInteger('poolSize', options.poolSize, 10);
  const queueLimit = positiveInteger('queueLimit', options.queueLimit, 0, 0);
  const idleTimeoutMs = positiveInteger('idleTimeoutMs', options.idleTimeoutMs, 10_000);
  const timing = {
    queryTimeoutMs: positiveInteger('queryTimeoutMs', options.queryTimeoutMs, 10_000),
    latencyDecayMs: positiveInteger('latencyDecayMs', options.latencyDecayMs, 1_000),
  };
  const balancer = createBalancer(options.balancer, { ...(options.exploreEvery !== undefined ? { exploreEvery: options.exploreEvery } : {}) });
  const random = options.random ?? Math.random;
  const mix = feedQueryMix(options.seed);
  const routes = routesOf(mix);
  const pickFromMix = weightedPicker(mix, random);

  let closing = false;
  const replicas = options.replicas.map(replicaRuntime);
  const connections = new ReplicaConnections(replicas, { mode: options.connectionMode, poolSize, queueLimit, idleTimeoutMs, queryTimeoutMs: timing.queryTimeoutMs });
  const stats = () => statsOf(replicas);

  const server = createTierServer({
    closing: () => closing,
    stats,
    queryFor: (path) => (path === '/mix' ? pickFromMix() : routes.get(path)),
    dispatch(query, answer) {
      const now = performance.now();
      const replica = replicas[balancer.pick(replicas.map((r) => loadOf(r, now)))]!;
      const inFlight = { startedAt: now };
      replica.counts.requests++;
      replica.active.add(inFlight);
      connections.query(replica, query, query.params?.(random) ?? [], (error, rows) => {
        replica.active.delete(inFlight);
        // Cut by close(): not the replica's doing, so neither counted nor answered (the socket is gone).
        if (closing) return;
        const elapsedMs = performance.now() - inFlight.startedAt;
        const key = recordAnswer(replica, error, elapsedMs, timing);
        answer({ replica: replica.name, ...(key !== undefined ? { error: key } : {}), rows, elapsedMs });
      });
    },
  });
  let port: number;
  try {
    port = await listenOnLoopback(server);
  } catch (error) {
    connections.release();
    throw error;
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([serverClosed, connections.close()]);
    })();
    return closed;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close,
    [Symbol.asyncDispose]: close,
  };
}
