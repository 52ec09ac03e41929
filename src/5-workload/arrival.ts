/** One stage of an open-model arrival profile, like k6's ramping-arrival-rate: the rate ramps linearly to the target. */
export interface ArrivalStage {
  /** New sessions per second at the end of the stage. */
  targetPerSecond: number;
  durationMs: number;
}

/**
 * The intended start time (ms from the storm's start) of every session, in order: the rate is piecewise
 * linear, and session k starts when the expected number of arrivals reaches k. The driver starts each
 * session at its intended time whatever the server does, and measures latency from it (no coordinated
 * omission). A generator: a 30-minute storm has millions of arrivals, and none needs keeping once started.
 */
export function* arrivalTimes(stages: readonly ArrivalStage[], startPerSecond = 0): Generator<number> {
  let stageStartMs = 0;
  let fromRate = startPerSecond;
  let arrived = 0;
  for (const stage of stages) {
    const seconds = stage.durationMs / 1000;
    const a = fromRate;
    const slope = seconds > 0 ? (stage.targetPerSecond - a) / seconds : 0;
    const total = a * seconds + (slope * seconds * seconds) / 2;
    // Arrivals k in (arrived, arrived + total]: solve a·t + slope·t²/2 = k - arrived for t.
    const end = arrived + total;
    for (let k = Math.floor(arrived) + 1; k <= end + 1e-9; k++) {
      const need = k - arrived;
      const t = Math.abs(slope) < 1e-12 ? need / a : (-a + Math.sqrt(Math.max(0, a * a + 2 * slope * need))) / slope;
      yield stageStartMs + t * 1000;
    }
    arrived = end;
    stageStartMs += stage.durationMs;
    fromRate = stage.targetPerSecond;
  }
}

/** Every intended start time at once, for drivers that hand the whole schedule on (k6) and for tests. */
export function intendedStartTimes(stages: readonly ArrivalStage[], startPerSecond = 0): number[] {
  return [...arrivalTimes(stages, startPerSecond)];
}

export function totalDurationMs(stages: readonly ArrivalStage[]): number {
  return stages.reduce((sum, s) => sum + s.durationMs, 0);
}

export interface DispatchOptions {
  /** Milliseconds since the driver started. */
  elapsed: () => number;
  signal: AbortSignal;
  maxInFlight: number;
  inFlight: () => number;
  /** Starts one arrival now; the driver counts it as in flight until it ends. */
  start: (intendedMs: number, nowMs: number) => void;
  /** An arrival that found `maxInFlight` running (`whenFull: 'drop'`). */
  drop: (intendedMs: number) => void;
  /** `wait` holds arrivals until `room()` settles instead of dropping them. @default 'drop' */
  whenFull?: 'drop' | 'wait';
  room?: () => Promise<unknown>;
  /** Called on every pass of the loop, for per-second bookkeeping. */
  onTick?: (nowMs: number) => void;
}

/**
 * The open-model loop of every driver: each arrival starts at its intended time whatever the target
 * does; at the in-flight cap it is dropped and counted (or, with `wait`, held). Returns when the
 * schedule is done or the signal aborts; draining what still runs is the driver's.
 */
export async function dispatchArrivals(schedule: Iterable<number>, options: DispatchOptions): Promise<void> {
  const waitWhenFull = options.whenFull === 'wait';
  const arrivals = schedule[Symbol.iterator]();
  // The next arrival not yet started or dropped, read one ahead.
  let next = arrivals.next();
  while (!next.done && !options.signal.aborted) {
    const now = options.elapsed();
    options.onTick?.(now);
    while (!next.done && next.value <= now) {
      if (waitWhenFull && options.inFlight() >= options.maxInFlight) break;
      const intended = next.value;
      next = arrivals.next();
      if (options.inFlight() >= options.maxInFlight) options.drop(intended);
      else options.start(intended, now);
    }
    if (waitWhenFull && options.inFlight() >= options.maxInFlight && options.room) {
      await options.room();
      continue;
    }
    // Wake for the next arrival, and at least every 50 ms for the tick's bookkeeping.
    const wait = !next.done ? Math.max(0, Math.min(next.value - options.elapsed(), 50)) : 0;
    await new Promise((resolve) => setTimeout(resolve, wait < 1 ? 0 : wait));
  }
}

/** Arrivals started over arrivals intended, for the seconds the schedule placed any in (1 when none). */
export function achievedRatioOf(seconds: readonly { intended: number; started: number }[]): number {
  const measured = seconds.filter((s) => s.intended > 0);
  const intended = measured.reduce((sum, s) => sum + s.intended, 0);
  const achieved = measured.reduce((sum, s) => sum + s.started, 0);
  return intended > 0 ? achieved / intended : 1;
}
