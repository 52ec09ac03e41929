// One closed-model storm run for bench/storm.ts, in a process of its own so that the bench can pin it
// to a core (taskset) and count its CPU apart from the server's and mysqlslap's.
// Usage: OOMLAB_BENCH_ENDPOINT='{"host":…}' node --import tsx bench/storm-client.ts <sessions> <queriesPerSession> <concurrency> <sql>
import { runStorm } from '../src/5-workload/index.ts';

const [sessions, perSession, concurrency] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const sql = process.argv[5]!;
const endpoint = JSON.parse(process.env.OOMLAB_BENCH_ENDPOINT ?? '{}');
const cpuBefore = process.cpuUsage();
// Every session arrives at once; `wait` keeps `concurrency` of them in flight: a closed model like mysqlslap's.
const result = await runStorm({
  endpoint,
  startPerSecond: sessions * 100,
  stages: [{ targetPerSecond: sessions * 100, durationMs: 10 }],
  session: { queries: perSession, thinkMs: 0, holdMs: 0 },
  mix: [{ name: 'bench', weight: 1, sql }],
  maxInFlight: concurrency,
  whenFull: 'wait',
  drainMs: 600_000,
  signal: new AbortController().signal,
});
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
  })}\n`,
);
