// What a storm counts while it runs: per-second figures, latency histograms, errors by code; and the result they make.
import type { StormResult, StormSecond } from '../../0-model/workload-result.ts';
import { arrivalTimes, type ArrivalStage } from '../arrival.ts';
import { driverTail, errorKey, newHistogram, recordMs, summarise } from '../measure.ts';
import { PerSecondPercentiles } from './per-second.ts';
import { saturationOf } from './saturation.ts';

export class StormTally {
  readonly histograms = { connect: newHistogram(), serverConnect: newHistogram(), lag: newHistogram(), query: newHistogram(), session: newHistogram() };
  readonly errorsByCode: Record<string, number> = {};
  readonly seconds: StormSecond[];
  readonly intended: number;
  // Each second's statement latencies (by the second they ended in), and for the saturation check its start
  // lags (by intended second), server connect latencies (by the second the session started in), drops and refused logins.
  readonly latencies = new PerSecondPercentiles();
  readonly lags = new PerSecondPercentiles();
  readonly connects = new PerSecondPercentiles();
  readonly droppedBySecond: number[];
  readonly refusedBySecond: number[];
  readonly counts = { started: 0, completed: 0, failed: 0, dropped: 0, queriesOk: 0, queriesFailed: 0 };
  peakInFlight = 0;

  constructor(stages: readonly ArrivalStage[], plannedMs: number, startPerSecond: number) {
    this.seconds = Array.from({ length: Math.ceil(plannedMs / 1000) + 1 }, (_, second) => ({ second, intended: 0, started: 0, errors: 0, inFlight: 0 }));
    let intended = 0;
    for (const t of arrivalTimes(stages, startPerSecond)) {
      this.seconds[Math.floor(t / 1000)]!.intended++;
      intended++;
    }
    this.intended = intended;
    this.droppedBySecond = this.seconds.map(() => 0);
    this.refusedBySecond = this.seconds.map(() => 0);
  }

  /** The second `ms` falls in; the last one for anything later (the drain). */
  secondOf(ms: number): StormSecond {
    return this.seconds[Math.min(this.seconds.length - 1, Math.floor(ms / 1000))]!;
  }

  error(error: unknown, atMs: number): void {
    const key = errorKey(error);
    this.errorsByCode[key] = (this.errorsByCode[key] ?? 0) + 1;
    this.secondOf(atMs).errors++;
  }

  started(intendedMs: number, nowMs: number, inFlight: number): void {
    this.peakInFlight = Math.max(this.peakInFlight, inFlight);
    this.counts.started++;
    this.secondOf(nowMs).started++;
    const lagMs = Math.max(0, nowMs - intendedMs);
    recordMs(this.histograms.lag, lagMs);
    const intendedSecond = this.secondOf(intendedMs).second;
    this.lags.closeBefore(intendedSecond);
    this.lags.add(intendedSecond, lagMs);
  }

  dropped(intendedMs: number): void {
    this.counts.dropped++;
    const second = this.secondOf(intendedMs).second;
    this.droppedBySecond[second]!++;
    // Arrivals come in order: no later one belongs to an earlier second.
    this.lags.closeBefore(second);
  }

  connected(intendedMs: number, startedMs: number, startedSecond: number, nowMs: number): void {
    recordMs(this.histograms.connect, nowMs - intendedMs);
    recordMs(this.histograms.serverConnect, nowMs - startedMs);
    this.connects.add(startedSecond, nowMs - startedMs);
    this.connects.settle(startedSecond);
  }

  /** A login the server refused (an ERR packet, e.g. 1040), in the second it came. */
  refused(nowMs: number): void {
    this.refusedBySecond[this.secondOf(nowMs).second]!++;
  }

  answered(tookMs: number, nowMs: number): void {
    recordMs(this.histograms.query, tookMs);
    this.latencies.add(this.secondOf(nowMs).second, tookMs);
    this.counts.queriesOk++;
  }

  /** Statements end, and sessions start, in the current second only: the earlier ones are complete. */
  closeBefore(nowMs: number): void {
    this.latencies.closeBefore(this.secondOf(nowMs).second);
    this.connects.closeBefore(this.secondOf(nowMs).second);
  }

  result(run: { elapsedMs: number; signal: AbortSignal; unfinished: number; closedModel: boolean; client: 'lean' | 'mysql2' }): StormResult {
    for (const second of this.seconds) Object.assign(second, this.latencies.of(second.second));
    // A closed model (`wait`) starts late by design: its lag is the queue, not the driver falling behind.
    const saturated = run.closedModel
      ? undefined
      : saturationOf(
          this.seconds.map((s, i) => ({
            second: s.second,
            intended: s.intended,
            started: s.started,
            dropped: this.droppedBySecond[i]!,
            lagP99Ms: this.lags.of(s.second)?.latencyP99Ms ?? 0,
            serverConnectP99Ms: this.connects.of(s.second)?.latencyP99Ms,
            refused: this.refusedBySecond[i]!,
          })),
        );
    const lag = summarise(this.histograms.lag);
    const { counts } = this;
    const { durationMs, endedBy, ...tail } = driverTail({
      elapsedMs: run.elapsedMs,
      signal: run.signal,
      errorsByCode: this.errorsByCode,
      seconds: this.seconds,
      peakInFlight: this.peakInFlight,
      dropped: counts.dropped,
    });
    return {
      driver: 'storm',
      durationMs,
      endedBy,
      sessions: { intended: this.intended, started: counts.started, completed: counts.completed, failed: counts.failed - run.unfinished, dropped: counts.dropped, unfinished: run.unfinished },
      queries: { ok: counts.queriesOk, failed: counts.queriesFailed },
      connectLatencyMs: summarise(this.histograms.connect),
      queryLatencyMs: summarise(this.histograms.query),
      sessionLatencyMs: summarise(this.histograms.session),
      ...tail,
      driverLagMs: { p99: Math.min(lag.p99, lag.max), max: lag.max },
      serverConnectLatencyMs: summarise(this.histograms.serverConnect),
      ...(saturated ? { saturated } : {}),
      client: run.client,
    };
  }
}
