// What a load driver gets from the configuration it runs in, and what every driver shares.
import type { StartedInstance } from '../../3-runtime/index.ts';
import type { Timeline } from '../../4-observe/index.ts';
import type { Workload } from '../../1-scenario/index.ts';
import type { HttpLoadResult, HttpLoadSecond, StormResult, StormSecond } from '../../0-model/workload-result.ts';
import type { FeedSize } from '../feed.ts';
import { DEFAULT_SEED as DEFAULT_FEED_SEED } from '../../0-model/workload-defaults.ts';

export interface DriverContext {
  /** Every instance of the configuration, started and ready. */
  instances: readonly StartedInstance[];
  timeline: Timeline;
  signal: AbortSignal;
  onPhase: (phase: string) => void;
  /** k6 is on PATH (an `auto` burst then goes through k6). */
  k6: boolean;
  /** The seed is in place and the load begins (steps waiting for `workload.seeded`). */
  onSeeded?: () => void;
  /** A lab VM's slowdown (TCG ×4): a storm's connect and query timeouts are stretched by it, as readiness is. @default 1 */
  timeScale?: number;
}

/** Drives one kind of workload against a configuration's instances, recording on its timeline. */
export type Driver<W extends Workload> = (workload: W, context: DriverContext) => Promise<void>;

export const DEFAULT_SEED: FeedSize = DEFAULT_FEED_SEED;

/** Docker's `die` event trails a kill by a moment; a driver whose server died while seeding waits this long for it. */
export const DEATH_GRACE_MS = 500;

/**
 * The app tier's socket counts cost nothing to read (they are this process's own), and the shift to B
 * happens within the last second before A dies: read them four times a second, so the B:A ratio does not
 * depend on where the kill falls between two samples (a 1 s grid read 1.89 where the tier went 35:66 → 0:141).
 */
export function tierSampleIntervalMs(workload: Workload): number {
  return Math.min(workload.sampleIntervalMs ?? 1_000, 250);
}

export function instanceNamed(instances: readonly StartedInstance[], name: string): StartedInstance {
  const found = instances.find((i) => i.spec.name === name);
  if (!found) throw new Error(`the workload names instance ${name}, which this configuration did not start (it started ${instances.map((i) => i.spec.name).join(', ')})`);
  return found;
}

/** The driver's result on the timeline, and its seconds as samples, so latency and rate chart against memory and connections. */
export function recordWorkload(timeline: Timeline, instance: string, startedAt: number, result: StormResult | HttpLoadResult): void {
  timeline.add({ kind: 'workload', instance, driver: result.driver, result });
  addPerSecondSamples(timeline, instance, startedAt, result.perSecond);
}

function addPerSecondSamples(timeline: Timeline, instance: string, startedAt: number, seconds: (StormSecond | HttpLoadSecond)[]): void {
  for (const second of seconds) {
    const t = startedAt + (second.second + 1) * 1000;
    timeline.add({ kind: 'sample', t, instance, source: 'workload', metric: 'requestsPerSecond', value: second.started });
    for (const metric of ['latencyP50Ms', 'latencyP90Ms', 'latencyP99Ms'] as const) {
      if (second[metric] !== undefined) timeline.add({ kind: 'sample', t, instance, source: 'workload', metric, value: second[metric] });
    }
  }
}
