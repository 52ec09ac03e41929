import { setTimeout as sleep } from 'node:timers/promises';
import { startLoadSampler } from '../../4-observe/index.ts';
import type { HttpBurstWorkload, Threshold } from '../../1-scenario/index.ts';
import type { HttpLoadSecond } from '../../0-model/workload-result.ts';
import { BURST_POOL_SIZE } from '../../0-model/workload-defaults.ts';
import { startAppTier } from '../app-tier/tier.ts';
import { DEATH_GRACE_MS, DEFAULT_SEED, instanceNamed, tierSampleIntervalMs, recordWorkload, type Driver } from './context.ts';
import { FEED_DATABASE, seedFeed, seededRandom } from '../feed.ts';
import { runHttpStandIn } from '../http/stand-in.ts';
import { runK6, type K6Thresholds } from '../http/k6.ts';

const DEFAULT_BURST_PATHS = [{ path: '/mix', weight: 1 }];

/** The thresholds k6's script can take as they are (`p(99)<N` on http_req_duration, `rate<X` on http_req_failed); oomlab judges every one. */
export function k6ThresholdsOf(thresholds: readonly Threshold[]): K6Thresholds {
  const p99 = thresholds.find((t) => t.metric === 'http_req_duration' && t.aggregate === 'p(99)' && t.operator === '<');
  const failed = thresholds.find((t) => t.metric === 'http_req_failed' && t.aggregate === 'rate' && t.operator === '<');
  return { ...(p99 ? { p99LatencyMs: p99.value } : {}), ...(failed ? { maxErrorRate: failed.value } : {}) };
}

/**
 * A scraping burst through the app tier: seeds every replica, starts the tier over them, samples the
 * servers, the neighbours and the tier each second, and drives the profile with k6 (on PATH) or the
 * stand-in. The burst goes on when a replica dies: the others take its traffic, as in incident 2.
 */
export const driveHttpBurst: Driver<HttpBurstWorkload> = async (workload, { instances, timeline, signal, onPhase, onSeeded, k6 }) => {
  const targets = workload.targets.map((name) => instanceNamed(instances, name));
  const seed = workload.seed ?? DEFAULT_SEED;
  onPhase(`seeding ${seed.posts} posts on ${targets.map((t) => t.spec.name).join(', ')}`);
  const seeded = await Promise.allSettled(targets.map((t) => seedFeed(t.endpoint(), seed, signal)));
  const failed = seeded.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    // Killed while seeding is an outcome to judge, not a harness failure.
    await sleep(DEATH_GRACE_MS);
    if (targets.some((t) => t.hasExited())) return;
    throw (seeded[failed] as PromiseRejectedResult).reason;
  }
  const intervalMs = workload.sampleIntervalMs ?? 1_000;
  const samplers = await Promise.all(
    instances.map((i) => startLoadSampler({ instance: i.spec.name, locatable: i, ...(i.spec.role !== 'neighbour' ? { endpoint: i.endpoint() } : {}), timeline, intervalMs })),
  );
  const tier = await startAppTier({
    replicas: targets.map((t) => ({ name: t.spec.name, endpoint: { ...t.endpoint(), database: FEED_DATABASE } })),
    balancer: workload.balancer,
    connectionMode: workload.connectionMode,
    poolSize: workload.poolSize ?? BURST_POOL_SIZE,
    // Idle pool connections close soon, so connection counts follow the traffic as it shifts.
    idleTimeoutMs: 3_000,
    seed,
    random: seededRandom(11),
  });
  const tierSampler = setInterval(() => {
    for (const replica of tier.stats().replicas) {
      timeline.add({ kind: 'sample', instance: replica.name, source: 'app-tier', metric: 'openConnections', value: replica.openConnections });
      timeline.add({ kind: 'sample', instance: replica.name, source: 'app-tier', metric: 'activeRequests', value: replica.activeRequests });
      if (replica.latencyEwmaMs !== null) timeline.add({ kind: 'sample', instance: replica.name, source: 'app-tier', metric: 'latencyEwmaMs', value: replica.latencyEwmaMs });
    }
  }, tierSampleIntervalMs(workload));
  const recordTierTotals = () => {
    // What each replica served through the tier, and how it failed: the app tier's side of the shift.
    for (const replica of tier.stats().replicas) {
      timeline.add({ kind: 'sample', instance: replica.name, source: 'app-tier', metric: 'requests', value: replica.requests });
      timeline.add({ kind: 'sample', instance: replica.name, source: 'app-tier', metric: 'errors', value: replica.errors });
      for (const [code, count] of Object.entries(replica.errorsByCode)) timeline.add({ kind: 'sample', instance: replica.name, source: 'app-tier', metric: `errors ${code}`, value: count });
    }
  };
  const allDied = new AbortController();
  void Promise.all(targets.map((t) => t.exited)).then(() => allDied.abort(new Error('every replica exited')));
  const useK6 = workload.driver === 'k6' || (workload.driver !== 'stand-in' && k6);
  const burstStartedAt = timeline.elapsed();
  onSeeded?.();
  try {
    const options = {
      baseUrl: tier.url,
      paths: workload.paths ?? DEFAULT_BURST_PATHS,
      stages: workload.stages,
      ...(workload.startPerSecond !== undefined ? { startPerSecond: workload.startPerSecond } : {}),
      ...(workload.maxInFlight !== undefined ? { maxInFlight: workload.maxInFlight } : {}),
      ...(workload.drainMs !== undefined ? { drainMs: workload.drainMs } : {}),
      ...(workload.requestTimeoutMs !== undefined ? { requestTimeoutMs: workload.requestTimeoutMs } : {}),
      signal: AbortSignal.any([signal, allDied.signal]),
      random: seededRandom(7),
      onSecond: (s: HttpLoadSecond) => {
        const split = tier
          .stats()
          .replicas.map((r) => `${r.name} ${r.openConnections}`)
          .join(' / ');
        onPhase(`storm ${s.second}s: ${s.started}/${s.intended} requests, ${s.inFlight} in flight, ${s.errors} errors; connections ${split}`);
      },
    };
    onPhase(`burst through the app tier (${useK6 ? 'k6' : 'stand-in driver: k6 is not on PATH'})`);
    const result = useK6 ? await runK6({ ...options, ...(workload.thresholds ? { thresholds: k6ThresholdsOf(workload.thresholds) } : {}) }) : await runHttpStandIn(options);
    recordWorkload(timeline, targets[0]!.spec.name, burstStartedAt, result);
  } finally {
    clearInterval(tierSampler);
    recordTierTotals();
    await tier.close();
    await Promise.all(samplers.map((s) => s.stop()));
  }
};
