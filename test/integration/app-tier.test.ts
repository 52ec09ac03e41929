import { createServer, connect as connectSocket, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, startInstance, type StartedInstance } from '../../src/3-runtime/docker/index.ts';
import { startAppTier, type AppTierOptions, type AppTierStats } from '../../src/5-workload/app-tier/tier.ts';
import { seedFeed } from '../../src/5-workload/feed.ts';
import type { MysqlEndpoint } from '../../src/0-model/endpoint.ts';
import { containersLabelled, docker } from './helpers.ts';

// The app tier over two real replicas (the offline image, 127.0.0.1 only): A and B of incident 2.
const run = { runId: `test-app-tier-${process.pid}`, scenario: 'test-app-tier' };
const SIZE = { users: 1_000, posts: 10_000, followsPerUser: 10 };
// Both replicas on the same core: whatever else this host runs slows both alike, so only what a test injects
// (the fastest test's delay relays) makes one slower than the other.
const CPUSET = '0';
let a: StartedInstance;
let b: StartedInstance;

beforeAll(async () => {
  const engine = await connectEngine();
  const context = (configIndex: number) => ({ engine, run, configId: 'app-tier-test', configIndex, hostNofileHardLimit: 20_000, shimPath: buildNofileShim });
  const spec = (name: string) => ({
    name,
    image: OFFLINE_MARIADB_IMAGE,
    memory: 512 * 1024 ** 2,
    cpusetCpus: CPUSET,
    mycnf: { max_connections: 300, max_connect_errors: 1_000_000, innodb_buffer_pool_size: '64M' },
  });
  a = await startInstance(spec('replica-a'), context(0));
  b = await startInstance(spec('replica-b'), context(1));
  const signal = AbortSignal.timeout(90_000);
  const ready = await Promise.all([a.waitReady(90_000, signal), b.waitReady(90_000, signal)]);
  for (const r of ready) if (!r.ready) throw new Error(`replica not ready: ${r.why}`);
  await Promise.all([seedFeed(a.endpoint(), SIZE), seedFeed(b.endpoint(), SIZE)]);
});

afterAll(async () => {
  const disposals = await Promise.allSettled([a?.[Symbol.asyncDispose](), b?.[Symbol.asyncDispose]()]);
  expect(await containersLabelled(`oomlab.run=${run.runId}`)).toEqual([]);
  for (const d of disposals) if (d.status === 'rejected') throw d.reason;
});

const tierOptions = (overrides: Partial<AppTierOptions>): AppTierOptions => ({
  replicas: [
    { name: 'a', endpoint: a.endpoint() },
    { name: 'b', endpoint: b.endpoint() },
  ],
  balancer: 'round-robin',
  connectionMode: 'pool',
  seed: SIZE,
  ...overrides,
});

interface Driven {
  byReplica: Record<string, number>;
  byStatus: Record<number, number>;
  errorKeys: Record<string, Record<string, number>>;
  latencyMs: Record<string, number[]>;
  networkFailures: number;
}

const emptyDriven = (): Driven => ({ byReplica: {}, byStatus: {}, errorKeys: {}, latencyMs: {}, networkFailures: 0 });

/** One request, counted into `out` by the replica the tier names and by status. */
async function request(url: string, path: string, out: Driven): Promise<void> {
  try {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { ms?: number };
    const replica = response.headers.get('x-oomlab-replica') ?? '(none)';
    out.byReplica[replica] = (out.byReplica[replica] ?? 0) + 1;
    out.byStatus[response.status] = (out.byStatus[response.status] ?? 0) + 1;
    const key = response.headers.get('x-oomlab-error');
    if (key !== null) (out.errorKeys[replica] ??= {})[key] = (out.errorKeys[replica]?.[key] ?? 0) + 1;
    if (response.status === 200 && body.ms !== undefined) (out.latencyMs[replica] ??= []).push(body.ms);
  } catch {
    out.networkFailures++;
  }
}

/** A plain loop of fetch calls: `concurrency` workers, each pausing `thinkMs` between requests, until `requests` are sent or `durationMs` is over. */
async function drive(url: string, options: { paths: string[]; concurrency: number; requests?: number; durationMs?: number; thinkMs?: number }): Promise<Driven> {
  const out = emptyDriven();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationMs;
  let sent = 0;
  const worker = async () => {
    while (sent < (options.requests ?? Number.POSITIVE_INFINITY) && Date.now() < deadline) {
      await request(url, options.paths[sent++ % options.paths.length]!, out);
      if (options.thinkMs) await sleep(options.thinkMs);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return out;
}

/** Open-model bursts, as scrapers arrive together: `bursts` times, every `everyMs`, `size` requests at once whether or not the last ones answered; then waits for every answer. */
async function burst(url: string, options: { path: string; size: number; everyMs: number; bursts: number }): Promise<Driven> {
  const out = emptyDriven();
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < options.bursts; i++) {
    await sleep(Math.max(0, startedAt + i * options.everyMs - performance.now()));
    for (let j = 0; j < options.size; j++) inFlight.push(request(url, options.path, out));
  }
  await Promise.all(inFlight);
  return out;
}

interface DelayRelay extends AsyncDisposable {
  /** The replica's endpoint, reached through the relay. */
  readonly endpoint: MysqlEndpoint;
  /** Added to every chunk the server sends, in order; takes effect for the next chunk. */
  delayMs: number;
}

/**
 * A TCP relay on 127.0.0.1 in front of a replica that holds back what the server sends by `delayMs`: a slow-down
 * of exactly the size the test sets, whatever else the host runs (a CPU neighbour slows a replica by what the
 * scheduler grants, which a busy host changes).
 */
async function delayRelay(target: MysqlEndpoint): Promise<DelayRelay> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    return socket;
  };
  const server = createServer((client) => {
    track(client);
    const upstream = track(connectSocket(target.port, target.host));
    const queue: { chunk: Buffer; dueAt: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    let upstreamEnded = false;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.dueAt <= performance.now()) client.write(queue.shift()!.chunk);
      if (queue.length > 0) timer = setTimeout(pump, queue[0]!.dueAt - performance.now());
      else if (upstreamEnded) client.end();
    };
    upstream.on('data', (chunk: Buffer) => {
      queue.push({ chunk, dueAt: Math.max(performance.now() + relay.delayMs, queue.at(-1)?.dueAt ?? 0) });
      timer ??= setTimeout(pump, 0);
    });
    upstream.on('end', () => {
      upstreamEnded = true;
      timer ??= setTimeout(pump, 0);
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    client.on('end', () => upstream.end());
    const cut = () => {
      clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', () => {
      if (!upstreamEnded) cut();
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const relay: DelayRelay = {
    endpoint: { ...target, host: '127.0.0.1', port: (server.address() as AddressInfo).port },
    delayMs: 0,
    async [Symbol.asyncDispose]() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return relay;
}

/** Samples the tier's stats while `during` runs, as the run's observer does every second. */
async function sampled<T>(tier: { stats(): AppTierStats }, everyMs: number, during: () => Promise<T>): Promise<{ result: T; samples: AppTierStats[] }> {
  const samples: AppTierStats[] = [];
  const timer = setInterval(() => samples.push(tier.stats()), everyMs);
  try {
    return { result: await during(), samples };
  } finally {
    clearInterval(timer);
  }
}

const median = (values: number[] = []) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;
const replicaStats = (stats: AppTierStats, name: string) => stats.replicas.find((r) => r.name === name)!;
const meanOpen = (samples: AppTierStats[], name: string) => samples.reduce((sum, s) => sum + replicaStats(s, name).openConnections, 0) / samples.length;

async function serverConnections(connection: Connection): Promise<number> {
  const [rows] = await connection.query("SHOW GLOBAL STATUS LIKE 'Connections'");
  return Number((rows as { Value: string }[])[0]!.Value);
}

describe('the app tier over two real replicas', () => {
  it('answers every endpoint from a replica it names, and 404 elsewhere', async () => {
    await using tier = await startAppTier(tierOptions({}));
    expect(tier.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const path of ['/feed', '/user', '/popular', '/mix']) {
      const response = await fetch(`${tier.url}${path}`);
      const body = (await response.json()) as { replica: string; query: string; rows: number };
      expect(response.status, path).toBe(200);
      expect(['a', 'b']).toContain(response.headers.get('x-oomlab-replica'));
      expect(body.replica).toBe(response.headers.get('x-oomlab-replica'));
      expect(body.rows, path).toBeGreaterThan(0);
    }
    const health = await fetch(`${tier.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { stats: AppTierStats }).stats.totals.ok).toBe(4);
    const missing = await fetch(`${tier.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no endpoint /nope; try /feed, /user, /popular, /mix or /health' });
  });

  it('round-robin splits requests evenly, and its counts match what the clients saw', async () => {
    await using tier = await startAppTier(tierOptions({ balancer: 'round-robin' }));
    const driven = await drive(tier.url, { paths: ['/mix'], concurrency: 8, requests: 400 });
    const stats = tier.stats();
    process.stderr.write(`[app-tier] round-robin: ${JSON.stringify(driven.byReplica)}, open connections a=${replicaStats(stats, 'a').openConnections} b=${replicaStats(stats, 'b').openConnections}\n`);
    expect(driven.byStatus).toEqual({ 200: 400 });
    expect(driven.byReplica).toEqual({ a: 200, b: 200 });
    expect(replicaStats(stats, 'a')).toMatchObject({ requests: 200, ok: 200, errors: 0, activeRequests: 0 });
    expect(replicaStats(stats, 'b')).toMatchObject({ requests: 200, ok: 200, errors: 0, activeRequests: 0 });
    // A pool opens connections on demand, no more than it needs at once.
    expect(replicaStats(stats, 'a').connectionsOpened).toBeLessThanOrEqual(8);
  });

  it('new-connection mode opens one server connection per request; pool mode reuses a few', async () => {
    const admin = { a: await createConnection(a.endpoint()), b: await createConnection(b.endpoint()) };
    try {
      const connectionsNow = async () => ({ a: await serverConnections(admin.a), b: await serverConnections(admin.b) });
      const before = await connectionsNow();
      {
        await using tier = await startAppTier(tierOptions({ connectionMode: 'new-connection' }));
        await drive(tier.url, { paths: ['/user'], concurrency: 8, requests: 200 });
        const stats = tier.stats();
        expect(replicaStats(stats, 'a').connectionsOpened).toBe(100);
        expect(replicaStats(stats, 'b').connectionsOpened).toBe(100);
      }
      const afterNew = await connectionsNow();
      {
        await using tier = await startAppTier(tierOptions({ connectionMode: 'pool', poolSize: 10 }));
        await drive(tier.url, { paths: ['/user'], concurrency: 8, requests: 200 });
      }
      const afterPool = await connectionsNow();
      const delta = { newConnection: { a: afterNew.a - before.a, b: afterNew.b - before.b }, pool: { a: afterPool.a - afterNew.a, b: afterPool.b - afterNew.b } };
      process.stderr.write(`[app-tier] server Connections delta for 200 requests: ${JSON.stringify(delta)}\n`);
      expect(delta.newConnection).toEqual({ a: 100, b: 100 });
      expect(delta.pool.a).toBeLessThanOrEqual(8);
      expect(delta.pool.b).toBeLessThanOrEqual(8);
    } finally {
      await Promise.allSettled([admin.a.end(), admin.b.end()]);
    }
  });

  it('fastest sends requests and connections to the faster replica: off A while A is slowed, back to A once B is the slower', async () => {
    // The test sets each replica's slowness with a relay that delays what the server sends, so which replica is
    // faster is decided here, by a margin no busy host closes: A slowed (400ms) > B slowed (100ms) > either one
    // unslowed (a point select: milliseconds). The last phase slows B by less than A was slowed, so only a
    // balancer that measures A again (its explorer) can find that A is now the faster; one that keeps A's
    // last figure stays on B.
    const A_SLOWED_MS = 400;
    const B_SLOWED_MS = 100;
    await using relayA = await delayRelay(a.endpoint());
    await using relayB = await delayRelay(b.endpoint());
    // Idle pooled connections close after a second, so within a phase a replica holds about as many as it was sent at once.
    await using tier = await startAppTier(
      tierOptions({
        replicas: [
          { name: 'a', endpoint: relayA.endpoint },
          { name: 'b', endpoint: relayB.endpoint },
        ],
        balancer: 'fastest',
        connectionMode: 'pool',
        poolSize: 30,
        idleTimeoutMs: 1_000,
      }),
    );
    // Bursts of 8 requests every 300ms, whatever the answers: the replica the tier prefers gets 8 at once and
    // holds 8 connections; the other gets the explorer's one request in 20, which never overlap.
    const BURST = { path: '/user', size: 8, everyMs: 300 };
    const phases: { name: string; sent: number; driven: Driven; samples: AppTierStats[] }[] = [];
    const phase = async (name: string, bursts: number) => {
      const { result, samples } = await sampled(tier, 250, () => burst(tier.url, { ...BURST, bursts }));
      phases.push({ name, sent: bursts * BURST.size, driven: result, samples: samples.slice(Math.floor(samples.length / 2)) });
    };
    // Unjudged phases let the balancer react (a-slowing, b-slowing) or measure both replicas (even).
    await phase('even', 10);
    relayA.delayMs = A_SLOWED_MS;
    await phase('a-slowing', 7);
    await phase('a-slowed', 30);
    relayA.delayMs = 0;
    relayB.delayMs = B_SLOWED_MS;
    await phase('b-slowing', 14);
    await phase('b-slowed', 30);

    const summary = phases.map(({ name, sent, driven, samples }) => {
      const total = (driven.byReplica.a ?? 0) + (driven.byReplica.b ?? 0);
      return {
        name,
        sent,
        requests: driven.byReplica,
        shareA: Math.round(((driven.byReplica.a ?? 0) / total) * 100) / 100,
        shareB: Math.round(((driven.byReplica.b ?? 0) / total) * 100) / 100,
        openConnections: { a: meanOpen(samples, 'a'), b: meanOpen(samples, 'b') },
        medianMs: { a: median(driven.latencyMs.a), b: median(driven.latencyMs.b) },
        ewmaMs: samples.map((x) => `${replicaStats(x, 'a').latencyEwmaMs?.toFixed(0)}/${replicaStats(x, 'b').latencyEwmaMs?.toFixed(0)}`).join(' '),
        statuses: driven.byStatus,
        networkFailures: driven.networkFailures,
      };
    });
    process.stderr.write(`[app-tier] fastest:\n${summary.map((s) => JSON.stringify(s)).join('\n')}\n`);
    // Every request of every phase answered, and counted by the replica that answered it.
    for (const s of summary) expect([s.statuses, s.networkFailures], s.name).toEqual([{ 200: s.sent }, 0]);
    const aSlowed = summary.find((s) => s.name === 'a-slowed')!;
    const bSlowed = summary.find((s) => s.name === 'b-slowed')!;
    // Soft: a failure reports every figure below, so a broken premise is told apart from a broken balancer.
    // The premise: the slow-downs were what the test set (a replica sent nothing has no median: NaN fails).
    expect.soft(aSlowed.medianMs.a, 'A slowed').toBeGreaterThanOrEqual(A_SLOWED_MS);
    expect.soft(aSlowed.medianMs.b, 'B unslowed').toBeLessThan(B_SLOWED_MS);
    expect.soft(bSlowed.medianMs.b, 'B slowed').toBeGreaterThanOrEqual(B_SLOWED_MS);
    expect.soft(bSlowed.medianMs.a, 'A unslowed').toBeLessThan(B_SLOWED_MS);
    // The verdict: the requests went to the faster replica, all but about the explorer's one in 20. A balancer
    // blind to latency sends half; one that never left A, or never came back to it, fails one phase or the other.
    expect.soft(aSlowed.shareB, 'share of requests to B while A is slowed').toBeGreaterThan(0.8);
    expect.soft(bSlowed.shareA, 'share of requests to A once B is the slower').toBeGreaterThan(0.8);
    // The connections followed the requests: the preferred replica holds a burst's worth, the other about one.
    expect.soft(aSlowed.openConnections.b, 'B holds more connections than A while A is slowed').toBeGreaterThan(aSlowed.openConnections.a * 2);
    expect.soft(bSlowed.openConnections.a, 'A holds more connections than B once B is the slower').toBeGreaterThan(bSlowed.openConnections.b * 2);
  });

  it('answers 503 timeout when a replica does not answer within queryTimeoutMs, and drops that connection', async () => {
    const locker = await createConnection(a.endpoint());
    try {
      await locker.query('LOCK TABLES feed.users WRITE');
      await using tier = await startAppTier(tierOptions({ queryTimeoutMs: 1_000 }));
      const startedAt = performance.now();
      const [toA, toB] = await Promise.all([fetch(`${tier.url}/user`), fetch(`${tier.url}/user`)]);
      const elapsedMs = performance.now() - startedAt;
      expect([toA.status, toA.headers.get('x-oomlab-replica'), toA.headers.get('x-oomlab-error')]).toEqual([503, 'a', 'timeout']);
      expect(await toA.json()).toEqual({ replica: 'a', query: 'user-by-id', error: 'timeout' });
      expect([toB.status, toB.headers.get('x-oomlab-replica')]).toEqual([200, 'b']);
      expect(elapsedMs).toBeGreaterThanOrEqual(950);
      expect(elapsedMs).toBeLessThan(5_000);
      // The query is still waiting on the server: its connection cannot serve anyone else, so the tier let it go.
      await expect.poll(() => replicaStats(tier.stats(), 'a').openConnections, { timeout: 2_000 }).toBe(0);
      expect(replicaStats(tier.stats(), 'a')).toMatchObject({ requests: 1, errors: 1, errorsByCode: { timeout: 1 }, activeRequests: 0 });
    } finally {
      await locker.end();
    }
  });

  it('close() returns within two seconds with requests hanging on the replicas, and the servers see every connection go', async () => {
    const lockers = { a: await createConnection(a.endpoint()), b: await createConnection(b.endpoint()) };
    const threads = async (connection: Connection) => {
      const [rows] = await connection.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
      return Number((rows as { Value: string }[])[0]!.Value);
    };
    try {
      const threadsBefore = { a: await threads(lockers.a), b: await threads(lockers.b) };
      // Every /user query waits for this lock: requests that hang for real, on both replicas.
      await lockers.a.query('LOCK TABLES feed.users WRITE');
      await lockers.b.query('LOCK TABLES feed.users WRITE');
      // Per replica: 5 requests on pooled connections, 3 waiting for one, 2 turned away at once.
      const tier = await startAppTier(tierOptions({ connectionMode: 'pool', poolSize: 5, queueLimit: 3, queryTimeoutMs: 60_000 }));
      const inFlight = Array.from({ length: 20 }, () =>
        fetch(`${tier.url}/user`).then(
          (r) => `${r.status} ${r.headers.get('x-oomlab-error')}`,
          () => 'cut',
        ),
      );
      // All 20 arrived: 16 held and the 4th turned away (a loaded host saw 16 held while the 20th was still on its way).
      await expect.poll(() => ({ active: tier.stats().totals.activeRequests, errors: tier.stats().totals.errors }), { timeout: 5_000 }).toEqual({ active: 16, errors: 4 });
      expect(tier.stats().totals).toMatchObject({ openConnections: 10, errors: 4, errorsByCode: { POOL_QUEUE_FULL: 4 } });
      const startedAt = performance.now();
      await tier.close();
      const closeMs = performance.now() - startedAt;
      process.stderr.write(`[app-tier] close() with 16 requests hanging: ${closeMs.toFixed(0)}ms\n`);
      expect(closeMs).toBeLessThan(2_000);
      const outcomes = await Promise.all(inFlight);
      expect(outcomes.filter((o) => o === 'cut')).toHaveLength(16);
      expect(outcomes.filter((o) => o === '503 POOL_QUEUE_FULL')).toHaveLength(4);
      expect(tier.stats().totals.openConnections).toBe(0);
      await lockers.a.query('UNLOCK TABLES');
      await lockers.b.query('UNLOCK TABLES');
      await expect.poll(async () => ({ a: await threads(lockers.a), b: await threads(lockers.b) }), { timeout: 10_000 }).toEqual(threadsBefore);
    } finally {
      await Promise.allSettled([lockers.a.end(), lockers.b.end()]);
    }
  });

  // Last: replica A does not come back.
  it('answers 503 with an error key for a killed replica and keeps serving from the other', async () => {
    await using roundRobin = await startAppTier(tierOptions({ balancer: 'round-robin' }));
    await using fastest = await startAppTier(tierOptions({ balancer: 'fastest' }));
    await drive(roundRobin.url, { paths: ['/user'], concurrency: 4, requests: 40 });
    await drive(fastest.url, { paths: ['/user'], concurrency: 4, requests: 40 });
    await docker.getContainer(a.containerId).kill();
    await a.exited;

    const blind = await drive(roundRobin.url, { paths: ['/user'], concurrency: 4, requests: 100 });
    const steered = await drive(fastest.url, { paths: ['/user'], concurrency: 4, requests: 200 });
    process.stderr.write(`[app-tier] after docker kill of A: round-robin ${JSON.stringify(blind)}\n[app-tier] fastest ${JSON.stringify({ ...steered, latencyMs: undefined })}\n`);
    expect(blind.networkFailures).toBe(0);
    expect(blind.byReplica).toEqual({ a: 50, b: 50 });
    expect(blind.byStatus).toEqual({ 200: 50, 503: 50 });
    const keys = Object.keys(blind.errorKeys.a ?? {});
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(['ECONNREFUSED', 'ECONNRESET', '2013 CR_SERVER_LOST', 'EPIPE']).toContain(key);
    expect(blind.errorKeys.b).toBeUndefined();
    expect(replicaStats(roundRobin.stats(), 'a')).toMatchObject({ errorsByCode: blind.errorKeys.a, openConnections: 0 });
    // fastest weighs each error as the deadline: after the first, only the explorer still tries A.
    expect(steered.byReplica.b).toBeGreaterThan(180);
    expect(steered.byStatus[200]).toBe(steered.byReplica.b);
  });
});
