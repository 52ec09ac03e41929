import { setTimeout as sleep } from 'node:timers/promises';
import { startLoadSampler } from '../../4-observe/index.ts';
import type { StormWorkload } from '../../1-scenario/index.ts';
import { DEATH_GRACE_MS, DEFAULT_SEED, instanceNamed, recordWorkload, type Driver } from './context.ts';
import { FEED_DATABASE, feedQueryMix, seedFeed, seededRandom } from '../feed.ts';
import { runStorm } from '../storm/storm.ts';
import type { MixedQuery } from '../feed.ts';

/** The storm's own timeouts (src/5-workload/storm/storm.ts), before a slow host stretches them. */
export const STORM_QUERY_TIMEOUT_MS = 30_000;
export const STORM_CONNECT_TIMEOUT_MS = 10_000;

/** The scenario's own mix, else the feed's. */
export function stormMix(workload: StormWorkload): MixedQuery[] {
  if (!workload.mix) return feedQueryMix(workload.seed ?? DEFAULT_SEED);
  return workload.mix.map((q, index) => ({ name: q.name ?? `query ${index + 1}`, weight: q.weight, sql: q.sql, ...(q.params ? { params: q.params } : {}) }));
}

/** Seeds the feed schema, then runs the storm while the load sampler watches every instance; a kill of the target ends the storm. */
export const driveStorm: Driver<StormWorkload> = async (workload, { instances, timeline, signal, onPhase, onSeeded, timeScale = 1 }) => {
  const target = instanceNamed(instances, workload.target);
  const seed = workload.seed ?? DEFAULT_SEED;
  onPhase(`seeding ${seed.posts} posts`);
  try {
    await seedFeed(target.endpoint(), seed, signal);
  } catch (error) {
    // Killed while seeding is an outcome to judge, not a harness failure.
    await Promise.race([target.exited, sleep(DEATH_GRACE_MS)]);
    if (target.hasExited()) return;
    throw error;
  }
  const samplers = await Promise.all(instances.map((i) => startLoadSampler({ instance: i.spec.name, locatable: i, endpoint: i.endpoint(), timeline, intervalMs: workload.sampleIntervalMs ?? 1_000 })));
  const targetDied = new AbortController();
  void target.exited.then(() => targetDied.abort(new Error(`${target.spec.name} exited`)));
  const stormStartedAt = timeline.elapsed();
  onSeeded?.();
  try {
    const result = await runStorm({
      endpoint: { ...target.endpoint(), database: FEED_DATABASE },
      stages: workload.stages,
      ...(workload.startPerSecond !== undefined ? { startPerSecond: workload.startPerSecond } : {}),
      session: workload.session,
      mix: stormMix(workload),
      ...(workload.maxInFlight !== undefined ? { maxInFlight: workload.maxInFlight } : {}),
      ...(workload.drainMs !== undefined ? { drainMs: workload.drainMs } : {}),
      // Under TCG a statement holding 8 MiB took over 30 s through a lab's forward and every one timed out before its memory
      // was held (docs/lab.md, NUMA): a slow host stretches the client's patience as it stretches readiness.
      queryTimeoutMs: STORM_QUERY_TIMEOUT_MS * timeScale,
      connectTimeoutMs: STORM_CONNECT_TIMEOUT_MS * timeScale,
      signal: AbortSignal.any([signal, targetDied.signal]),
      random: seededRandom(7),
      onSecond: (s) => onPhase(`storm ${s.second}s: ${s.started}/${s.intended} sessions started, ${s.inFlight} in flight, ${s.errors} errors`),
    });
    recordWorkload(timeline, target.spec.name, stormStartedAt, result);
  } finally {
    await Promise.all(samplers.map((s) => s.stop()));
  }
};
