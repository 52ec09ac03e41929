import { setTimeout as sleep } from 'node:timers/promises';
import { judgeInstance } from '../6-judge/index.ts';
import {
  kernelOomKillsOf,
  readServerVariables,
  sampleMemoryPeak,
  startLoadSampler,
  Timeline,
  type HostFacts,
  type KernelOomKill,
} from '../4-observe/index.ts';
import { workloadTargets, type PlannedConfig } from '../2-plan/index.ts';
import { createSideBudget, startInstance, switchHostSetting, THP_ENABLED_PATH, type Engine, type RunLabels, type SideBudget, type StartedInstance } from '../3-runtime/index.ts';
import { parseBytes, type HttpBurstWorkload, type InstanceSpec, type Outcome, type Scenario, type StormWorkload, type Workload } from '../1-scenario/index.ts';
import {
  FEED_DATABASE,
  feedQueryMix,
  runHttpStandIn,
  runK6,
  runStorm,
  seedFeed,
  seededRandom,
  startAppTier,
  type HttpLoadSecond,
  type StormSecond,
} from '../5-workload/index.ts';
import { describeError } from '../0-model/errors.ts';
import { Teardown } from './teardown.ts';
import type { ConfigMetrics, ConfigResult, EmulatedFact, EndedBy } from '../0-model/report.ts';

/** Routes engine events and traced syscalls to the configuration and instance they belong to. */
export interface Routing {
  byContainer: Map<string, { timeline: Timeline; instance: string }>;
  byHostname: Map<string, { timeline: Timeline; instance: string }>;
}

export interface ConfigContext {
  engine: Engine;
  run: RunLabels;
  host: HostFacts;
  routing: Routing;
  shimPath: () => Promise<string>;
  signal: AbortSignal;
  onPhase: (phase: string) => void;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_SETTLE_MS = 5_000;
/** Docker's `oom` and `die` events trail the exit by a moment; wait this long for them. */
const EVENT_GRACE_MS = 500;

/** Starts the configuration's instances, watches them come up (or die), and judges them. */
export async function runConfig(config: PlannedConfig, scenario: Scenario, outer: ConfigContext): Promise<ConfigResult> {
  const startedAt = Date.now();
  // The phase a timeout or a cancel interrupted goes into the verdict's reason.
  let phase = 'starting';
  const context: ConfigContext = { ...outer, onPhase: (next) => outer.onPhase((phase = next)) };
  const bounded = <T>(work: Promise<T>): Promise<T> => untilAborted(work, context.signal);
  const timeline = new Timeline();
  const teardown = new Teardown();
  const instances: StartedInstance[] = [];
  const emulated: EmulatedFact[] = [];
  let endedBy: EndedBy = 'done';
  let failure: string | undefined;
  const logTails: string[] = [];
  try {
    if (scenario.before) {
      context.onPhase('before steps');
      await bounded(Promise.resolve(scenario.before({ config: config.axes })));
    }
    if (scenario.after) teardown.defer(() => scenario.after!({ config: config.axes }));
    if (config.host?.thp) {
      context.onPhase(`setting THP to ${config.host.thp}`);
      const thp = await switchHostSetting(THP_ENABLED_PATH, config.host.thp);
      teardown.defer(() => thp.restore());
    }
    // Side budgets are deferred before the instances, so they are removed after them (once empty).
    const budgets = new Map<string, SideBudget>();
    for (const [side, { memory }] of Object.entries(config.host?.sides ?? {})) {
      const budget = await createSideBudget(context.run.runId, config.index, side, parseBytes(memory));
      budgets.set(side, budget);
      teardown.defer(() => budget.remove());
    }
    context.onPhase('starting');
    const samplers = new Map<string, { stop(): Promise<number | undefined> }>();
    for (const spec of config.instances) {
      const budget = spec.side ? budgets.get(spec.side) : undefined;
      const instance = await bounded(startInstance(spec, {
        engine: context.engine,
        run: context.run,
        configId: config.id,
        configIndex: config.index,
        hostNofileHardLimit: context.host.nofileHardLimit,
        shimPath: context.shimPath,
        ...(budget ? { cgroupParent: budget.cgroupParent } : {}),
      }));
      instances.push(instance);
      teardown.defer(() => instance[Symbol.asyncDispose]());
      context.routing.byContainer.set(instance.containerId, { timeline, instance: spec.name });
      context.routing.byHostname.set(instance.hostname, { timeline, instance: spec.name });
      timeline.add({
        kind: 'nofile',
        instance: spec.name,
        requested: spec.nofile ?? 'default',
        realLimit: instance.nofile.realLimit,
        emulated: instance.nofile.emulated,
      });
      if (instance.nofile.emulated && typeof spec.nofile === 'number' && typeof instance.nofile.realLimit === 'number') {
        emulated.push({ instance: spec.name, what: 'nofile', requested: spec.nofile, realLimit: instance.nofile.realLimit, how: 'getrlimit/prlimit LD_PRELOAD shim' });
      }
      const sampler = sampleMemoryPeak(instance.containerId, 200, (bytes) => timeline.add({ kind: 'sample', instance: spec.name, source: 'cgroup', metric: 'memoryUsageBytes', value: bytes }));
      samplers.set(spec.name, sampler);
      teardown.defer(() => sampler.stop());
    }

    context.onPhase('waiting for ready');
    await Promise.all(
      instances.map(async (instance) => {
        const result = await instance.waitReady(instance.spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, context.signal);
        timeline.add({ kind: 'readiness', instance: instance.spec.name, ready: result.ready, afterMs: result.afterMs, why: result.ready ? 'ping' : result.why });
      }),
    );

    const allReady = timeline.of('readiness').every((r) => r.ready);
    if (allReady && config.workload?.kind === 'storm') await bounded(runStormWorkload(config.workload, instances, timeline, context));
    if (allReady && config.workload?.kind === 'http-burst') await bounded(runHttpBurst(config.workload, instances, timeline, context));
    if (allReady && !instances.some((i) => i.hasExited())) {
      const settleMs = Math.max(...instances.map((i) => i.spec.settleMs ?? DEFAULT_SETTLE_MS));
      context.onPhase(`settling ${settleMs}ms`);
      await Promise.race([sleep(settleMs, undefined, { signal: context.signal }).catch(() => {}), ...instances.map((i) => i.exited)]);
    }
    if (context.signal.aborted) endedBy = context.signal.reason?.name === 'TimeoutError' ? 'timeout' : 'cancel';

    context.onPhase('collecting');
    for (const instance of instances) {
      if (instance.spec.role !== 'neighbour' && !instance.hasExited() && timeline.of('readiness', instance.spec.name)[0]?.ready) {
        try {
          timeline.add({ kind: 'server-variables', instance: instance.spec.name, variables: await bounded(readServerVariables(instance.endpoint())) });
        } catch (error) {
          timeline.add({ kind: 'observer-unavailable', observer: 'server-variables', reason: describeError(error) });
        }
      }
    }
    if (instances.some((i) => i.hasExited())) await sleep(EVENT_GRACE_MS);
    const kills = context.host.dmesgReadable ? await bounded(kernelOomKillsOf(instances.map((i) => i.containerId))) : new Map<string, KernelOomKill[]>();
    if (!context.host.dmesgReadable) timeline.add({ kind: 'observer-unavailable', observer: 'kernel-log', reason: 'dmesg is not readable (run as root or set kernel.dmesg_restrict=0)' });
    for (const instance of instances) {
      const name = instance.spec.name;
      const state = await bounded(instance.state());
      timeline.add({ kind: 'container-state', instance: name, status: state.status, oomKilled: state.oomKilled, exitCode: state.exitCode });
      for (const kill of kills.get(instance.containerId) ?? []) {
        timeline.add({ kind: 'kernel-oom', instance: name, process: kill.process, pid: kill.pid, totalVmKb: kill.totalVmKb, anonRssKb: kill.anonRssKb, constraint: kill.constraint, memcg: kill.memcg, line: kill.line });
        if (kill.constraintLine) timeline.add({ kind: 'kernel-oom', instance: name, process: kill.process, pid: kill.pid, totalVmKb: kill.totalVmKb, anonRssKb: kill.anonRssKb, constraint: kill.constraint, memcg: kill.memcg, line: kill.constraintLine });
      }
      const sampled = await bounded(samplers.get(name)!.stop());
      const kernelUsage = (kills.get(instance.containerId) ?? []).map((k) => (k.memcgUsageKb ?? 0) * 1024);
      const peak = Math.max(sampled ?? 0, ...kernelUsage);
      const limit = effectiveLimitBytes(instance.spec, config);
      if (peak > 0) {
        timeline.add({ kind: 'memory-peak', instance: name, peakBytes: peak, ...(limit ? { limitBytes: limit } : {}), source: (sampled ?? 0) >= peak ? 'cgroup' : 'kernel memcg report' });
      }
      const tail = await bounded(instance.logTail(15)).catch(() => '');
      if (tail) {
        timeline.add({ kind: 'server-log', instance: name, tail });
        logTails.push(instances.length > 1 ? `[${name}]\n${tail}` : tail);
      }
    }
  } catch (error) {
    endedBy = context.signal.aborted ? (context.signal.reason?.name === 'TimeoutError' ? 'timeout' : 'cancel') : 'error';
    failure = `${describeError(context.signal.aborted ? (context.signal.reason ?? error) : error)} (while ${phase})`;
  } finally {
    // A `kill` before our own teardown came from outside the run (docker stop, or the engine shutting
    // down and stopping its containers): the death is not the server's doing, so nothing is decided.
    const externalKill = timeline.of('docker-event').find((e) => e.action === 'kill');
    if (externalKill && endedBy === 'done') {
      endedBy = 'error';
      failure = `${externalKill.instance} was stopped from outside the run (docker kill event) — was the engine shut down or the container stopped by hand?`;
    }
    context.onPhase('removing containers');
    try {
      await teardown.run();
    } catch (error) {
      if (!failure) {
        endedBy = 'error';
        failure = `cleanup failed: ${describeError(error)}`;
      }
    }
    for (const instance of instances) {
      context.routing.byContainer.delete(instance.containerId);
      context.routing.byHostname.delete(instance.hostname);
    }
  }
  return judgeConfig(config, timeline, { endedBy, emulated, startedAt, ...(failure ? { failure } : {}), logTail: logTails.join('\n') });
}

/** The figures of a workload: latency, errors by code, peak connections, the last InnoDB semaphore excerpt, the B:A ratio. */
function loadMetrics(timeline: Timeline, workload: Workload | undefined, deciding: string): Partial<ConfigMetrics> {
  if (!workload) return {};
  const targets = workloadTargets(workload);
  const target = targets.includes(deciding) ? deciding : targets[0]!;
  const observed = timeline.of('workload').at(-1);
  const connections = timeline.of('sample', target).filter((s) => s.source === 'status' && (s.metric === 'Threads_connected' || s.metric === 'Max_used_connections'));
  const innodb = timeline.of('innodb-status', target);
  // The cgroup's peak counts page cache; anonymous memory (rss) is what the OOM killer weighs.
  const rss = timeline.of('sample', target).filter((s) => s.source === 'cgroup' && s.metric === 'memoryRssBytes');
  const excerpt = (innodb.findLast((o) => o.semaphoreWaits.length > 0) ?? innodb.at(-1))?.excerpt;
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
        }
      : {}),
    ...(result && result.driver !== 'storm'
      ? { driver: result.driver, latencyMs: result.latencyMs, errorsByCode: result.errorsByCode, requests: result.requests, achievedRatio: result.achievedRatio }
      : {}),
    ...(connections.length > 0 ? { peakConnections: Math.max(...connections.map((s) => s.value)) } : {}),
    ...(rss.length > 0 ? { peakRssBytes: Math.max(...rss.map((s) => s.value)) } : {}),
    ...(excerpt !== undefined ? { innodbSemaphoreExcerpt: excerpt } : {}),
    ...(ratio !== undefined ? { connectionRatio: ratio } : {}),
    ...(workload.kind === 'http-burst' ? { byReplica: tierTotals(timeline, targets) } : {}),
  };
}

/** Requests and errors (by code) each replica got through the app tier, from the tier's last totals. */
function tierTotals(timeline: Timeline, replicas: string[]): NonNullable<ConfigMetrics['byReplica']> {
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
export function peakConnectionRatio(timeline: Pick<Timeline, 'of'>, numerator: string, denominator: string, intervalMs = 1_000): number | undefined {
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

/**
 * The app tier's socket counts cost nothing to read (they are this process's own), and the shift to B
 * happens within the last second before A dies: read them four times a second, so the B:A ratio does not
 * depend on where the kill falls between two samples (a 1 s grid read 1.89 where the tier went 35:66 → 0:141).
 */
function tierSampleIntervalMs(workload: Workload): number {
  return Math.min(workload.sampleIntervalMs ?? 1_000, 250);
}

/** An instance's own memory limit, else its side's budget. */
function effectiveLimitBytes(spec: InstanceSpec, config: PlannedConfig): number | undefined {
  if (spec.memory !== undefined) return parseBytes(spec.memory);
  const side = spec.side ? config.host?.sides?.[spec.side] : undefined;
  return side ? parseBytes(side.memory) : undefined;
}

const DEFAULT_SEED = { users: 2_000, posts: 40_000, followsPerUser: 20 };

/** Seeds the feed schema, then runs the storm while the load sampler watches every instance; a kill of the target ends the storm. */
async function runStormWorkload(workload: StormWorkload, instances: StartedInstance[], timeline: Timeline, context: ConfigContext): Promise<void> {
  const target = instances.find((i) => i.spec.name === workload.target)!;
  const seed = workload.seed ?? DEFAULT_SEED;
  context.onPhase(`seeding ${seed.posts} posts`);
  try {
    await seedFeed(target.endpoint(), seed, context.signal);
  } catch (error) {
    // Killed while seeding is an outcome to judge, not a harness failure.
    await Promise.race([target.exited, sleep(EVENT_GRACE_MS)]);
    if (target.hasExited()) return;
    throw error;
  }
  const samplers = await Promise.all(
    instances.map((i) => startLoadSampler({ instance: i.spec.name, containerId: i.containerId, endpoint: i.endpoint(), timeline, intervalMs: workload.sampleIntervalMs ?? 1_000 })),
  );
  const targetDied = new AbortController();
  void target.exited.then(() => targetDied.abort(new Error(`${target.spec.name} exited`)));
  const stormStartedAt = timeline.elapsed();
  try {
    const result = await runStorm({
      endpoint: { ...target.endpoint(), database: FEED_DATABASE },
      stages: workload.stages,
      ...(workload.startPerSecond !== undefined ? { startPerSecond: workload.startPerSecond } : {}),
      session: workload.session,
      mix: feedQueryMix(seed),
      ...(workload.maxInFlight !== undefined ? { maxInFlight: workload.maxInFlight } : {}),
      ...(workload.drainMs !== undefined ? { drainMs: workload.drainMs } : {}),
      signal: AbortSignal.any([context.signal, targetDied.signal]),
      random: seededRandom(7),
      onSecond: (s) => context.onPhase(`storm ${s.second}s: ${s.started}/${s.intended} sessions started, ${s.inFlight} in flight, ${s.errors} errors`),
    });
    timeline.add({ kind: 'workload', instance: target.spec.name, driver: result.driver, result });
    addPerSecondSamples(timeline, target.spec.name, stormStartedAt, result.perSecond);
  } finally {
    await Promise.all(samplers.map((s) => s.stop()));
  }
}

const DEFAULT_BURST_PATHS = [{ path: '/mix', weight: 1 }];

/**
 * A scraping burst through the app tier: seeds every replica, starts the tier over them, samples the
 * servers, the neighbours and the tier each second, and drives the profile with k6 (on PATH) or the
 * stand-in. The burst goes on when a replica dies: the others take its traffic, as in incident 2.
 */
async function runHttpBurst(workload: HttpBurstWorkload, instances: StartedInstance[], timeline: Timeline, context: ConfigContext): Promise<void> {
  const targets = workload.targets.map((name) => instances.find((i) => i.spec.name === name)!);
  const seed = workload.seed ?? DEFAULT_SEED;
  context.onPhase(`seeding ${seed.posts} posts on ${targets.map((t) => t.spec.name).join(', ')}`);
  const seeded = await Promise.allSettled(targets.map((t) => seedFeed(t.endpoint(), seed, context.signal)));
  const failed = seeded.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    // Killed while seeding is an outcome to judge, not a harness failure.
    await sleep(EVENT_GRACE_MS);
    if (targets.some((t) => t.hasExited())) return;
    throw (seeded[failed] as PromiseRejectedResult).reason;
  }
  const intervalMs = workload.sampleIntervalMs ?? 1_000;
  const samplers = await Promise.all(
    instances.map((i) =>
      startLoadSampler({ instance: i.spec.name, containerId: i.containerId, ...(i.spec.role !== 'neighbour' ? { endpoint: i.endpoint() } : {}), timeline, intervalMs }),
    ),
  );
  const tier = await startAppTier({
    replicas: targets.map((t) => ({ name: t.spec.name, endpoint: { ...t.endpoint(), database: FEED_DATABASE } })),
    balancer: workload.balancer,
    connectionMode: workload.connectionMode,
    poolSize: workload.poolSize ?? 50,
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
  const useK6 = workload.driver === 'k6' || (workload.driver !== 'stand-in' && context.host.k6);
  const burstStartedAt = timeline.elapsed();
  try {
    const options = {
      baseUrl: tier.url,
      paths: workload.paths ?? DEFAULT_BURST_PATHS,
      stages: workload.stages,
      ...(workload.startPerSecond !== undefined ? { startPerSecond: workload.startPerSecond } : {}),
      ...(workload.maxInFlight !== undefined ? { maxInFlight: workload.maxInFlight } : {}),
      ...(workload.drainMs !== undefined ? { drainMs: workload.drainMs } : {}),
      ...(workload.requestTimeoutMs !== undefined ? { requestTimeoutMs: workload.requestTimeoutMs } : {}),
      signal: AbortSignal.any([context.signal, allDied.signal]),
      random: seededRandom(7),
      onSecond: (s: HttpLoadSecond) => {
        const split = tier.stats().replicas.map((r) => `${r.name} ${r.openConnections}`).join(' / ');
        context.onPhase(`storm ${s.second}s: ${s.started}/${s.intended} requests, ${s.inFlight} in flight, ${s.errors} errors; connections ${split}`);
      },
    };
    context.onPhase(`burst through the app tier (${useK6 ? 'k6' : 'stand-in driver: k6 is not on PATH'})`);
    const result = useK6 ? await runK6({ ...options, ...(workload.thresholds ? { thresholds: workload.thresholds } : {}) }) : await runHttpStandIn(options);
    timeline.add({ kind: 'workload', instance: targets[0]!.spec.name, driver: result.driver, result });
    addPerSecondSamples(timeline, targets[0]!.spec.name, burstStartedAt, result.perSecond);
  } finally {
    clearInterval(tierSampler);
    recordTierTotals();
    await tier.close();
    await Promise.all(samplers.map((s) => s.stop()));
  }
}

/** The driver's seconds as samples on the timeline, so latency and rate chart against memory and connections. */
function addPerSecondSamples(timeline: Timeline, instance: string, startedAt: number, seconds: (StormSecond | HttpLoadSecond)[]): void {
  for (const second of seconds) {
    const t = startedAt + (second.second + 1) * 1000;
    timeline.add({ kind: 'sample', t, instance, source: 'workload', metric: 'requestsPerSecond', value: second.started });
    for (const metric of ['latencyP50Ms', 'latencyP90Ms', 'latencyP99Ms'] as const) {
      if (second[metric] !== undefined) timeline.add({ kind: 'sample', t, instance, source: 'workload', metric, value: second[metric] });
    }
  }
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts: no phase outlives the configuration's deadline. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function judgeConfig(
  config: PlannedConfig,
  timeline: Timeline,
  run: { endedBy: EndedBy; failure?: string; emulated: EmulatedFact[]; startedAt: number; logTail: string },
): ConfigResult {
  const expected = Object.fromEntries(Object.entries(config.expect).map(([name, e]) => [name, e.outcome])) as Record<string, Outcome>;
  const base = {
    id: config.id,
    axes: config.axes,
    expected,
    emulated: run.emulated,
    durationMs: Date.now() - run.startedAt,
    endedBy: run.endedBy,
    observations: timeline.observations,
    ...(run.logTail ? { serverLogTail: run.logTail } : {}),
    ...(config.predictions ? { predictions: config.predictions } : {}),
  };
  if (run.endedBy !== 'done') {
    const why = run.endedBy === 'cancel' ? 'cancelled before it was decided' : run.endedBy === 'timeout' ? 'timed out before it was decided' : 'the harness failed';
    return { ...base, outcome: null, verdict: 'error', reason: `${why}${run.failure ? `: ${run.failure}` : ''}`, evidence: [], metrics: {}, instances: [] };
  }
  // A neighbour is judged only when the scenario says what should happen to it.
  const judgements = config.instances.filter((spec) => spec.role !== 'neighbour' || config.expect[spec.name]).map((spec) =>
    judgeInstance(spec.name, config.expect[spec.name], timeline.observations.filter((o) => !('instance' in o) || o.instance === spec.name)),
  );
  const deciding = judgements.find((j) => j.verdict === 'fail') ?? judgements[0]!;
  const multiple = judgements.length > 1;
  const readiness = timeline.of('readiness', deciding.instance)[0];
  return {
    ...base,
    outcome: deciding.outcome,
    verdict: judgements.every((j) => j.verdict === 'pass') ? 'pass' : 'fail',
    reason: multiple ? judgements.map((j) => `${j.instance}: ${j.reason}`).join('; ') : deciding.reason,
    evidence: judgements.flatMap((j) => j.evidence.map((e) => (multiple ? { ...e, text: `[${j.instance}] ${e.text}` } : e))),
    metrics: {
      ...(deciding.openFilesLimit !== undefined ? { openFilesLimit: deciding.openFilesLimit } : {}),
      ...(deciding.peakMemoryBytes !== undefined ? { peakMemoryBytes: deciding.peakMemoryBytes } : {}),
      ...(deciding.memoryLimitBytes !== undefined ? { memoryLimitBytes: deciding.memoryLimitBytes } : {}),
      ...(readiness?.ready ? { readyAfterMs: readiness.afterMs } : {}),
      ...(config.predictions?.[deciding.instance] ? { predictedPeakBytes: config.predictions[deciding.instance]!.predictedPeakBytes } : {}),
      ...loadMetrics(timeline, config.workload, deciding.instance),
    },
    instances: judgements,
  };
}
