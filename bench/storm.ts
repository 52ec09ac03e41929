// The storm driver against mysqlslap (Debian's MariaDB client) on the same local server, at the same
// concurrency, one after the other: new connections per second, then queries per second.
// Usage: node --import tsx bench/storm.ts [--concurrency 32] [--connections 20000] [--queries 200000]
import { execa } from 'execa';
import { parseArgs } from 'node:util';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage, startInstance } from '../src/runtime/index.ts';
import { startLoadSampler, Timeline } from '../src/observe/index.ts';
import { FEED_DATABASE, feedQueryMix, runStorm, seedFeed, type MixedQuery } from '../src/workload/index.ts';

const { values } = parseArgs({ options: { concurrency: { type: 'string' }, connections: { type: 'string' }, queries: { type: 'string' } } });
const concurrency = Number(values.concurrency ?? 32);
const connections = Number(values.connections ?? 20_000);
const queries = Number(values.queries ?? 200_000);
const POINT_SELECT = `SELECT id, name FROM ${FEED_DATABASE}.users WHERE id = 42`;

async function slapCommand(): Promise<string> {
  for (const name of ['mariadb-slap', 'mysqlslap']) {
    if (!(await execa('sh', ['-c', 'command -v "$0"', name], { reject: false })).failed) return name;
  }
  console.error('installing mariadb-client for mysqlslap (apt-get), once');
  await execa('apt-get', ['update', '-qq']);
  await execa('apt-get', ['install', '-y', '-qq', 'mariadb-client'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  return 'mariadb-slap';
}

/** mysqlslap's own figure: "Average number of seconds to run all queries: X seconds". */
function slapSeconds(output: string): number {
  const match = /Average number of seconds to run all queries: ([\d.]+) seconds/.exec(output);
  if (!match) throw new Error(`cannot read mysqlslap's output:\n${output}`);
  return Number(match[1]);
}

const engine = await connectEngine();
await resolveImage(engine, OFFLINE_MARIADB_IMAGE);
const slap = await slapCommand();
const run = { runId: `bench-${Date.now()}`, scenario: 'bench-storm' };
const db = await startInstance(
  { name: 'db', image: OFFLINE_MARIADB_IMAGE, memory: '4g', mycnf: { max_connections: concurrency * 4, max_connect_errors: 1_000_000, innodb_buffer_pool_size: '256M', thread_cache_size: concurrency * 2 } },
  { engine, run, configId: 'bench', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
);
try {
  const ready = await db.waitReady(60_000, new AbortController().signal);
  if (!ready.ready) throw new Error(`server not ready: ${ready.why}`);
  await seedFeed(db.endpoint(), { users: 2_000, posts: 40_000, followsPerUser: 20 });
  const { host, port, user, password } = db.endpoint();
  const slapArgs = [`--host=${host}`, `--port=${port}`, `--user=${user}`, `--password=${password}`, `--concurrency=${concurrency}`, '--iterations=1', `--create-schema=${FEED_DATABASE}`, `--query=${POINT_SELECT}`];
  const point: MixedQuery[] = [{ name: 'point', weight: 1, sql: POINT_SELECT }];
  // Every session arrives at once; `wait` keeps `concurrency` of them in flight: a closed model like mysqlslap's.
  const allAtOnce = (sessions: number) => [{ targetPerSecond: sessions * 100, durationMs: 10 }];
  const storm = (sessions: number, perSession: number) =>
    runStorm({ endpoint: db.endpoint(), startPerSecond: sessions * 100, stages: allAtOnce(sessions), session: { queries: perSession, thinkMs: 0, holdMs: 0 }, mix: point, maxInFlight: concurrency, whenFull: 'wait', drainMs: 600_000, signal: new AbortController().signal });

  // 1. New connections per second: connect, one statement, disconnect.
  const slapConnect = slapSeconds((await execa(slap, [...slapArgs, `--number-of-queries=${connections}`, '--detach=1'])).stdout);
  const stormConnect = await storm(connections, 1);
  // 2. Queries per second over held connections.
  const slapQuery = slapSeconds((await execa(slap, [...slapArgs, `--number-of-queries=${queries}`])).stdout);
  const stormQuery = await storm(concurrency, Math.round(queries / concurrency));
  // 3. The same queries while the load sampler watches at its default 1s: what observing costs the server.
  const sampler = await startLoadSampler({ instance: 'db', containerId: db.containerId, endpoint: db.endpoint(), timeline: new Timeline() });
  const observedQuery = await storm(concurrency, Math.round(queries / concurrency));
  await sampler.stop();

  const row = (what: string, slapRate: number, stormRate: number) =>
    console.log(`${what.padEnd(24)} mysqlslap ${slapRate.toFixed(0).padStart(8)}/s   storm ${stormRate.toFixed(0).padStart(8)}/s   storm/mysqlslap ${(stormRate / slapRate).toFixed(2)}`);
  console.log(`concurrency ${concurrency}, ${connections} connections, ${queries} queries, server ${OFFLINE_MARIADB_IMAGE} on 127.0.0.1`);
  row('new connections', connections / slapConnect, stormConnect.sessions.completed / (stormConnect.durationMs / 1000));
  row('queries', queries / slapQuery, stormQuery.queries.ok / (stormQuery.durationMs / 1000));
  const qps = (r: typeof stormQuery) => r.queries.ok / (r.durationMs / 1000);
  console.log(`load sampler on (1s): storm ${qps(observedQuery).toFixed(0)}/s vs ${qps(stormQuery).toFixed(0)}/s without, ${(((qps(observedQuery) / qps(stormQuery)) - 1) * 100).toFixed(1)}%`);
  console.log(`storm errors: ${JSON.stringify({ ...stormConnect.errorsByCode, ...stormQuery.errorsByCode })}; connect p99 ${stormConnect.connectLatencyMs.p99}ms (from intended start, includes waiting for a slot), query p99 ${stormQuery.queryLatencyMs.p99}ms`);
} finally {
  await db[Symbol.asyncDispose]();
}
