import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as connectSocket, type AddressInfo, type Socket } from 'node:net';
import { createConnection, createPool, type Connection, type Pool, type PoolConnection, type QueryError } from 'mysql2';
import { ScenarioInvalidError } from '../0-model/errors.ts';
import { weightedPicker } from '../0-model/pick.ts';
import { feedQueryMix, type FeedSize } from './feed.ts';
import { errorKey, type MixedQuery, type StormEndpoint } from './storm.ts';

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

export type ConnectionMode = 'pool' | 'new-connection';

export interface AppTierReplica {
  name: string;
  endpoint: StormEndpoint;
}

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

export interface AppTier extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stats(): AppTierStats;
  /** Stops listening, drops every HTTP connection and every connection to the replicas; in-flight requests are cut. */
  close(): Promise<void>;
}

/** The feed mix query each endpoint runs; `/mix` picks among all of them by weight. */
export const APP_TIER_ROUTES = { '/feed': 'feed', '/user': 'user-by-id', '/popular': 'trending' } as const;

export const APP_TIER_REPLICA_HEADER = 'x-oomlab-replica';
export const APP_TIER_ERROR_HEADER = 'x-oomlab-error';

interface ReplicaRuntime extends AppTierReplica {
  sockets: Set<Socket>;
  pool: Pool | undefined;
  idleSince: Map<PoolConnection, number>;
  /** Requests in flight, in the order they started: the first is the oldest. */
  active: Set<{ startedAt: number }>;
  counts: Omit<ReplicaStats, 'name' | 'openConnections' | 'activeRequests' | 'errorsByCode' | 'latencyEwmaMs'>;
  errorsByCode: Record<string, number>;
  latency: LatencyEwma | null;
}

type QueryDone = (error: unknown, rows?: unknown) => void;

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < min) {
    throw new ScenarioInvalidError(`app tier: expected \`${name}\` to be an integer of at least ${min}, got \`${resolved}\``);
  }
  return resolved;
}

function validateReplicas(replicas: readonly AppTierReplica[]): void {
  if (replicas.length === 0) throw new ScenarioInvalidError('app tier: expected at least one replica, got none');
  const seen = new Set<string>();
  for (const { name } of replicas) {
    if (!name || seen.has(name)) throw new ScenarioInvalidError(`app tier: replica names must be non-empty and unique, got \`${replicas.map((r) => r.name).join(', ')}\``);
    seen.add(name);
  }
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
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
  const queryTimeoutMs = positiveInteger('queryTimeoutMs', options.queryTimeoutMs, 10_000);
  const latencyDecayMs = positiveInteger('latencyDecayMs', options.latencyDecayMs, 1_000);
  const balancer = createBalancer(options.balancer, { ...(options.exploreEvery !== undefined ? { exploreEvery: options.exploreEvery } : {}) });
  const random = options.random ?? Math.random;

  const mix = feedQueryMix(options.seed);
  const byName = new Map(mix.map((q) => [q.name, q]));
  const routes = new Map<string, MixedQuery>();
  for (const [path, name] of Object.entries(APP_TIER_ROUTES)) {
    const query = byName.get(name);
    if (!query) throw new Error(`the feed mix has no query named ${name} (it has ${[...byName.keys()].join(', ')})`);
    routes.set(path, query);
  }
  const pickFromMix = weightedPicker(mix, random);

  let closing = false;
  // Every request still waiting on a replica, so close() can answer them at once instead of waiting for their deadlines.
  const pending = new Set<() => void>();
  // mysql2 hands the socket factory the connection's own config object: that is how a connection finds its socket.
  const socketOfConfig = new WeakMap<object, Socket>();

  const replicas: ReplicaRuntime[] = options.replicas.map((replica) => ({
    ...replica,
    sockets: new Set(),
    pool: undefined,
    idleSince: new Map(),
    active: new Set(),
    counts: { connectionsOpened: 0, requests: 0, ok: 0, errors: 0, latencySumMs: 0 },
    errorsByCode: {},
    latency: null,
  }));

  const connectionOptions = (replica: ReplicaRuntime) => ({
    host: replica.endpoint.host,
    port: replica.endpoint.port,
    user: replica.endpoint.user,
    password: replica.endpoint.password,
    ...(replica.endpoint.database !== undefined ? { database: replica.endpoint.database } : {}),
    connectTimeout: queryTimeoutMs,
    // mysql2 preallocates a 16000-entry prepared-statement cache per connection; the tier runs `query` only.
    maxPreparedStatements: 4,
    // Every socket is opened here, so open connections are counted exactly and close() can destroy them all.
    stream: ({ config }: { config: object }) => {
      const socket = connectSocket(replica.endpoint.port, replica.endpoint.host);
      socket.setNoDelay(true);
      replica.sockets.add(socket);
      replica.counts.connectionsOpened++;
      socket.once('close', () => replica.sockets.delete(socket));
      socketOfConfig.set(config, socket);
      return socket;
    },
  });

  /** Gives up on a connection: no COM_QUIT is possible mid-query, and a stalled server must not keep the socket. */
  const dropConnection = (connection: Connection) => {
    connection.destroy();
    socketOfConfig.get(connection.config)?.destroy();
  };

  if (options.connectionMode === 'pool') {
    for (const replica of replicas) {
      const pool = createPool({
        ...connectionOptions(replica),
        connectionLimit: poolSize,
        // maxIdle = connectionLimit turns mysql2's own reaper off; ours below closes by idle time alone.
        maxIdle: poolSize,
        queueLimit,
        gracefulEnd: true,
      });
      pool.on('connection', (connection) => connection.on('error', () => {}));
      pool.on('release', (connection) => replica.idleSince.set(connection, Date.now()));
      pool.on('acquire', (connection) => replica.idleSince.delete(connection));
      replica.pool = pool;
    }
  }
  const reaper = setInterval(() => {
    const now = Date.now();
    for (const replica of replicas) {
      for (const [connection, since] of replica.idleSince) {
        if (now - since < idleTimeoutMs) continue;
        replica.idleSince.delete(connection);
        // gracefulEnd: takes it out of the pool and sends COM_QUIT, as a pool closing an idle connection does.
        connection.end(() => {});
      }
    }
  }, Math.min(1_000, idleTimeoutMs));
  reaper.unref();

  function withDeadline(done: QueryDone, onTimeout: () => void): { finish: QueryDone; finished: () => boolean } {
    let finished = false;
    const finish: QueryDone = (error, rows) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      pending.delete(cut);
      done(error, rows);
    };
    const cut = () => finish(withCode('the app tier is closing', 'APP_TIER_CLOSED'));
    const timer = setTimeout(() => {
      finish(withCode(`no answer within ${queryTimeoutMs}ms`, 'ETIMEDOUT'));
      onTimeout();
    }, queryTimeoutMs);
    pending.add(cut);
    return { finish, finished: () => finished };
  }

  function queryPooled(replica: ReplicaRuntime, query: MixedQuery, params: unknown[], done: QueryDone): void {
    const startedAt = performance.now();
    let inUse: PoolConnection | undefined;
    const { finish, finished } = withDeadline(done, () => {
      if (inUse) dropConnection(inUse);
    });
    replica.pool!.getConnection((error, connection) => {
      if (error) {
        // mysql2 raises this one without a code.
        return finish(error.message === 'Queue limit reached.' ? withCode(`more than ${queueLimit} requests waiting for a connection to ${replica.name}`, 'POOL_QUEUE_FULL') : error);
      }
      if (finished()) return connection.release();
      inUse = connection;
      const remainingMs = Math.max(1, queryTimeoutMs - (performance.now() - startedAt));
      connection.query({ sql: query.sql, timeout: remainingMs }, params, (queryError: QueryError | null, rows: unknown) => {
        inUse = undefined;
        // A timed-out query is still running on the server: that connection cannot serve the next request.
        if (queryError && (queryError.fatal || queryError.code === 'PROTOCOL_SEQUENCE_TIMEOUT')) dropConnection(connection);
        else connection.release();
        finish(queryError, rows);
      });
    });
  }

  function queryOwnConnection(replica: ReplicaRuntime, query: MixedQuery, params: unknown[], done: QueryDone): void {
    const connection = createConnection(connectionOptions(replica));
    connection.on('error', () => {});
    const { finish } = withDeadline(done, () => dropConnection(connection));
    // Queued behind the handshake; a failed connect fails the query with the connect error.
    connection.query({ sql: query.sql, timeout: queryTimeoutMs }, params, (error: QueryError | null, rows: unknown) => {
      if (error) {
        dropConnection(connection);
        return finish(error);
      }
      // COM_QUIT, as a well-behaved client closes: the socket closes when the server has let go.
      connection.end(() => {});
      finish(null, rows);
    });
  }

  function record(replica: ReplicaRuntime, error: unknown, elapsedMs: number): string | undefined {
    replica.counts.latencySumMs += elapsedMs;
    if (error === null || error === undefined) {
      replica.counts.ok++;
      replica.latency = updateEwma(replica.latency, elapsedMs, performance.now(), latencyDecayMs);
      return undefined;
    }
    const key = errorKey(error);
    replica.counts.errors++;
    replica.errorsByCode[key] = (replica.errorsByCode[key] ?? 0) + 1;
    // A replica that fails fast must not look fast: an error weighs as much as the deadline.
    replica.latency = updateEwma(replica.latency, Math.max(elapsedMs, queryTimeoutMs), performance.now(), latencyDecayMs);
    return key;
  }

  function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (response.destroyed || response.writableEnded) return;
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    response.end(text);
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    } catch {
      return send(response, 400, { error: `cannot parse the request target ${JSON.stringify(request.url)}` });
    }
    if (request.method !== 'GET') return send(response, 405, { error: `method ${request.method} not allowed; use GET` }, { allow: 'GET' });
    if (path === '/health') return send(response, 200, { ok: !closing, stats: stats() });
    const query = path === '/mix' ? pickFromMix() : routes.get(path);
    if (!query) return send(response, 404, { error: `no endpoint ${path}; try /feed, /user, /popular, /mix or /health` });
    if (closing) return send(response, 503, { error: 'the app tier is closing' }, { [APP_TIER_ERROR_HEADER]: 'APP_TIER_CLOSED' });

    const now = performance.now();
    const index = balancer.pick(replicas.map((r) => loadOf(r, now)));
    const replica = replicas[index]!;
    const inFlight = { startedAt: now };
    replica.counts.requests++;
    replica.active.add(inFlight);
    const params = query.params?.(random) ?? [];
    const run = options.connectionMode === 'pool' ? queryPooled : queryOwnConnection;
    run(replica, query, params, (error, rows) => {
      replica.active.delete(inFlight);
      // Cut by close(): not the replica's doing, so neither counted nor answered (the socket is gone).
      if (closing) return;
      const elapsedMs = performance.now() - inFlight.startedAt;
      const key = record(replica, error, elapsedMs);
      const headers = { [APP_TIER_REPLICA_HEADER]: replica.name };
      if (key !== undefined) {
        send(response, 503, { replica: replica.name, query: query.name, error: key }, { ...headers, [APP_TIER_ERROR_HEADER]: key });
      } else {
        send(response, 200, { replica: replica.name, query: query.name, rows: Array.isArray(rows) ? rows.length : 0, ms: Math.round(elapsedMs * 10) / 10 }, headers);
      }
    });
  }

  function loadOf(replica: ReplicaRuntime, now: number): ReplicaLoad {
    const oldest = replica.active.values().next();
    return {
      activeRequests: replica.active.size,
      latencyEwmaMs: replica.latency?.valueMs ?? null,
      oldestActiveMs: oldest.done ? 0 : now - oldest.value.startedAt,
    };
  }

  function stats(): AppTierStats {
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

  const server = createServer(handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Loopback only: the tier is for the harness's own load drivers.
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    clearInterval(reaper);
    for (const replica of replicas) replica.pool?.end(() => {});
    throw error;
  }
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      clearInterval(reaper);
      const closedEvents: Promise<unknown>[] = [new Promise<void>((resolve) => server.close(() => resolve()))];
      server.closeAllConnections();
      for (const cut of [...pending]) cut();
      for (const replica of replicas) {
        replica.pool?.end(() => {});
        replica.idleSince.clear();
        for (const socket of replica.sockets) {
          closedEvents.push(once(socket, 'close').catch(() => {}));
          socket.destroy();
        }
      }
      // A destroyed socket closes on the next turn of the loop: wait for it, so stats() after close() reads 0.
      await Promise.all(closedEvents);
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
