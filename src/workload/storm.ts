import { setTimeout as sleep } from 'node:timers/promises';
import hdr from 'hdr-histogram-js';
import { createConnection as createRawConnection, type Connection as RawConnection } from 'mysql2';
import { achievedRatioOf, dispatchArrivals, intendedStartTimes, totalDurationMs, type ArrivalStage } from './arrival.ts';

export interface StormEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}

/** One statement of the query mix, picked with probability weight / sum of weights. */
export interface MixedQuery {
  name: string;
  weight: number;
  sql: string;
  params?: (random: () => number) => unknown[];
}

export interface SessionShape {
  /** Statements per session. @default 5 */
  queries: number;
  /** Pause between statements, as an API handler would take. @default 0 */
  thinkMs: number;
  /** Stay connected and idle this long after the last statement: a pile-up of idle connections. @default 0 */
  holdMs: number;
}

export interface StormOptions {
  endpoint: StormEndpoint;
  stages: ArrivalStage[];
  startPerSecond?: number;
  session: SessionShape;
  mix: MixedQuery[];
  /** Sessions in flight at most; beyond it arrivals are dropped and counted, so the driver cannot exhaust its own memory or sockets. @default 4_000 */
  maxInFlight?: number;
  connectTimeoutMs?: number;
  signal: AbortSignal;
  /**
   * What an arrival does when `maxInFlight` sessions are running: `drop` it (open model, counted as dropped)
   * or `wait` for a free slot (closed model at that concurrency; its latency still counts from the intended start). @default 'drop'
   */
  whenFull?: 'drop' | 'wait';
  /** After the last arrival, how long running sessions may take before they are cut and counted as `unfinished`. @default 10_000 */
  drainMs?: number;
  /** A statement that takes longer fails with `timeout`. @default 30_000 */
  queryTimeoutMs?: number;
  /** Called once a second with the live figures. */
  onSecond?: (second: StormSecond) => void;
  /** Deterministic query choice and parameters. @default Math.random */
  random?: () => number;
}

export interface StormSecond {
  second: number;
  intended: number;
  started: number;
  errors: number;
  inFlight: number;
  /** Query latency of the statements that completed in this second (for charts over time). */
  latencyP50Ms?: number;
  latencyP90Ms?: number;
  latencyP99Ms?: number;
}

/** Percentiles of one second's latencies: few enough to sort, and no histogram per second to carry. */
export function percentilesOf(valuesMs: number[]): { latencyP50Ms: number; latencyP90Ms: number; latencyP99Ms: number } | undefined {
  if (valuesMs.length === 0) return undefined;
  const sorted = valuesMs.toSorted((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 1000) / 1000;
  return { latencyP50Ms: at(50), latencyP90Ms: at(90), latencyP99Ms: at(99) };
}

export interface LatencySummaryMs {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** One result shape, whatever happened: a storm cut short by an OOM kill still reports what it saw. */
export interface StormResult {
  driver: 'storm';
  durationMs: number;
  endedBy: 'done' | 'cancel';
  sessions: { intended: number; started: number; completed: number; failed: number; dropped: number; unfinished: number };
  queries: { ok: number; failed: number };
  /** From each session's intended start, so a slow server shows as latency, not as a lower rate. */
  connectLatencyMs: LatencySummaryMs;
  queryLatencyMs: LatencySummaryMs;
  sessionLatencyMs: LatencySummaryMs;
  errorsByCode: Record<string, number>;
  perSecond: StormSecond[];
  peakInFlight: number;
  /** The rate achieved over the intended one, for the seconds that had arrivals. */
  achievedRatio: number;
  capHit: boolean;
}

/** A stable key for an error: MySQL's number and name, or the network error's code. */
export function errorKey(error: unknown): string {
  const e = error as { errno?: number; code?: string; message?: string };
  if (e.code?.startsWith('ER_') && e.errno) return `${e.errno} ${e.code}`;
  if (e.code === 'PROTOCOL_CONNECTION_LOST') return '2013 CR_SERVER_LOST';
  if (e.code === 'ETIMEDOUT' || /timed? ?out/i.test(e.message ?? '')) return 'timeout';
  if (e.code) return e.code;
  return `other: ${(e.message ?? String(error)).slice(0, 60)}`;
}

/** Latency histograms of every driver: microseconds from 1 µs to 1 h, 3 significant digits. */
export function newHistogram() {
  // Microseconds from 1 µs to 1 h, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export function summarise(histogram: ReturnType<typeof newHistogram>): LatencySummaryMs {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: histogram.totalCount,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
  };
}

/**
 * Runs an open-model connection storm: sessions arrive on schedule whatever the server does, each
 * connects, runs its statements with think time, optionally stays idle, and disconnects.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  const random = options.random ?? Math.random;
  const maxInFlight = options.maxInFlight ?? 4_000;
  const schedule = intendedStartTimes(options.stages, options.startPerSecond ?? 0);
  const plannedMs = totalDurationMs(options.stages);
  const histograms = { connect: newHistogram(), query: newHistogram(), session: newHistogram() };
  const errorsByCode: Record<string, number> = {};
  const seconds: StormSecond[] = Array.from({ length: Math.ceil(plannedMs / 1000) + 1 }, (_, second) => ({ second, intended: 0, started: 0, errors: 0, inFlight: 0 }));
  for (const t of schedule) seconds[Math.floor(t / 1000)]!.intended++;
  const latenciesBySecond: number[][] = seconds.map(() => []);
  const counts = { started: 0, completed: 0, failed: 0, dropped: 0, queriesOk: 0, queriesFailed: 0 };
  const totalWeight = options.mix.reduce((sum, q) => sum + q.weight, 0);
  const pick = (): MixedQuery => {
    let r = random() * totalWeight;
    for (const q of options.mix) if ((r -= q.weight) < 0) return q;
    return options.mix[options.mix.length - 1]!;
  };
  const open = new Set<RawConnection>();
  const running = new Set<Promise<void>>();
  // One listener for every pause, rather than one per sleeping session.
  const aborted = new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  // Rejects when the drain time is over: every pending connect, statement and pause of a session gives up at once.
  let cutAll: (reason: Error) => void = () => {};
  const cutPromise = new Promise<never>((_, reject) => (cutAll = reject));
  cutPromise.catch(() => {});
  const pause = (ms: number) => Promise.race([sleep(ms), aborted, cutPromise]);
  let inFlight = 0;
  let peakInFlight = 0;
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  const secondOf = (ms: number) => seconds[Math.min(seconds.length - 1, Math.floor(ms / 1000))]!;

  let cutting = false;
  const fail = (error: unknown) => {
    if (cutting) return;
    const key = errorKey(error);
    errorsByCode[key] = (errorsByCode[key] ?? 0) + 1;
    secondOf(elapsed()).errors++;
  };

  async function session(intendedMs: number): Promise<void> {
    // The callback API hands the connection over before it connects, so a cut can destroy a pending connect too.
    // maxPreparedStatements: mysql2 preallocates an LRU of 16000 entries per connection for prepared
    // statements, which the storm never uses (it runs `query`); that was a third of a connect's CPU.
    const raw = createRawConnection({ ...options.endpoint, connectTimeout: options.connectTimeoutMs ?? 10_000, maxPreparedStatements: 4 });
    open.add(raw);
    try {
      const connected = new Promise<void>((resolve, reject) => {
        raw.once('connect', () => resolve());
        raw.once('error', reject);
        raw.once('end', () => reject(Object.assign(new Error('connection closed before it was established'), { code: 'PROTOCOL_CONNECTION_LOST' })));
      });
      await Promise.race([connected, cutPromise]);
      raw.on('error', () => {});
      const connection = raw.promise();
      histograms.connect.recordValue(Math.max(1, Math.round((elapsed() - intendedMs) * 1000)));
      for (let i = 0; i < options.session.queries && !options.signal.aborted && !cutting; i++) {
        const query = pick();
        const sentAt = performance.now();
        try {
          await Promise.race([connection.query({ sql: query.sql, timeout: options.queryTimeoutMs ?? 30_000 }, query.params?.(random) ?? []), cutPromise]);
          const tookMs = performance.now() - sentAt;
          histograms.query.recordValue(Math.max(1, Math.round(tookMs * 1000)));
          latenciesBySecond[Math.min(seconds.length - 1, Math.floor(elapsed() / 1000))]!.push(tookMs);
          counts.queriesOk++;
        } catch (error) {
          counts.queriesFailed++;
          throw error;
        }
        if (options.session.thinkMs > 0) await pause(options.session.thinkMs);
      }
      if (options.session.holdMs > 0) await pause(options.session.holdMs);
      // COM_QUIT, as a real client closes: a bare socket close leaves the server an aborted client to clean up.
      await Promise.race([new Promise<void>((resolve) => raw.end(() => resolve())), cutPromise]);
      counts.completed++;
      histograms.session.recordValue(Math.max(1, Math.round((elapsed() - intendedMs) * 1000)));
    } catch (error) {
      counts.failed++;
      fail(error);
    } finally {
      open.delete(raw);
      raw.destroy();
      inFlight--;
    }
  }

  let lastReported = -1;
  await dispatchArrivals(schedule, {
    elapsed,
    signal: options.signal,
    maxInFlight,
    inFlight: () => inFlight,
    whenFull: options.whenFull ?? 'drop',
    room: () => Promise.race(running),
    drop: () => counts.dropped++,
    start: (intended, now) => {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      counts.started++;
      secondOf(now).started++;
      const run = session(intended);
      running.add(run);
      void run.finally(() => running.delete(run));
    },
    onTick: (now) => {
      const second = Math.floor(now / 1000);
      if (second <= lastReported) return;
      if (lastReported >= 0) {
        const done = secondOf(lastReported * 1000);
        done.inFlight = inFlight;
        options.onSecond?.(done);
      }
      lastReported = second;
    },
  });
  // Sessions still running may finish within the drain time; then (or on cancel) they are cut.
  let unfinished = 0;
  const drained = await Promise.race([
    Promise.allSettled([...running]).then(() => true),
    options.signal.aborted ? Promise.resolve(false) : Promise.race([sleep(options.drainMs ?? 10_000).then(() => false), aborted.then(() => false)]),
  ]);
  if (!drained) {
    unfinished = running.size;
    cutting = true;
    cutAll(new Error('storm drain time over'));
    for (const connection of open) connection.destroy();
    await Promise.allSettled([...running]);
  }
  seconds.forEach((second, i) => Object.assign(second, percentilesOf(latenciesBySecond[i]!)));
  return {
    driver: 'storm',
    durationMs: Math.round(elapsed()),
    endedBy: options.signal.aborted ? 'cancel' : 'done',
    sessions: { intended: schedule.length, started: counts.started, completed: counts.completed, failed: counts.failed - unfinished, dropped: counts.dropped, unfinished },
    queries: { ok: counts.queriesOk, failed: counts.queriesFailed },
    connectLatencyMs: summarise(histograms.connect),
    queryLatencyMs: summarise(histograms.query),
    sessionLatencyMs: summarise(histograms.session),
    errorsByCode,
    perSecond: seconds,
    peakInFlight,
    achievedRatio: achievedRatioOf(seconds),
    capHit: counts.dropped > 0,
  };
}
