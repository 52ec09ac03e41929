// The storm driver against mysqlslap (Debian's MariaDB client) on the same local server, at the same
// concurrency, one after the other: new connections per second, then queries per second. Each figure is
// measured twice in the order mysqlslap, storm, storm, mysqlslap, so neither side gains from going first,
// and with the CPU each side spent (client and server), which is where the time goes on a small host.
// Two layouts: `split` gives the server core 1 and the client core 0 (can the driver saturate the server?);
// `shared` lets both use every core (on 2 cores, the client's CPU per operation is taken from the server).
// Usage: node --import tsx bench/storm.ts [--concurrency 32] [--connections 5000] [--queries 200000] [--layout split,shared]
// Then, per layout, an open-model ramp of connect-and-quit sessions up to twice mysqlslap's rate: how closely
// the driver held the intended rate, and when and on which side (driver or server) it stopped keeping up.
//
// Where a connect-only session's client CPU went (node --cpu-prof on bench/storm-client.ts, 5000 sessions of
// connect + one point select + quit at concurrency 32, pinned to core 0 against MariaDB 10.11 on core 1; self
// time as a share of the profile, busy 2-core host):
//   before, through mysql2: 617 µs a session. The kernel's TCP work (connect 10.2%, write 10.1%, close 1.2%),
//     net.Socket and its streams 14%, mysql2 11% (a parser, command queue, packet objects and an LRU per
//     connection), garbage collection 5.7%, the storm's own code 4%.
//   after, the lean wire path (src/5-workload/lean-connection.ts, reading into one shared buffer): 272-307 µs.
//     The kernel's share stays (connect 10.9%, write 10.5%, close 3.0% of the profile, a third of the busy
//     time; mysqlslap pays it too, its 145-187 µs a connection in the bench are mostly system time); mysql2 is
//     gone, the lean path is under 2%, garbage collection 3.5%; what is left in user space is net.Socket's
//     construction and stream state (Socket 1.8%, Duplex 0.8%, afterConnect 0.8%) and the module loading of start-up.
// Last figures (3 runs on a host shared with other jobs, load average 1-128; the lead reruns them on a quiet one):
//   new connections storm/mysqlslap 0.65-0.98 split, 0.53-0.81 shared (client CPU 288-315 vs 165-187 µs);
//   queries 0.69-1.08 split, 1.01-1.14 shared; open ramp held within 0.1-0.6% up to 2999-3400/s (split),
//   then the server stopped keeping up (1040s, connect p99 over 1 s), the driver's lag p99 15-304 ms over the ramp; in the
//   first run (load average 128, before the shared read buffer) the driver fell behind in its first second (239 of 248).
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { $, type Options } from 'zx';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage, startInstance, type StartedInstance } from '../src/3-runtime/index.ts';
import { readContainerResources, startLoadSampler, Timeline } from '../src/4-observe/index.ts';
import { FEED_DATABASE, seedFeed } from '../src/5-workload/index.ts';

const { values } = parseArgs({ options: { concurrency: { type: 'string' }, connections: { type: 'string' }, queries: { type: 'string' }, layout: { type: 'string' } } });
const concurrency = Number(values.concurrency ?? 32);
const connections = Number(values.connections ?? 5_000);
const queries = Number(values.queries ?? 200_000);
const layouts = (values.layout ?? 'split,shared').split(',') as ('split' | 'shared')[];
const POINT_SELECT = `SELECT id, name FROM ${FEED_DATABASE}.users WHERE id = 42`;
const CLIENT_CORE = '0';
const SERVER_CORE = '1';

// A bench script is shell written by a person: zx (docs/shell.md). Quiet: the figures are the output.
const sh = (options: Partial<Options> = {}) => $({ quiet: true, ...options });

async function slapCommand(): Promise<string> {
  for (const name of ['mariadb-slap', 'mysqlslap']) {
    if ((await sh({ nothrow: true })`command -v ${name}`).ok) return name;
  }
  console.error('installing mariadb-client for mysqlslap (apt-get), once');
  await sh()`apt-get update -qq`;
  await sh({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq mariadb-client`;
  return 'mariadb-slap';
}

/** mysqlslap's own figure: "Average number of seconds to run all queries: X seconds". */
function slapSeconds(output: string): number {
  const match = /Average number of seconds to run all queries: ([\d.]+) seconds/.exec(output);
  if (!match) throw new Error(`cannot read mysqlslap's output:\n${output}`);
  return Number(match[1]);
}

/** The shell's `times`: its second line is the children's user and system time, e.g. `0m0.610000s 0m3.000000s`. */
function childCpuSeconds(timesOutput: string): number {
  const line = timesOutput.trim().split('\n').at(-1) ?? '';
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

async function serverCpuSeconds(db: StartedInstance): Promise<number> {
  const r = await readContainerResources(db.containerId);
  return ((r?.cpuUserTicks ?? 0) + (r?.cpuSystemTicks ?? 0)) / 100;
}

/** TIME_WAIT sockets on this host; a connection run leaves thousands, and the ephemeral ports are 28 000. */
async function timeWaitSockets(): Promise<number> {
  const sockstat = await readFile('/proc/net/sockstat', 'utf8');
  return Number(/TCP:.* tw (\d+)/.exec(sockstat)?.[1] ?? 0);
}

async function untilTimeWaitBelow(limit: number): Promise<void> {
  const deadline = Date.now() + 70_000;
  while ((await timeWaitSockets()) > limit && Date.now() < deadline) await sleep(1_000);
}

interface Measured {
  rate: number;
  clientCpuUsPerOp: number;
  serverCpuUsPerOp: number;
  note?: string;
}

const RAMP_SECONDS = 10;

/** An open-model ramp from 100 sessions/s to `toPerSecond`: the rate held before saturation, and who saturated. */
async function openRamp(layout: string, pin: (command: string[]) => string[], toPerSecond: number): Promise<string> {
  const db = servers[layout as 'split' | 'shared']!;
  const command = pin(['node', '--import', 'tsx', 'bench/storm-client.ts', 'ramp', '100', String(toPerSecond), String(RAMP_SECONDS), POINT_SELECT]);
  const out = await sh({ env: { ...process.env, OOMLAB_BENCH_ENDPOINT: JSON.stringify({ ...db.endpoint(), database: FEED_DATABASE }) } })`${command}`;
  const r = JSON.parse(out.stdout.split('\n')[0]!) as {
    client: string;
    driverLagMs: { p99: number; max: number };
    serverConnectP99Ms: number;
    saturated?: { side: string; second: number; intendedPerSecond: number; why: string };
    perSecond: [number, number][];
    errorsByCode: Record<string, number>;
  };
  // Whole seconds of the schedule before the saturated one (the last, partial second is left out).
  const held = r.perSecond.slice(0, Math.min(RAMP_SECONDS, r.saturated?.second ?? RAMP_SECONDS)).filter(([intended]) => intended > 0);
  const worst = held.reduce((w, [intended, started]) => Math.max(w, Math.abs(started / intended - 1)), 0);
  const upTo = held.at(-1)?.[0] ?? 0;
  const saturated = r.saturated ? `the ${r.saturated.side} stopped keeping up at ${r.saturated.second}s (${r.saturated.intendedPerSecond}/s intended): ${r.saturated.why}` : 'both kept up';
  const errors = Object.keys(r.errorsByCode).length > 0 ? `   errors ${JSON.stringify(r.errorsByCode)}` : '';
  return (
    `${layout.padEnd(7)} open ramp 100→${toPerSecond}/s over ${RAMP_SECONDS}s (${r.client} client): rate held within ${(worst * 100).toFixed(1)}% up to ${upTo}/s; ${saturated}; ` +
    `driver lag p99 ${r.driverLagMs.p99} ms (max ${r.driverLagMs.max}), server connect p99 ${r.serverConnectP99Ms} ms${errors}`
  );
}

const engine = await connectEngine();
await resolveImage(engine, OFFLINE_MARIADB_IMAGE);
const slap = await slapCommand();
const run = { runId: `bench-${Date.now()}`, scenario: 'bench-storm' };
const servers: Partial<Record<'split' | 'shared', StartedInstance>> = {};
const cleanup = async () => {
  for (const db of Object.values(servers)) await db[Symbol.asyncDispose]();
};
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
try {
  for (const [index, layout] of layouts.entries()) {
    const db = await startInstance(
      {
        name: `db-${layout}`,
        image: OFFLINE_MARIADB_IMAGE,
        memory: 4 * 1024 ** 3,
        ...(layout === 'split' ? { cpusetCpus: SERVER_CORE } : {}),
        mycnf: { max_connections: concurrency * 4, max_connect_errors: 1_000_000, innodb_buffer_pool_size: '256M', thread_cache_size: concurrency * 2 },
      },
      { engine, run, configId: `bench-${layout}`, configIndex: index, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
    );
    servers[layout] = db;
    const ready = await db.waitReady(60_000, new AbortController().signal);
    if (!ready.ready) throw new Error(`server not ready: ${ready.why}`);
    await seedFeed(db.endpoint(), { users: 2_000, posts: 40_000, followsPerUser: 20 });
  }

  const results: string[] = [];
  for (const layout of layouts) {
    const db = servers[layout]!;
    const { host, port, user, password } = db.endpoint();
    const pin = (command: string[]) => (layout === 'split' ? ['taskset', '-c', CLIENT_CORE, ...command] : command);
    // `times` after the command: the shell's children's CPU, the client's cost.
    const timed = (command: string[], env: Record<string, string> = {}) => sh({ env: { ...process.env, ...env } })`${pin(command)}; times`;
    const slapArgs = [
      `--host=${host}`,
      `--port=${port}`,
      `--user=${user}`,
      `--password=${password}`,
      `--concurrency=${concurrency}`,
      '--iterations=1',
      `--create-schema=${FEED_DATABASE}`,
      `--query=${POINT_SELECT}`,
    ];

    const runSlap = async (ops: number, reconnectEach: boolean): Promise<Measured> => {
      const server0 = await serverCpuSeconds(db);
      const out = await timed([slap, ...slapArgs, `--number-of-queries=${ops}`, ...(reconnectEach ? ['--detach=1'] : [])]);
      const serverCpu = (await serverCpuSeconds(db)) - server0;
      return { rate: ops / slapSeconds(out.stdout), clientCpuUsPerOp: (childCpuSeconds(out.stdout) * 1e6) / ops, serverCpuUsPerOp: (serverCpu * 1e6) / ops };
    };
    const runStormClient = async (sessions: number, perSession: number, sampled = false): Promise<Measured> => {
      const sampler = sampled ? await startLoadSampler({ instance: 'db', containerId: db.containerId, endpoint: db.endpoint(), timeline: new Timeline() }) : undefined;
      const server0 = await serverCpuSeconds(db);
      const out = await timed(['node', '--import', 'tsx', 'bench/storm-client.ts', String(sessions), String(perSession), String(concurrency), POINT_SELECT], {
        OOMLAB_BENCH_ENDPOINT: JSON.stringify({ ...db.endpoint(), database: FEED_DATABASE }),
      });
      const serverCpu = (await serverCpuSeconds(db)) - server0;
      await sampler?.stop();
      const r = JSON.parse(out.stdout.split('\n')[0]!) as { seconds: number; sessionsCompleted: number; queriesOk: number; errorsByCode: Record<string, number>; clientCpuSeconds: number };
      const ops = perSession === 1 ? r.sessionsCompleted : r.queriesOk;
      const errors = Object.keys(r.errorsByCode).length > 0 ? `errors ${JSON.stringify(r.errorsByCode)}` : undefined;
      return { rate: ops / r.seconds, clientCpuUsPerOp: (r.clientCpuSeconds * 1e6) / ops, serverCpuUsPerOp: (serverCpu * 1e6) / ops, ...(errors ? { note: errors } : {}) };
    };
    const mean = (a: Measured, b: Measured): Measured => ({
      rate: (a.rate + b.rate) / 2,
      clientCpuUsPerOp: (a.clientCpuUsPerOp + b.clientCpuUsPerOp) / 2,
      serverCpuUsPerOp: (a.serverCpuUsPerOp + b.serverCpuUsPerOp) / 2,
      ...(a.note || b.note ? { note: [a.note, b.note].filter(Boolean).join('; ') } : {}),
    });
    const row = (what: string, s: Measured, t: Measured) =>
      `${layout.padEnd(7)} ${what.padEnd(16)} mysqlslap ${s.rate.toFixed(0).padStart(6)}/s   storm ${t.rate.toFixed(0).padStart(6)}/s   storm/mysqlslap ${(t.rate / s.rate).toFixed(2)}   ` +
      `client CPU/op ${s.clientCpuUsPerOp.toFixed(0)} vs ${t.clientCpuUsPerOp.toFixed(0)} µs   server CPU/op ${s.serverCpuUsPerOp.toFixed(0)} vs ${t.serverCpuUsPerOp.toFixed(0)} µs${t.note ? `   storm ${t.note}` : ''}`;

    // 1. New connections per second: connect, one statement, quit. ABBA, with the TIME_WAIT of earlier runs gone.
    await untilTimeWaitBelow(2_000);
    const slapConnect1 = await runSlap(connections, true);
    const stormConnect1 = await runStormClient(connections, 1);
    const stormConnect2 = await runStormClient(connections, 1);
    const slapConnect2 = await runSlap(connections, true);
    results.push(row('new connections', mean(slapConnect1, slapConnect2), mean(stormConnect1, stormConnect2)));
    // 2. Queries per second over held connections.
    const perSession = Math.round(queries / concurrency);
    const slapQuery1 = await runSlap(queries, false);
    const stormQuery1 = await runStormClient(concurrency, perSession);
    const stormQuery2 = await runStormClient(concurrency, perSession);
    const slapQuery2 = await runSlap(queries, false);
    const stormQuery = mean(stormQuery1, stormQuery2);
    results.push(row('queries', mean(slapQuery1, slapQuery2), stormQuery));
    // 3. The same queries while the load sampler (in this process) watches at its default 1 s: what observing costs.
    // In `split` this process joins the client's core, so the figure is the server's cost, not a third CPU user.
    if (layout === 'split') await sh()`taskset -a -p -c ${CLIENT_CORE} ${process.pid}`;
    const observed = mean(await runStormClient(concurrency, perSession, true), await runStormClient(concurrency, perSession, true));
    if (layout === 'split') await sh()`taskset -a -p -c ${`0-${availableParallelism() - 1}`} ${process.pid}`;
    results.push(
      `${layout.padEnd(7)} load sampler on (1 s): storm ${observed.rate.toFixed(0)}/s vs ${stormQuery.rate.toFixed(0)}/s without, ${((observed.rate / stormQuery.rate - 1) * 100).toFixed(1)}%`,
    );
    // 4. Open model: arrivals on a ramp to twice mysqlslap's connection rate, whatever the server does.
    await untilTimeWaitBelow(2_000);
    results.push(await openRamp(layout, pin, Math.ceil((slapConnect1.rate + slapConnect2.rate) / 2) * 2));
    console.error(`· ${layout} done`);
  }
  console.log(
    `concurrency ${concurrency}, ${connections} connections and ${queries} queries a run, server ${OFFLINE_MARIADB_IMAGE} on 127.0.0.1 (means of two runs each, order mysqlslap-storm-storm-mysqlslap)`,
  );
  console.log('split: server on core 1, client on core 0; shared: both on both cores');
  for (const line of results) console.log(line);
} finally {
  await cleanup();
}
