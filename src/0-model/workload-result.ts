// What a load driver reports: one shape per driver, compared column by column in the report.

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
  /** How late the driver started sessions against their intended start (its own lag, not the server's). Absent in reports before it existed. */
  driverLagMs?: { p99: number; max: number };
  /** The server's connect latency alone: from each session's actual start to its login. */
  serverConnectLatencyMs?: LatencySummaryMs;
  /** When, at what intended rate, and on which side the storm stopped keeping up; absent when both kept up (or the model was closed). */
  saturated?: StormSaturation;
  /** Which client opened the connections: the lean wire path, or mysql2 for a login the lean path does not speak. */
  client?: 'lean' | 'mysql2';
}

/** The first second the storm or the server fell behind; `why` says by what. */
export interface StormSaturation {
  side: 'driver' | 'server';
  second: number;
  intendedPerSecond: number;
  why: string;
}

/** One second of an HTTP burst: the storm's figures, counted in requests (sent, failed, in flight). */
export type HttpLoadSecond = StormSecond;

/** The figures of a `StormResult`, for requests: reports compare the drivers column by column. */
export interface HttpLoadResult {
  driver: 'k6' | 'http-stand-in';
  durationMs: number;
  endedBy: 'done' | 'cancel';
  /**
   * `completed` answered below 400, `failed` answered 400+ or hit a network error or the request timeout,
   * `dropped` never sent because `maxInFlight` were running, `unfinished` cut at the drain deadline or on cancel.
   */
  requests: { intended: number; started: number; completed: number; failed: number; dropped: number; unfinished: number };
  /** Every request that finished, failed or not (as k6's iteration_duration), from its intended start: a slow server shows as latency, not as a lower rate. */
  latencyMs: LatencySummaryMs;
  /** The app tier's `x-oomlab-error` header when present, else `HTTP <status>`, else the network error's code or `timeout`. */
  errorsByCode: Record<string, number>;
  perSecond: HttpLoadSecond[];
  peakInFlight: number;
  /** The rate achieved over the intended one, for the seconds that had arrivals. */
  achievedRatio: number;
  capHit: boolean;
  /** Figures this driver could only approximate or not measure, one sentence each (empty for the stand-in). */
  notes: string[];
  /** What k6 itself said, when k6 ran. */
  k6?: { exitCode: number | undefined; thresholdsCrossed: string[] };
}
