// The figures of a configuration's load, computed from its timeline: what the report's metrics show and
// what the load expectations are judged on.
import type { Timeline } from '../4-observe/index.ts';
import { workloadTargets } from '../2-plan/index.ts';
import { tierSampleIntervalMs } from '../5-workload/index.ts';
import type { Workload } from '../1-scenario/index.ts';
import type { ConfigMetrics } from '../0-model/report.ts';
import { summariseSemaphores } from './semaphores.ts';

type Observed = Pick<Timeline, 'of'>;

/** The figures of a workload: latency, errors by code, peak connections, the InnoDB semaphore waits per server, the B:A ratio. */
export function loadMetrics(timeline: Observed, workload: Workload | undefined, deciding: string): Partial<ConfigMetrics> {
  if (!workload) return {};
  const targets = workloadTargets(workload);
  const target = targets.includes(deciding) ? deciding : targets[0]!;
  const observed = timeline.of('workload').at(-1);
  const connections = timeline.of('sample', target).filter((s) => s.source === 'status' && (s.metric === 'Threads_connected' || s.metric === 'Max_used_connections'));
  const innodb = timeline.of('innodb-status', target);
  // The cgroup's peak counts page cache; anonymous memory (rss) is what the OOM killer weighs.
  const rss = timeline.of('sample', target).filter((s) => s.source === 'cgroup' && s.metric === 'memoryRssBytes');
  const excerpt = (innodb.findLast((o) => o.semaphoreWaits.length > 0) ?? innodb.at(-1))?.excerpt;
  const semaphores = Object.fromEntries(
    targets.flatMap((name) => {
      const summary = summariseSemaphores(timeline.of('innodb-status', name));
      return summary ? [[name, summary]] : [];
    }),
  );
  const ratio = targets.length >= 2 ? peakConnectionRatio(timeline, targets[1]!, targets[0]!, tierSampleIntervalMs(workload)) : undefined;
  const result = observed?.result;
  return {
    ...(result?.driver === 'storm'
      ? {
          driver: result.driver,
          latencyMs: result.queryLatencyMs,
          connectLatencyMs: result.connectLatencyMs,
          errorsByCode: result.errorsByCode,
          sessions: result.sessions,
          achievedRatio: result.achievedRatio,
          ...(result.saturated ? { saturated: result.saturated } : {}),
          ...(result.driverLagMs ? { driverLagMs: result.driverLagMs } : {}),
        }
      : {}),
    ...(result && result.driver !== 'storm'
      ? { driver: result.driver, latencyMs: result.latencyMs, errorsByCode: result.errorsByCode, requests: result.requests, achievedRatio: result.achievedRatio }
      : {}),
    ...(connections.length > 0 ? { peakConnections: Math.max(...connections.map((s) => s.value)) } : {}),
    ...(rss.length > 0 ? { peakRssBytes: Math.max(...rss.map((s) => s.value)) } : {}),
    ...(excerpt !== undefined ? { innodbSemaphoreExcerpt: excerpt } : {}),
    ...(Object.keys(semaphores).length > 0 ? { semaphores } : {}),
    ...(ratio !== undefined ? { connectionRatio: ratio } : {}),
    ...(workload.kind === 'http-burst' ? { byReplica: tierTotals(timeline, targets) } : {}),
  };
}

/** Requests and errors (by code) each replica got through the app tier, from the tier's last totals. */
export function tierTotals(timeline: Observed, replicas: string[]): NonNullable<ConfigMetrics['byReplica']> {
  return Object.fromEntries(
    replicas.map((name) => {
      const last = new Map<string, number>();
      for (const s of timeline.of('sample', name)) if (s.source === 'app-tier') last.set(s.metric, s.value);
      const errorsByCode = Object.fromEntries([...last].filter(([metric]) => metric.startsWith('errors ')).map(([metric, n]) => [metric.slice('errors '.length), n]));
      return [name, { requests: last.get('requests') ?? 0, errors: last.get('errors') ?? 0, errorsByCode }];
    }),
  );
}

/**
 * The highest ratio of client connections on `numerator` to those on `denominator` (B:A), second by
 * second, before either replica died. Each second uses the servers' Threads_connected (less the
 * sampler's own connection) when both answered that second, else the app tier's socket count: a
 * replica slowed by reclaim stops answering SHOW STATUS exactly when the shift happens. Seconds where
 * A holds no client connection are left out: a ratio over zero says nothing.
 */
export function peakConnectionRatio(timeline: Observed, numerator: string, denominator: string, intervalMs = 1_000): number | undefined {
  // `die`, not `oom`: a side's OOM is signalled to every container in it, whoever the kernel kills.
  const deaths = timeline.of('docker-event').filter((e) => (e.instance === numerator || e.instance === denominator) && e.action === 'die');
  const before = deaths.length > 0 ? Math.min(...deaths.map((e) => e.t)) : Number.POSITIVE_INFINITY;
  const bySecond = (instance: string, source: 'status' | 'app-tier') => {
    const map = new Map<number, number>();
    for (const s of timeline.of('sample', instance)) {
      if (s.t >= before || s.source !== source) continue;
      if (source === 'status' && s.metric === 'Threads_connected') map.set(Math.round(s.t / intervalMs), s.value - 1);
      if (source === 'app-tier' && s.metric === 'openConnections') map.set(Math.round(s.t / intervalMs), s.value);
    }
    return map;
  };
  const near = (map: Map<number, number>, second: number) => map.get(second) ?? map.get(second - 1) ?? map.get(second + 1);
  const server = { a: bySecond(denominator, 'status'), b: bySecond(numerator, 'status') };
  const tier = { a: bySecond(denominator, 'app-tier'), b: bySecond(numerator, 'app-tier') };
  const seconds = new Set([...server.a.keys(), ...tier.a.keys()]);
  let peak: number | undefined;
  for (const second of seconds) {
    const [serverA, serverB] = [server.a.get(second), near(server.b, second)];
    const [a, b] = serverA !== undefined && serverB !== undefined ? [serverA, serverB] : [tier.a.get(second), near(tier.b, second)];
    if (a === undefined || b === undefined || a < 1) continue;
    peak = Math.max(peak ?? 0, b / a);
  }
  return peak === undefined ? undefined : Math.round(peak * 100) / 100;
}
