// One storm run for bench/storm.ts, in a process of its own so that the bench can pin it to a core
// (taskset) and count its CPU apart from the server's and mysqlslap's.
// Usage: OOMLAB_BENCH_ENDPOINT='{"host":…}' node --import tsx bench/storm-client.ts <sessions> <queriesPerSession> <concurrency> <sql>
//        OOMLAB_BENCH_ENDPOINT='{"host":…}' node --import tsx bench/storm-client.ts ramp <fromPerSecond> <toPerSecond> <seconds> <sql>
//        OOMLAB_BENCH_ENDPOINT='{"host":…}' node --expose-gc --import tsx bench/storm-client.ts memory <sessions> <perSecond> <holdMs> <sql>
//        OOMLAB_BENCH_ENDPOINT='{"host":…}' node --import tsx bench/storm-client.ts warmup <concurrency> <sql> <sessions>...
// `memory`: open-model sessions at a steady rate (each held `holdMs` after its statement), with the process's
// memory before the storm, at its peak (sampled every 20 ms), and after it with garbage collected.
// `warmup`: closed-model connect-and-quit storms one after the other in this one process, a line of JSON each
// (its sessions, seconds and the CPU they cost): how long a fresh process takes to reach its steady cost.
import { runStorm, type StormResult } from '../src/5-workload/index.ts';

const endpoint = JSON.parse(process.env.OOMLAB_BENCH_ENDPOINT ?? '{}');
const cpuBefore = process.cpuUsage();
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
let memory: Record<string, number> | undefined;
let result: StormResult;
if (process.argv[2] === 'memory') {
  const [sessions, perSecond, holdMs] = process.argv.slice(3, 6).map(Number) as [number, number, number];
  collect();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heapUsed: before.heapUsed, external: before.external };
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
    peak.external = Math.max(peak.external, now.external);
  }, 20);
  result = await runStorm({
    endpoint,
    startPerSecond: perSecond,
    stages: [{ targetPerSecond: perSecond, durationMs: (sessions / perSecond) * 1000 }],
    session: { queries: 1, thinkMs: 0, holdMs },
    mix: [{ name: 'bench', weight: 1, sql: process.argv[6]! }],
    maxInFlight: 20_000,
    drainMs: 60_000,
    signal: new AbortController().signal,
  });
  clearInterval(sampler);
  collect();
  const after = process.memoryUsage();
  memory = { rssBefore: before.rss, heapBefore: before.heapUsed, rssPeak: peak.rss, heapPeak: peak.heapUsed, externalPeak: peak.external, rssAfter: after.rss, heapAfter: after.heapUsed };
} else if (process.argv[2] === 'ramp') {
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
} else if (process.argv[2] === 'warmup') {
  const [concurrency, sql, ...batches] = process.argv.slice(3);
  for (const sessions of batches.map(Number)) {
    const cpu0 = process.cpuUsage();
    const batch = await closedStorm(sessions, 1, Number(concurrency), sql!);
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(`${JSON.stringify({ sessions: batch.sessions.completed, seconds: batch.durationMs / 1000, userSeconds: cpu.user / 1e6, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
  }
  process.exit(0);
} else {
  const [sessions, perSession, concurrency] = process.argv.slice(2, 5).map(Number) as [number, number, number];
  result = await closedStorm(sessions, perSession, concurrency, process.argv[5]!);
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
    peakInFlight: result.peakInFlight,
    ...(memory ? { memory } : {}),
  })}\n`,
);

/** Every session arrives at once; `wait` keeps `concurrency` of them in flight: a closed model like mysqlslap's. */
function closedStorm(sessions: number, perSession: number, concurrency: number, sql: string): Promise<StormResult> {
  return runStorm({
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
}
