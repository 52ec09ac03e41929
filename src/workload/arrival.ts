/** One stage of an open-model arrival profile, like k6's ramping-arrival-rate: the rate ramps linearly to the target. */
export interface ArrivalStage {
  /** New sessions per second at the end of the stage. */
  targetPerSecond: number;
  durationMs: number;
}

/**
 * The intended start time (ms from the storm's start) of every session: the rate is piecewise linear,
 * and session k starts when the expected number of arrivals reaches k. The driver starts each session
 * at its intended time whatever the server does, and measures latency from it (no coordinated omission).
 */
export function intendedStartTimes(stages: readonly ArrivalStage[], startPerSecond = 0): number[] {
  const times: number[] = [];
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
      times.push(stageStartMs + t * 1000);
    }
    arrived = end;
    stageStartMs += stage.durationMs;
    fromRate = stage.targetPerSecond;
  }
  return times;
}

export function totalDurationMs(stages: readonly ArrivalStage[]): number {
  return stages.reduce((sum, s) => sum + s.durationMs, 0);
}
