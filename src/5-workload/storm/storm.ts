import { setTimeout as sleep } from 'node:timers/promises';
import mysql2 from 'mysql2';
import { weightedPicker } from '../../0-model/pick.ts';
import { STORM_MAX_IN_FLIGHT } from '../../0-model/workload-defaults.ts';
import type { LatencySummaryMs, StormResult, StormSecond } from '../../0-model/workload-result.ts';
import type { MysqlEndpoint } from '../../0-model/endpoint.ts';
import { arrivalTimes, dispatchArrivals, totalDurationMs, type ArrivalStage } from '../arrival.ts';
import type { MixedQuery } from '../feed.ts';
import { AUTH_PLUGIN_UNSUPPORTED, LeanConnection, type StormConnection } from '../wire/lean-connection.ts';
import { Mysql2Connection, mysql2Config } from '../wire/mysql2-connection.ts';
import { CUT, StormSession, type SessionHost, type SessionShape } from './session.ts';
import { StormTally } from './tally.ts';

export type { LatencySummaryMs, SessionShape, StormResult, StormSecond };
export { percentilesOf } from './per-second.ts';

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

/**
 * Runs an open-model connection storm: sessions arrive on schedule whatever the server does, each
 * connects, runs its statements with think time, optionally stays idle, and disconnects.
 */
export async function runStorm(options: StormOptions): Promise<StormResult> {
  return new Storm(options).run();
}

class Storm implements SessionHost {
  readonly tally: StormTally;
  readonly shape: SessionShape;
  readonly queryTimeoutMs: number;
  readonly signal: AbortSignal;
  cutting = false;
  client: 'lean' | 'mysql2';
  /** Sessions not yet ended: a cut ends them, a cancel ends their pauses. */
  readonly running = new Set<StormSession>();
  inFlight = 0;
  private readonly startedAt = performance.now();
  private readonly connectTimeoutMs: number;
  private readonly pick: () => MixedQuery;
  private readonly random: () => number;
  // Shared by every mysql2 session, as mysql2's pool shares its own; built only if mysql2 is used.
  private mysql2Config: object | undefined;
  private freedSlot: (() => void) | undefined;
  private allEnded: (() => void) | undefined;

  constructor(readonly options: StormOptions) {
    this.tally = new StormTally(options.stages, totalDurationMs(options.stages), options.startPerSecond ?? 0);
    this.shape = options.session;
    this.signal = options.signal;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.pick = weightedPicker(options.mix, this.random);
    this.client = options.client ?? 'lean';
  }

  elapsed(): number {
    return performance.now() - this.startedAt;
  }

  newConnection(): StormConnection {
    return this.client === 'lean'
      ? new LeanConnection(this.options.endpoint, this.connectTimeoutMs)
      : new Mysql2Connection((this.mysql2Config ??= mysql2Config(this.options.endpoint, this.connectTimeoutMs)));
  }

  fallBack(error: unknown): boolean {
    if ((error as { code?: string }).code !== AUTH_PLUGIN_UNSUPPORTED || this.client !== 'lean') return false;
    this.client = 'mysql2';
    return true;
  }

  nextStatement(): string {
    const query = this.pick();
    return query.params ? mysql2.format(query.sql, query.params(this.random) as Parameters<typeof mysql2.format>[1]) : query.sql;
  }

  ended(session: StormSession, error?: unknown): void {
    if (error !== undefined) {
      this.tally.counts.failed++;
      if (!this.cutting) this.tally.error(error, this.elapsed());
    }
    this.running.delete(session);
    this.inFlight--;
    this.freedSlot?.();
    this.freedSlot = undefined;
    if (this.inFlight === 0) this.allEnded?.();
  }

  async run(): Promise<StormResult> {
    const onAbort = () => {
      for (const session of [...this.running]) if (session.waiting === 'pause') session.paused();
    };
    this.signal.addEventListener('abort', onAbort, { once: true });
    await this.dispatch();
    const unfinished = await this.drain();
    this.signal.removeEventListener('abort', onAbort);
    return this.tally.result({ elapsedMs: this.elapsed(), signal: this.signal, unfinished, closedModel: this.options.whenFull === 'wait', client: this.client });
  }

  private async dispatch(): Promise<void> {
    let lastReported = -1;
    await dispatchArrivals(arrivalTimes(this.options.stages, this.options.startPerSecond ?? 0), {
      elapsed: () => this.elapsed(),
      signal: this.signal,
      maxInFlight: this.options.maxInFlight ?? STORM_MAX_IN_FLIGHT,
      inFlight: () => this.inFlight,
      whenFull: this.options.whenFull ?? 'drop',
      // One waiter for the next free slot, where a race over every running session added a reaction to each.
      room: () => new Promise<void>((resolve) => (this.freedSlot = resolve)),
      drop: (intendedMs) => this.tally.dropped(intendedMs),
      start: (intendedMs, now) => {
        this.inFlight++;
        this.tally.started(intendedMs, now, this.inFlight);
        const session = new StormSession(this, intendedMs, now);
        this.running.add(session);
        session.connect();
      },
      onTick: (now) => {
        const second = Math.floor(now / 1000);
        if (second <= lastReported) return;
        this.tally.closeBefore(now);
        if (lastReported >= 0) {
          const done = this.tally.secondOf(lastReported * 1000);
          done.inFlight = this.inFlight;
          this.options.onSecond?.(done);
        }
        lastReported = second;
      },
    });
  }

  /**
   * Sessions still running may finish within the drain time; then (or on cancel) they are cut. Returns how many were cut.
   * The drain timer is cancelled once they are done: a pending one kept the process alive for drainMs.
   */
  private async drain(): Promise<number> {
    const drainOver = new AbortController();
    const drained = this.signal.aborted
      ? this.running.size === 0
      : await Promise.race([
          new Promise<boolean>((resolve) => {
            this.allEnded = () => resolve(true);
            if (this.inFlight === 0) resolve(true);
          }),
          sleep(this.options.drainMs ?? 10_000, false, { signal: AbortSignal.any([drainOver.signal, this.signal]) }).catch(() => false),
        ]);
    drainOver.abort();
    if (drained) return 0;
    const unfinished = this.running.size;
    this.cutting = true;
    for (const session of [...this.running]) session.end(CUT);
    return unfinished;
  }
}
