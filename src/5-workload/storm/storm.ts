import { setTimeout as sleep } from 'node:timers/promises';
import mysql2 from 'mysql2';
import { weightedPicker } from '../../0-model/pick.ts';
import { STORM_MAX_IN_FLIGHT } from '../../0-model/workload-defaults.ts';
import { achievedRatioOf, arrivalTimes, dispatchArrivals, totalDurationMs, type ArrivalStage } from '../arrival.ts';
import { AUTH_PLUGIN_UNSUPPORTED, LeanConnection, type StormConnection } from '../wire/lean-connection.ts';
import { Mysql2Connection, mysql2Config } from '../wire/mysql2-connection.ts';
import { PerSecondPercentiles } from './per-second.ts';
import { saturationOf } from './saturation.ts';
import type { MixedQuery } from '../feed.ts';
import { errorKey, newHistogram, summarise } from '../measure.ts';
import type { LatencySummaryMs, StormResult, StormSecond } from '../../0-model/workload-result.ts';
import type { MysqlEndpoint } from '../../0-model/endpoint.ts';

export type { LatencySummaryMs, StormResult, StormSecond };

export interface SessionShape {
  /** Statements per session. @default 5 */
  queries: number;
  /** Pause between statements, as an API handler would take. @default 0 */
  thinkMs: number;
  /** Stay connected and idle this long after the last statement: a pile-up of idle connections. @default 0 */
  holdMs: number;
}

export interface StormOptions {
  endpoint: MysqlEndpoint;
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
  /** `lean`: the storm's own wire path (mysql2 once a server asks for a login it does not speak); `mysql2`: mysql2 throughout. @default 'lean' */
  client?: 'lean' | 'mysql2';
}

export { percentilesOf } from './per-second.ts';

/**
 * Runs an open-model connection storm: sessions arrive on schedule whatever the server does, each
 * connects, runs its statements with think time, optionally stays idle, and disconnects.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  const random = options.random ?? Math.random;
  const maxInFlight = options.maxInFlight ?? STORM_MAX_IN_FLIGHT;
  const plannedMs = totalDurationMs(options.stages);
  const histograms = { connect: newHistogram(), serverConnect: newHistogram(), lag: newHistogram(), query: newHistogram(), session: newHistogram() };
  const errorsByCode: Record<string, number> = {};
  const seconds: StormSecond[] = Array.from({ length: Math.ceil(plannedMs / 1000) + 1 }, (_, second) => ({ second, intended: 0, started: 0, errors: 0, inFlight: 0 }));
  let intended = 0;
  for (const t of arrivalTimes(options.stages, options.startPerSecond ?? 0)) {
    seconds[Math.floor(t / 1000)]!.intended++;
    intended++;
  }
  // Each second's statement latencies (by the second they ended in), and for the saturation check its start
  // lags (by intended second), server connect latencies (by the second the session started in), drops and refused logins.
  const latencies = new PerSecondPercentiles();
  const lags = new PerSecondPercentiles();
  const connects = new PerSecondPercentiles();
  const droppedBySecond = seconds.map(() => 0);
  const refusedBySecond = seconds.map(() => 0);
  const counts = { started: 0, completed: 0, failed: 0, dropped: 0, queriesOk: 0, queriesFailed: 0 };
  const pick = weightedPicker(options.mix, random);
  let cutting = false;
  const cutError = new Error('storm drain time over');
  let inFlight = 0;
  let peakInFlight = 0;
  let freedSlot: (() => void) | undefined;
  let allEnded: (() => void) | undefined;
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  const secondOf = (ms: number) => seconds[Math.min(seconds.length - 1, Math.floor(ms / 1000))]!;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
  const { queries, thinkMs, holdMs } = options.session;
  // Shared by every mysql2 session, as mysql2's pool shares its own; built only if mysql2 is used.
  let config: object | undefined;
  let client = options.client ?? 'lean';
  const newConnection = (): StormConnection =>
    client === 'lean' ? new LeanConnection(options.endpoint, connectTimeoutMs) : new Mysql2Connection((config ??= mysql2Config(options.endpoint, connectTimeoutMs)));

  const fail = (error: unknown) => {
    if (cutting) return;
    const key = errorKey(error);
    errorsByCode[key] = (errorsByCode[key] ?? 0) + 1;
    secondOf(elapsed()).errors++;
  };

  /** Sessions not yet ended: a cut ends them, a cancel ends their pauses. */
  const running = new Set<Session>();

  /**
   * One session: connect, statements with think time, hold, COM_QUIT. Driven by the connection's callbacks,
   * one wait at a time, without a promise or a closure per step: a storm runs thousands of sessions a second,
   * and an async function per session cost about a third of the driver's CPU per connect-and-quit session.
   */
  class Session {
    connection: StormConnection | undefined;
    /** What the session waits for; undefined once it has ended (a late callback is then ignored). */
    waiting: 'io' | 'pause' | undefined = 'io';
    queriesRun = 0;
    holding = false;
    sentAt = 0;
    timer: ReturnType<typeof setTimeout> | undefined;
    readonly startedSecond: number;

    constructor(
      readonly intendedMs: number,
      readonly startedMs: number,
    ) {
      this.startedSecond = secondOf(startedMs).second;
      // Bound once: the connection calls them back.
      this.connected = this.connected.bind(this);
      this.answered = this.answered.bind(this);
      this.paused = this.paused.bind(this);
      this.quitted = this.quitted.bind(this);
      connects.expect(this.startedSecond);
      running.add(this);
      this.connect();
    }

    connect(): void {
      this.connection = newConnection();
      this.connection.connect(this.connected);
    }

    connected(error?: unknown): void {
      if (this.waiting !== 'io') return;
      if (error) {
        this.connection!.destroy();
        this.connection = undefined;
        // The server asked the lean path for a login it does not speak: the storm switches to mysql2 and retries.
        if ((error as { code?: string }).code === AUTH_PLUGIN_UNSUPPORTED && client === 'lean') {
          client = 'mysql2';
          this.connect();
          return;
        }
        connects.settle(this.startedSecond);
        if ((error as { code?: string }).code?.startsWith('ER_')) refusedBySecond[secondOf(elapsed()).second]!++;
        this.end(error);
        return;
      }
      const now = elapsed();
      histograms.connect.recordValue(Math.max(1, Math.round((now - this.intendedMs) * 1000)));
      histograms.serverConnect.recordValue(Math.max(1, Math.round((now - this.startedMs) * 1000)));
      connects.add(this.startedSecond, now - this.startedMs);
      connects.settle(this.startedSecond);
      this.next();
    }

    /** The next statement, the hold, or the quit. */
    next(): void {
      if (this.queriesRun < queries && !options.signal.aborted && !cutting) this.query();
      else if (holdMs > 0 && !this.holding) {
        this.holding = true;
        this.pause(holdMs);
      } else this.quit();
    }

    query(): void {
      try {
        const query = pick();
        const sql = query.params ? mysql2.format(query.sql, query.params(random) as Parameters<typeof mysql2.format>[1]) : query.sql;
        this.waiting = 'io';
        this.sentAt = performance.now();
        this.connection!.query(sql, queryTimeoutMs, this.answered);
      } catch (error) {
        counts.queriesFailed++;
        this.end(error);
      }
    }

    answered(error?: unknown): void {
      if (this.waiting !== 'io') return;
      if (error) {
        counts.queriesFailed++;
        this.end(error);
        return;
      }
      const tookMs = performance.now() - this.sentAt;
      histograms.query.recordValue(Math.max(1, Math.round(tookMs * 1000)));
      latencies.add(secondOf(elapsed()).second, tookMs);
      counts.queriesOk++;
      this.queriesRun++;
      if (thinkMs > 0) this.pause(thinkMs);
      else this.next();
    }

    pause(ms: number): void {
      if (options.signal.aborted || cutting) {
        this.next();
        return;
      }
      this.waiting = 'pause';
      this.timer = setTimeout(this.paused, ms);
    }

    /** The pause is over, or cut short by a cancel. */
    paused(): void {
      if (this.waiting !== 'pause') return;
      clearTimeout(this.timer);
      this.waiting = 'io';
      this.next();
    }

    quit(): void {
      if (cutting) {
        this.end(cutError);
        return;
      }
      // COM_QUIT, as a real client closes: a bare socket close leaves the server an aborted client to clean up.
      this.waiting = 'io';
      this.connection!.quit(this.quitted);
    }

    quitted(): void {
      if (this.waiting !== 'io') return;
      counts.completed++;
      histograms.session.recordValue(Math.max(1, Math.round((elapsed() - this.intendedMs) * 1000)));
      this.end();
    }

    /** Ends the session once, with the error that ended it (counted) or none. */
    end(error?: unknown): void {
      if (this.waiting === undefined) return;
      this.waiting = undefined;
      clearTimeout(this.timer);
      if (error !== undefined) {
        counts.failed++;
        fail(error);
      }
      this.connection?.destroy();
      running.delete(this);
      inFlight--;
      freedSlot?.();
      freedSlot = undefined;
      if (inFlight === 0) allEnded?.();
    }
  }

  const onAbort = () => {
    for (const session of [...running]) if (session.waiting === 'pause') session.paused();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });

  let lastReported = -1;
  await dispatchArrivals(arrivalTimes(options.stages, options.startPerSecond ?? 0), {
    elapsed,
    signal: options.signal,
    maxInFlight,
    inFlight: () => inFlight,
    whenFull: options.whenFull ?? 'drop',
    // One waiter for the next free slot, where a race over every running session added a reaction to each.
    room: () => new Promise<void>((resolve) => (freedSlot = resolve)),
    drop: (intendedMs) => {
      counts.dropped++;
      droppedBySecond[secondOf(intendedMs).second]!++;
      // Arrivals come in order: no later one belongs to an earlier second.
      lags.closeBefore(secondOf(intendedMs).second);
    },
    start: (intendedMs, now) => {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      counts.started++;
      secondOf(now).started++;
      const lagMs = Math.max(0, now - intendedMs);
      histograms.lag.recordValue(Math.max(1, Math.round(lagMs * 1000)));
      const intendedSecond = secondOf(intendedMs).second;
      lags.closeBefore(intendedSecond);
      lags.add(intendedSecond, lagMs);
      new Session(intendedMs, now);
    },
    onTick: (now) => {
      const second = Math.floor(now / 1000);
      if (second <= lastReported) return;
      // Statements end, and sessions start, in the current second only: the earlier ones are complete.
      latencies.closeBefore(secondOf(now).second);
      connects.closeBefore(secondOf(now).second);
      if (lastReported >= 0) {
        const done = secondOf(lastReported * 1000);
        done.inFlight = inFlight;
        options.onSecond?.(done);
      }
      lastReported = second;
    },
  });
  // Sessions still running may finish within the drain time; then (or on cancel) they are cut.
  // The drain timer is cancelled once they are done: a pending one kept the process alive for drainMs.
  let unfinished = 0;
  const drainOver = new AbortController();
  const drained = options.signal.aborted
    ? running.size === 0
    : await Promise.race([
        new Promise<boolean>((resolve) => {
          allEnded = () => resolve(true);
          if (inFlight === 0) resolve(true);
        }),
        sleep(options.drainMs ?? 10_000, false, { signal: AbortSignal.any([drainOver.signal, options.signal]) }).catch(() => false),
      ]);
  drainOver.abort();
  options.signal.removeEventListener('abort', onAbort);
  if (!drained) {
    unfinished = running.size;
    cutting = true;
    for (const session of [...running]) session.end(cutError);
  }
  for (const second of seconds) Object.assign(second, latencies.of(second.second));
  // A closed model (`wait`) starts late by design: its lag is the queue, not the driver falling behind.
  const saturated =
    options.whenFull === 'wait'
      ? undefined
      : saturationOf(
          seconds.map((s, i) => ({
            second: s.second,
            intended: s.intended,
            started: s.started,
            dropped: droppedBySecond[i]!,
            lagP99Ms: lags.of(s.second)?.latencyP99Ms ?? 0,
            serverConnectP99Ms: connects.of(s.second)?.latencyP99Ms,
            refused: refusedBySecond[i]!,
          })),
        );
  const lag = summarise(histograms.lag);
  return {
    driver: 'storm',
    durationMs: Math.round(elapsed()),
    endedBy: options.signal.aborted ? 'cancel' : 'done',
    sessions: { intended, started: counts.started, completed: counts.completed, failed: counts.failed - unfinished, dropped: counts.dropped, unfinished },
    queries: { ok: counts.queriesOk, failed: counts.queriesFailed },
    connectLatencyMs: summarise(histograms.connect),
    queryLatencyMs: summarise(histograms.query),
    sessionLatencyMs: summarise(histograms.session),
    errorsByCode,
    perSecond: seconds,
    peakInFlight,
    achievedRatio: achievedRatioOf(seconds),
    capHit: counts.dropped > 0,
    driverLagMs: { p99: Math.min(lag.p99, lag.max), max: lag.max },
    serverConnectLatencyMs: summarise(histograms.serverConnect),
    ...(saturated ? { saturated } : {}),
    client,
  };
}
