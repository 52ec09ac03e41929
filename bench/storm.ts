// The storm driver against mysqlslap (Debian's MariaDB client) on the same local server, at the same
// concurrency, one after the other: new connections per second, then queries per second. Each figure is
// measured twice in the order mysqlslap, storm, storm, mysqlslap, so neither side gains from going first,
// and with the CPU each side spent (client and server), which is where the time goes on a small host.
// Two layouts: `split` gives the server core 1 and the client core 0 (can the driver saturate the server?);
// `shared` lets both use every core (on 2 cores, the client's CPU per operation is taken from the server).
// Usage: node --import tsx bench/storm.ts [--concurrency 32] [--connections 20000] [--queries 200000] [--layout split,shared] [--rounds 2] [--criterion]
// Last, per layout, the criterion with every run's figures: the split layout's server core at least 90% busy under the
// storm, and the storm's client CPU per new connection at most mysqlslap's (`--criterion`: only the runs that decide it).
// Then, per layout, a fresh storm process's warm-up, the observers' cost, and an open-model ramp of
// connect-and-quit sessions up to twice mysqlslap's rate: how closely the driver held the intended rate,
// and when and on which side (driver or server) it stopped keeping up.
//
// Why 20 000 connections a run: a fresh Node process takes its first 5 000-10 000 sessions to reach its
// steady cost (the `warm-up` line: 170-245 µs of client CPU a session for the first thousand, 88-144 µs for
// sessions 10 001-20 000, user time 107-138 falling to 22-38 µs). Part is V8 compiling the hot path; part is
// the kernel's side (in a profile the first thousand sessions' writes cost twice the later ones). A 5 000-
// session run (1 s, the default before) measured mostly that: split 0.91-0.95× mysqlslap in three runs.
// With 20 000 the split layout's server core is busy 91-98% under either client (the `server's core busy`
// figure), so there the ratio is bounded by the server and moves with the host around 1.0.
//
// Where a connect-only session's client CPU went (node --cpu-prof on bench/storm-client.ts, connect + one point
// select + quit at concurrency 32, pinned to core 0 against MariaDB 10.11 on core 1; self time as a share of the profile):
//   through mysql2: 617 µs a session. The kernel's TCP work (connect 10.2%, write 10.1%, close 1.2%),
//     net.Socket and its streams 14%, mysql2 11% (a parser, command queue, packet objects and an LRU per
//     connection), garbage collection 5.7%, the storm's own code 4%.
//   the lean wire path over net.Socket (src/5-workload/wire/lean-connection.ts): 272-307 µs. mysql2 gone; what was
//     left in user space was net.Socket's construction and stream state, and a socket timer re-armed on every read and write.
//   now, on libuv's TCP handle as net drives it (src/5-workload/wire/socket.ts), one deadline sweep for every
//     connection, and sessions driven by callbacks: the syscalls are about 60% of the profile (connect 27-28%,
//     the three writes 20%, close 5-6%), the client idles 16-21% waiting for the server, and all of the
//     storm's own code, the protocol and garbage collection are under 10%. Client CPU a session: 165-219 µs
//     (user 35-50, system 85-120) in a bare loop of LeanConnections, 200-230 µs through runStorm; mysqlslap's 118-253.
//     strace -c: 16 syscalls a session (mysqlslap: 23). The client process loading the whole workload stage,
//     as oomlab does, costs about 7 µs of user time a session against loading the storm alone (cause not found: no async hook is on).
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { $, type Options } from 'zx';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage, startInstance, type StartedInstance } from '../src/3-runtime/docker/index.ts';
import { readContainerResources, sampleMemoryPeak, startLoadSampler, Timeline } from '../src/4-observe/index.ts';
import { FEED_DATABASE, seedFeed } from '../src/5-workload/index.ts';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string' },
    connections: { type: 'string' },
    queries: { type: 'string' },
    layout: { type: 'string' },
    rounds: { type: 'string' },
    criterion: { type: 'boolean' },
  },
});
// `--criterion`: only the new-connection runs and the criterion they decide (a minute or two, not thirteen).
const criterionOnly = values.criterion ?? false;
/** The storm must keep the split layout's server core at least this busy: the server, not the client, is then the limit. */
const BUSY_AT_LEAST = 0.9;
const concurrency = Number(values.concurrency ?? 32);
// 20 000 a run (4-5 s): a fresh Node process spends its first few thousand sessions warming up (the JIT), and a
// 5 000-session run (1 s) measured mostly that; the warm-up line below shows what it costs.
const connections = Number(values.connections ?? 20_000);
const queries = Number(values.queries ?? 200_000);
const layouts = (values.layout ?? 'split,shared').split(',') as ('split' | 'shared')[];
// Rounds of mysqlslap-storm-storm-mysqlslap per figure: a 2-core VM's rates wander by 10-30% from run to run.
const rounds = Number(values.rounds ?? 2);
// Long enough that opening the load sampler's connection (a one-off 20-40 ms here) weighs as little as in a run of minutes.
const OBSERVED_SECONDS = 20;
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
  const r = await readContainerResources(db);
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

/** What bench/storm-client.ts needs to reach a server: its endpoint and the feed's database. */
function clientEnv(db: StartedInstance): Record<string, string> {
  return { OOMLAB_BENCH_ENDPOINT: JSON.stringify({ ...db.endpoint(), database: FEED_DATABASE }) };
}

/** The server's cores busy in one run: its CPU over the run's time, per core it may use. */
function serverBusy(m: Measured, cores: number): number {
  return (m.serverCpuUsPerOp * m.rate) / 1e6 / cores;
}

/**
 * The storm bench's criterion for one layout, every run printed: under the storm the split layout's server core is at
 * least 90% busy in each run (so the server is the limit, and a rate ratio measures the server), and a new connection
 * costs the storm no more client CPU than it costs mysqlslap (means over the runs; each run's figure beside them).
 */
function criterion(layout: 'split' | 'shared', slap: Measured[], storm: Measured[]): { layout: string; line: string; met: boolean } {
  const cores = layout === 'split' ? 1 : availableParallelism();
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const busy = storm.map((m) => serverBusy(m, cores));
  const busyMet = layout === 'shared' || busy.every((b) => b >= BUSY_AT_LEAST);
  const us = (runs: Measured[]) => runs.map((m) => m.clientCpuUsPerOp.toFixed(0)).join(' ');
  const average = (runs: Measured[]) => runs.reduce((sum, m) => sum + m.clientCpuUsPerOp, 0) / runs.length;
  const cpuMet = average(storm) <= average(slap);
  const busyText =
    layout === 'split'
      ? `server's core busy under the storm ${busy.map(pct).join(' ')} (each ≥ ${pct(BUSY_AT_LEAST)}: ${busyMet ? 'met' : 'NOT met'}; under mysqlslap ${slap.map((m) => pct(serverBusy(m, cores))).join(' ')})`
      : `server busy under the storm ${busy.map(pct).join(' ')} of ${cores} cores it shares with the client (not part of the criterion)`;
  return {
    layout,
    line: `${layout.padEnd(7)} criterion: ${busyText}; client CPU per new connection storm ${us(storm)} µs vs mysqlslap ${us(slap)} µs (mean ${average(storm).toFixed(1)} ≤ ${average(slap).toFixed(1)}: ${cpuMet ? 'met' : 'NOT met'})`,
    met: busyMet && cpuMet,
  };
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
  const out = await sh({ env: { ...process.env, ...clientEnv(db) } })`${command}`;
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

const WARM_UP_BATCHES = [1_000, 1_000, 1_000, 2_000, 5_000, 10_000];

/** Client CPU a session, batch by batch, from a fresh process: where the JIT's warm-up ends. */
async function warmUp(layout: string, pin: (command: string[]) => string[]): Promise<string> {
  const db = servers[layout as 'split' | 'shared']!;
  const command = pin(['node', '--import', 'tsx', 'bench/storm-client.ts', 'warmup', String(concurrency), POINT_SELECT, ...WARM_UP_BATCHES.map(String)]);
  const out = await sh({ env: { ...process.env, ...clientEnv(db) } })`${command}`;
  const batches = out.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { sessions: number; seconds: number; userSeconds: number; clientCpuSeconds: number });
  let first = 1;
  const figures = batches.map((b) => {
    const range = `${first}-${first + b.sessions - 1}`;
    first += b.sessions;
    return `${range}: ${((b.clientCpuSeconds * 1e6) / b.sessions).toFixed(0)} µs (user ${((b.userSeconds * 1e6) / b.sessions).toFixed(0)}), ${(b.sessions / b.seconds).toFixed(0)}/s`;
  });
  return `${layout.padEnd(7)} warm-up, one fresh storm process, client CPU a new connection: ${figures.join('; ')}`;
}

// On a fresh machine these install and start docker and build the image: minutes, said as they go.
const progress = { onProgress: (message: string) => console.error(`· ${message}`) };
const engine = await connectEngine(progress);
await resolveImage(engine, OFFLINE_MARIADB_IMAGE, progress);
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
  const criteria: { layout: string; line: string; met: boolean }[] = [];
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
    // The observers of one instance in a run: the memory sampler at 200 ms and the load sampler at 1 s.
    const observers = async () => {
      const memory = sampleMemoryPeak(db, 200);
      const load = await startLoadSampler({ instance: 'db', locatable: db, endpoint: db.endpoint(), timeline: new Timeline() });
      return {
        stop: async () => {
          await load.stop();
          await memory.stop();
        },
      };
    };
    const runStormClient = async (sessions: number, perSession: number, observed = false): Promise<Measured> => {
      const sampler = observed ? await observers() : undefined;
      const server0 = await serverCpuSeconds(db);
      const out = await timed(['node', '--import', 'tsx', 'bench/storm-client.ts', String(sessions), String(perSession), String(concurrency), POINT_SELECT], clientEnv(db));
      const serverCpu = (await serverCpuSeconds(db)) - server0;
      await sampler?.stop();
      const r = JSON.parse(out.stdout.split('\n')[0]!) as { seconds: number; sessionsCompleted: number; queriesOk: number; errorsByCode: Record<string, number>; clientCpuSeconds: number };
      const ops = perSession === 1 ? r.sessionsCompleted : r.queriesOk;
      const errors = Object.keys(r.errorsByCode).length > 0 ? `errors ${JSON.stringify(r.errorsByCode)}` : undefined;
      return { rate: ops / r.seconds, clientCpuUsPerOp: (r.clientCpuSeconds * 1e6) / ops, serverCpuUsPerOp: (serverCpu * 1e6) / ops, ...(errors ? { note: errors } : {}) };
    };
    const mean = (runs: Measured[]): Measured => {
      const notes = runs.map((r) => r.note).filter(Boolean);
      const average = (pick: (r: Measured) => number) => runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
      return {
        rate: average((r) => r.rate),
        clientCpuUsPerOp: average((r) => r.clientCpuUsPerOp),
        serverCpuUsPerOp: average((r) => r.serverCpuUsPerOp),
        ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
      };
    };
    /** `rounds` times a, b, b, a; the means over every run, and each round's b/a. */
    const abba = async (a: () => Promise<Measured>, b: () => Promise<Measured>, beforeRound?: () => Promise<void>) => {
      const as: Measured[] = [];
      const bs: Measured[] = [];
      const ratios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        await beforeRound?.();
        const [a1, b1, b2, a2] = [await a(), await b(), await b(), await a()];
        as.push(a1, a2);
        bs.push(b1, b2);
        ratios.push((b1.rate + b2.rate) / (a1.rate + a2.rate));
      }
      return { a: mean(as), b: mean(bs), ratios, runsA: as, runsB: bs };
    };
    const spread = (ratios: number[]) => (ratios.length > 1 ? ` (rounds ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})` : '');
    // In `split` the server has one core: near 100%, the server is the limit and the ratio measures its CPU per operation under each client.
    const busy = (m: Measured) => `${((m.serverCpuUsPerOp * m.rate) / 1e4).toFixed(0)}%`;
    const row = (what: string, { a: s, b: t, ratios }: { a: Measured; b: Measured; ratios: number[] }) =>
      `${layout.padEnd(7)} ${what.padEnd(16)} mysqlslap ${s.rate.toFixed(0).padStart(6)}/s   storm ${t.rate.toFixed(0).padStart(6)}/s   storm/mysqlslap ${(t.rate / s.rate).toFixed(2)}${spread(ratios)}   ` +
      `client CPU/op ${s.clientCpuUsPerOp.toFixed(0)} vs ${t.clientCpuUsPerOp.toFixed(0)} µs   server CPU/op ${s.serverCpuUsPerOp.toFixed(0)} vs ${t.serverCpuUsPerOp.toFixed(0)} µs` +
      (layout === 'split' ? `   server's core busy ${busy(s)} vs ${busy(t)}` : '') +
      (t.note ? `   storm ${t.note}` : '');

    // 1. New connections per second: connect, one statement, quit; each round starts with the TIME_WAIT of earlier runs gone.
    const connecting = await abba(
      () => runSlap(connections, true),
      () => runStormClient(connections, 1),
      () => untilTimeWaitBelow(2_000),
    );
    results.push(row('new connections', connecting));
    criteria.push(criterion(layout, connecting.runsA, connecting.runsB));
    if (criterionOnly) {
      console.error(`· ${layout} done`);
      continue;
    }
    // 1b. The warm-up those runs include: storms one after another in one fresh process, each batch's cost.
    results.push(await warmUp(layout, pin));
    // 2. Queries per second over held connections, once the TIME_WAIT sockets of the connection runs are gone:
    // they expire all together 60 s after those runs, a burst of kernel work that would land on one side's run.
    await untilTimeWaitBelow(2_000);
    const perSession = Math.round(queries / concurrency);
    const querying = await abba(
      () => runSlap(queries, false),
      () => runStormClient(concurrency, perSession),
    );
    results.push(row('queries', querying));
    // 3. What observing costs, the observers running in this process: first their own CPU, here and in the
    // server, on an idle server; then the storm's queries with and without them. In `split` this process joins the client's core.
    if (layout === 'split') await sh()`taskset -a -p -c ${CLIENT_CORE} ${process.pid}`;
    const idleServer0 = await serverCpuSeconds(db);
    await sleep(OBSERVED_SECONDS * 1000);
    const idleServer = (await serverCpuSeconds(db)) - idleServer0;
    const here0 = process.cpuUsage();
    const observedServer0 = await serverCpuSeconds(db);
    const watching = await observers();
    await sleep(OBSERVED_SECONDS * 1000);
    await watching.stop();
    const here = process.cpuUsage(here0);
    const observedServer = (await serverCpuSeconds(db)) - observedServer0;
    const clientShare = (here.user + here.system) / 1e6 / OBSERVED_SECONDS;
    const serverShare = Math.max(0, observedServer - idleServer) / OBSERVED_SECONDS;
    // The storm's queries are server-bound: the server CPU the observers take is the throughput they can cost.
    const stormServerShare = (querying.b.serverCpuUsPerOp * querying.b.rate) / 1e6;
    const sampled = await abba(
      () => runStormClient(concurrency, perSession),
      () => runStormClient(concurrency, perSession, true),
    );
    if (layout === 'split') await sh()`taskset -a -p -c ${`0-${availableParallelism() - 1}`} ${process.pid}`;
    results.push(
      `${layout.padEnd(7)} observers (memory 200 ms, load 1 s): ${(clientShare * 100).toFixed(2)}% of a core here, ${(serverShare * 100).toFixed(2)}% in the server ` +
        `(${((serverShare / stormServerShare) * 100).toFixed(2)}% of the server CPU the storm's queries use); ` +
        `storm queries with them ${sampled.b.rate.toFixed(0)}/s vs ${sampled.a.rate.toFixed(0)}/s without, ${((sampled.b.rate / sampled.a.rate - 1) * 100).toFixed(1)}%${spread(sampled.ratios)}`,
    );
    // 4. Open model: arrivals on a ramp to twice mysqlslap's connection rate, whatever the server does.
    await untilTimeWaitBelow(2_000);
    results.push(await openRamp(layout, pin, Math.ceil(connecting.a.rate) * 2));
    console.error(`· ${layout} done`);
  }
  console.log(
    `concurrency ${concurrency}, ${connections} connections and ${queries} queries a run, server ${OFFLINE_MARIADB_IMAGE} on 127.0.0.1 (means of ${rounds * 2} runs each, in ${rounds} rounds of mysqlslap-storm-storm-mysqlslap)`,
  );
  console.log('split: server on core 1, client on core 0; shared: both on both cores');
  for (const line of results) console.log(line);
  for (const { line } of criteria) console.log(line);
  const missed = criteria.filter((c) => !c.met).map((c) => c.layout);
  console.log(`criterion: ${missed.length === 0 ? `met in ${criteria.map((c) => c.layout).join(' and ')}` : `NOT met in ${missed.join(' and ')}`}`);
} finally {
  await cleanup();
}
