// What every load driver measures the same way: latency histograms, error keys, and the figures that close its result.
import hdr from 'hdr-histogram-js';
import { achievedRatioOf } from './arrival.ts';
import type { LatencySummaryMs, StormSecond } from '../0-model/workload-result.ts';

/** A stable key for an error: MySQL's number and name, or the network error's code. */
export function errorKey(error: unknown): string {
  const e = error as { errno?: number; code?: string; message?: string };
  if (e.code?.startsWith('ER_') && e.errno) return `${e.errno} ${e.code}`;
  if (e.code === 'PROTOCOL_CONNECTION_LOST') return '2013 CR_SERVER_LOST';
  if (e.code === 'ETIMEDOUT' || /timed? ?out/i.test(e.message ?? '')) return 'timeout';
  if (e.code) return e.code;
  return `other: ${(e.message ?? String(error)).slice(0, 60)}`;
}

export type Histogram = ReturnType<typeof hdr.build>;

/** Latency histograms of every driver: microseconds from 1 µs to 1 h, 3 significant digits. */
export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** Records milliseconds as whole microseconds, 1 µs at least (the histogram's floor). */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function summarise(histogram: Histogram): LatencySummaryMs {
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

/** The figures an open-model driver closes its result with, whatever it drove (sessions or requests). */
export interface DriverTail<S extends StormSecond> {
  durationMs: number;
  endedBy: 'done' | 'cancel';
  errorsByCode: Record<string, number>;
  perSecond: S[];
  peakInFlight: number;
  achievedRatio: number;
  capHit: boolean;
}

export function driverTail<S extends StormSecond>(run: {
  elapsedMs: number;
  signal: AbortSignal;
  errorsByCode: Record<string, number>;
  seconds: S[];
  peakInFlight: number;
  dropped: number;
}): DriverTail<S> {
  return {
    durationMs: Math.round(run.elapsedMs),
    endedBy: run.signal.aborted ? 'cancel' : 'done',
    errorsByCode: run.errorsByCode,
    perSecond: run.seconds,
    peakInFlight: run.peakInFlight,
    achievedRatio: achievedRatioOf(run.seconds),
    capHit: run.dropped > 0,
  };
}
