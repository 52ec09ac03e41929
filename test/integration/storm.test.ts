import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from 'mysql2/promise';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, offlineImageState, startInstance, type StartedInstance } from '../../src/3-runtime/docker/index.ts';
import { FEED_DATABASE, feedQueryMix, runStorm, seedFeed, seededRandom, type MixedQuery } from '../../src/5-workload/index.ts';
import { containersLabelled, PROJECT_ROOT } from './helpers.ts';

// The storm driver against a real server in a container (the offline image), on 127.0.0.1 only.
const run = { runId: `test-storm-${process.pid}`, scenario: 'test-storm' };
const SIZE = { users: 500, posts: 5_000, followsPerUser: 10 };
const POINT: MixedQuery[] = [{ name: 'point', weight: 1, sql: `SELECT id FROM ${FEED_DATABASE}.users WHERE id = 1` }];
let db: StartedInstance;

beforeAll(async () => {
  const engine = await connectEngine();
  db = await startInstance(
    { name: 'db', image: OFFLINE_MARIADB_IMAGE, memory: 2 * 1024 ** 3, mycnf: { max_connections: 400, max_connect_errors: 1_000_000 } },
    { engine, run, configId: 'storm-test', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
  );
  const ready = await db.waitReady(60_000, new AbortController().signal);
  if (!ready.ready) throw new Error(`server not ready: ${ready.why}`);
  await seedFeed(db.endpoint(), SIZE);
});

afterAll(async () => {
  await db?.[Symbol.asyncDispose]();
  expect(await containersLabelled(`oomlab.run=${run.runId}`)).toEqual([]);
});

/** A storm at a steady rate against the test server; each test states only what it changes. */
function steadyStorm(perSecond: number, durationMs: number, options: Partial<Parameters<typeof runStorm>[0]> = {}) {
  return runStorm({
    endpoint: { ...db.endpoint(), database: FEED_DATABASE },
    startPerSecond: perSecond,
    stages: [{ targetPerSecond: perSecond, durationMs }],
    session: { queries: 1, thinkMs: 0, holdMs: 0 },
    mix: POINT,
    signal: new AbortController().signal,
    ...options,
  });
}

describe('runStorm against a real server', () => {
  it('holds the intended rate within 2% while the server keeps up', async () => {
    const result = await steadyStorm(100, 5_000);
    expect(result.errorsByCode).toEqual({});
    expect(result.sessions).toMatchObject({ intended: 500, started: 500, completed: 500, dropped: 0, unfinished: 0 });
    expect(Math.abs(result.achievedRatio - 1)).toBeLessThanOrEqual(0.02);
    // Every full second on its own, too: not just the total.
    for (const second of result.perSecond.slice(0, 4)) expect(Math.abs(second.started - second.intended), JSON.stringify(second)).toBeLessThanOrEqual(2);
    expect(result.connectLatencyMs.count).toBe(500);
  });

  // Before the tests that cut sessions: a cut client shows in Aborted_clients only when the server next looks at it.
  it('opens connect-only sessions through the lean wire path on MariaDB 10.11 (mysql_native_password)', async () => {
    const status = async () => {
      const c = await createConnection(db.endpoint());
      const [rows] = await c.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Connections', 'Aborted_clients')");
      await c.end();
      return Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, Number(r.Value)]));
    };
    const before = await status();
    const result = await steadyStorm(200, 1_000, { session: { queries: 0, thinkMs: 0, holdMs: 0 } });
    const after = await status();
    expect(result.client).toBe('lean');
    expect(result.errorsByCode).toEqual({});
    expect(result.sessions).toMatchObject({ intended: 200, started: 200, completed: 200, failed: 0 });
    expect(result.serverConnectLatencyMs?.count).toBe(200);
    // 200 logins and the status connection; each session said COM_QUIT, so none was an aborted client.
    expect(after.Connections! - before.Connections!).toBe(201);
    expect(after.Aborted_clients).toBe(before.Aborted_clients);
  });

  it('shows the gap when it cannot keep up: dropped arrivals at the in-flight cap, not a silent slowdown', async () => {
    const result = await runStorm({
      endpoint: { ...db.endpoint(), database: FEED_DATABASE },
      startPerSecond: 200,
      stages: [{ targetPerSecond: 200, durationMs: 2_000 }],
      // Each session holds its connection 500ms, so 10 slots serve about 20 sessions/s of the 200 intended.
      session: { queries: 1, thinkMs: 0, holdMs: 500 },
      mix: POINT,
      maxInFlight: 10,
      signal: new AbortController().signal,
    });
    expect(result.capHit).toBe(true);
    expect(result.sessions.dropped).toBeGreaterThan(300);
    expect(result.sessions.started + result.sessions.dropped).toBe(result.sessions.intended);
    expect(result.achievedRatio).toBeLessThan(0.2);
    expect(result.peakInFlight).toBe(10);
  });

  it('runs the feed mix and counts server errors by code (1040 when max_connections is exceeded)', async () => {
    const result = await runStorm({
      endpoint: { ...db.endpoint(), database: FEED_DATABASE },
      startPerSecond: 500,
      stages: [{ targetPerSecond: 500, durationMs: 1_500 }],
      // Idle connections pile up past max_connections=400, as in the incident.
      session: { queries: 2, thinkMs: 0, holdMs: 3_000 },
      mix: feedQueryMix(SIZE),
      random: seededRandom(1),
      drainMs: 10_000,
      signal: new AbortController().signal,
    });
    expect(result.errorsByCode['1040 ER_CON_COUNT_ERROR']).toBeGreaterThan(0);
    expect(result.queries.ok).toBeGreaterThan(0);
    expect(result.queryLatencyMs.p99).toBeGreaterThan(0);
    expect(result.queryLatencyMs.p50).toBeLessThanOrEqual(result.queryLatencyMs.p99);
  });
  it('cuts sessions still running at the drain deadline: pauses and pending statements end, counted as unfinished', async () => {
    const result = await steadyStorm(50, 1_000, {
      // Half the sessions sleep in the server, the rest hold their connection: both outlast the drain.
      session: { queries: 1, thinkMs: 0, holdMs: 60_000 },
      mix: [
        { name: 'sleep', weight: 1, sql: 'SELECT SLEEP(60)' },
        { name: 'point', weight: 1, sql: POINT[0]!.sql },
      ],
      random: seededRandom(3),
      drainMs: 1_000,
    });
    expect(result.sessions).toMatchObject({ intended: 50, started: 50, completed: 0, dropped: 0, unfinished: 50, failed: 0 });
    expect(result.errorsByCode).toEqual({});
    expect(result.endedBy).toBe('done');
  });

  it('ends held sessions at once when the run is cancelled, and reports the cancel', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_500);
    const result = await steadyStorm(20, 5_000, { session: { queries: 1, thinkMs: 0, holdMs: 60_000 }, signal: controller.signal });
    expect(result.endedBy).toBe('cancel');
    expect(result.sessions.started).toBeGreaterThan(0);
    expect(result.sessions.started).toBeLessThan(100);
    // Held sessions wake on the cancel and quit like a client would.
    expect(result.sessions.completed + result.sessions.unfinished).toBe(result.sessions.started);
  });

  it('leaves no timer behind: a process that ran a storm with a 10-minute drain allowance exits once it is done', async () => {
    const script = `
      import { runStorm } from './src/5-workload/index.ts';
      const r = await runStorm({ endpoint: JSON.parse(process.env.ENDPOINT), startPerSecond: 50, stages: [{ targetPerSecond: 50, durationMs: 500 }],
        session: { queries: 1, thinkMs: 0, holdMs: 0 }, mix: [{ name: 'p', weight: 1, sql: 'SELECT 1' }], drainMs: 600_000, signal: new AbortController().signal });
      console.log(r.sessions.completed);`;
    // Without its own exit the child would live for the whole drain allowance; the timeout turns that into a failure.
    const child = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      env: { ENDPOINT: JSON.stringify(db.endpoint()) },
      timeout: 60_000,
      reject: false,
    });
    expect(child.timedOut, child.stderr).toBe(false);
    expect(child.stdout.trim()).toBe('25');
  });

  it('counts 1040 from the lean path under its code when max_connections is tiny, and names the server as the side that stopped keeping up', async () => {
    const admin = await createConnection(db.endpoint());
    await admin.query("CREATE USER IF NOT EXISTS 'plain'@'%' IDENTIFIED BY 'plain-pw'");
    await admin.query(`GRANT SELECT ON ${FEED_DATABASE}.* TO 'plain'@'%'`);
    // 10 is MariaDB's least; a user without SUPER gets no extra connection.
    await admin.query('SET GLOBAL max_connections = 10');
    try {
      const result = await steadyStorm(40, 1_000, {
        endpoint: { ...db.endpoint(), user: 'plain', password: 'plain-pw', database: FEED_DATABASE },
        session: { queries: 1, thinkMs: 0, holdMs: 2_000 },
      });
      expect(result.client).toBe('lean');
      expect(result.errorsByCode['1040 ER_CON_COUNT_ERROR']).toBeGreaterThanOrEqual(25);
      expect(result.sessions.completed).toBeLessThanOrEqual(10);
      expect(result.saturated?.side).toBe('server');
      expect(result.saturated?.why).toMatch(/logins refused/);
    } finally {
      await admin.query('SET GLOBAL max_connections = 400');
      await admin.end();
    }
  });

  it('opens connect-only sessions through the lean wire path on MySQL 9.7 (caching_sha2_password: the RSA login once, then the cached one)', async ({ skip }) => {
    const engine = await connectEngine();
    const state = await offlineImageState(engine, 'oomlab/mysql:9.7');
    if (state.state !== 'good') skip(`oomlab/mysql:9.7 is ${state.state} on this engine: \`./oomlab run scenarios/upgrade-nofile.ts\` builds it`);
    const mysqlRun = { runId: `${run.runId}-mysql`, scenario: 'test-storm' };
    await using mysql = await startInstance(
      { name: 'mysql', image: 'oomlab/mysql:9.7', memory: 2 * 1024 ** 3, mycnf: { max_connections: 400 } },
      { engine, run: mysqlRun, configId: 'storm-test-mysql', configIndex: 1, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
    );
    const ready = await mysql.waitReady(120_000, new AbortController().signal);
    if (!ready.ready) throw new Error(`server not ready: ${ready.why}`);
    const result = await runStorm({
      endpoint: mysql.endpoint(),
      startPerSecond: 100,
      stages: [{ targetPerSecond: 100, durationMs: 1_000 }],
      session: { queries: 1, thinkMs: 0, holdMs: 0 },
      mix: [{ name: 'one', weight: 1, sql: 'SELECT 1' }],
      signal: new AbortController().signal,
    });
    expect(result.client).toBe('lean');
    expect(result.errorsByCode).toEqual({});
    expect(result.sessions).toMatchObject({ intended: 100, started: 100, completed: 100, failed: 0 });
    expect(result.queries).toEqual({ ok: 100, failed: 0 });
  }, 180_000);
});
