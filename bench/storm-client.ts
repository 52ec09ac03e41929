// One storm run for bench/storm.ts, in a process of its own so that the bench can pin it to a core
// (taskset) and count its CPU apart from the server's and mysqlslap's.
// Usage: OOMLAB_BENCH_ENDPOINT='{"host":…}' node --import tsx bench/storm-client.ts <sessions> <queriesPerSession> <concurrency> <sql>
//        OOMLAB_BENCH_ENDPOINT='{"host":…}' node --import tsx bench/storm-client.ts ramp <fromPerSecond> <toPerSecond> <seconds> <sql>
import { runStorm, type StormResult } from '../src/5-workload/index.ts';

const endpoint = JSON.parse(process.env.OOMLAB_BENCH_ENDPOINT ?? '{}');
const cpuBefore = process.cpuUsage();
let result: StormResult;
if (process.argv[2] === 'ramp') {
  // Open model: connect, one statement, quit, arriving on a linear ramp whatever the server does.
  const [from, to, seconds] = process.argv.slice(3, 6).map(Number) as [number, number, number];
  result = await runStorm({
    endpoint,
    startPerSecond: from,
    stages: [{ targetPerSecond: to, durationMs: seconds * 1000 }],
    session: { queries: 1, thinkMs: 0, holdMs: 0 },
    mix: [{ name: 'bench', weight: 1, sql: process.argv[6]! }],
    drainMs: 30_000,
    signal: new AbortController().signal,
  });
} else {
  const [sessions, perSession, concurrency] = process.argv.slice(2, 5).map(Number) as [number, number, number];
  // Every session arrives at once; `wait` keeps `concurrency` of them in flight: a closed model like mysqlslap's.
  result = await runStorm({
    endpoint,
    startPerSecond: sessions * 100,
    stages: [{ targetPerSecond: sessions * 100, durationMs: 10 }],
    session: { queries: perSession, thinkMs: 0, holdMs: 0 },
    mix: [{ name: 'bench', weight: 1, sql: process.argv[5]! }],
    maxInFlight: concurrency,
    whenFull: 'wait',
    drainMs: 600_000,
    signal: new AbortController().signal,
  });
}
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  `${JSON.stringify({
    seconds: result.durationMs / 1000,
    sessionsCompleted: result.sessions.completed,
    queriesOk: result.queries.ok,
    errorsByCode: result.errorsByCode,
    connectP99Ms: result.connectLatencyMs.p99,
    queryP99Ms: result.queryLatencyMs.p99,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    client: result.client,
    driverLagMs: result.driverLagMs,
    serverConnectP99Ms: result.serverConnectLatencyMs?.p99,
    saturated: result.saturated,
    perSecond: result.perSecond.map((s) => [s.intended, s.started]),
  })}\n`,
);
