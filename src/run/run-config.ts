import { setTimeout as sleep } from 'node:timers/promises';
import { judgeInstance } from '../judge/index.ts';
import {
  kernelOomKillsOf,
  readServerVariables,
  sampleMemoryPeak,
  startLoadSampler,
  Timeline,
  type HostFacts,
  type KernelOomKill,
} from '../observe/index.ts';
import type { PlannedConfig } from '../plan/index.ts';
import { startInstance, type Engine, type RunLabels, type StartedInstance } from '../runtime/index.ts';
import { parseBytes, type Outcome, type Scenario, type Workload } from '../scenario/index.ts';
import { FEED_DATABASE, feedQueryMix, runStorm, seedFeed, seededRandom, type StormSecond } from '../workload/index.ts';
import { describeError } from '../errors/index.ts';
import { Teardown } from './teardown.ts';
import type { ConfigMetrics, ConfigResult, EmulatedFact, EndedBy } from './types.ts';

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
    context.onPhase('starting');
    const samplers = new Map<string, { stop(): Promise<number | undefined> }>();
    for (const spec of config.instances) {
      const instance = await bounded(startInstance(spec, {
        engine: context.engine,
        run: context.run,
        configId: config.id,
        configIndex: config.index,
        hostNofileHardLimit: context.host.nofileHardLimit,
        shimPath: context.shimPath,
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
    if (allReady && config.workload) await bounded(runWorkload(config.workload, instances, timeline, context));
    if (allReady && !instances.some((i) => i.hasExited())) {
      const settleMs = Math.max(...instances.map((i) => i.spec.settleMs ?? DEFAULT_SETTLE_MS));
      context.onPhase(`settling ${settleMs}ms`);
      await Promise.race([sleep(settleMs, undefined, { signal: context.signal }).catch(() => {}), ...instances.map((i) => i.exited)]);
    }
    if (context.signal.aborted) endedBy = context.signal.reason?.name === 'TimeoutError' ? 'timeout' : 'cancel';

    context.onPhase('collecting');
    for (const instance of instances) {
      if (!instance.hasExited() && timeline.of('readiness', instance.spec.name)[0]?.ready) {
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
      const limit = instance.spec.memory === undefined ? undefined : parseBytes(instance.spec.memory);
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

/** The figures of a storm: latency, errors by code, peak connections, the last InnoDB semaphore excerpt. */
function loadMetrics(timeline: Timeline, target: string | undefined): Partial<ConfigMetrics> {
  if (!target) return {};
  const workload = timeline.of('workload', target).at(-1);
  const connections = timeline.of('sample', target).filter((s) => s.source === 'status' && (s.metric === 'Threads_connected' || s.metric === 'Max_used_connections'));
  const innodb = timeline.of('innodb-status', target);
  // The cgroup's peak counts page cache; anonymous memory (rss) is what the OOM killer weighs.
  const rss = timeline.of('sample', target).filter((s) => s.source === 'cgroup' && s.metric === 'memoryRssBytes');
  const excerpt = (innodb.findLast((o) => o.semaphoreWaits.length > 0) ?? innodb.at(-1))?.excerpt;
  return {
    ...(workload
      ? {
          driver: workload.driver,
          latencyMs: workload.result.queryLatencyMs,
          connectLatencyMs: workload.result.connectLatencyMs,
          errorsByCode: workload.result.errorsByCode,
          sessions: workload.result.sessions,
          achievedRatio: workload.result.achievedRatio,
        }
      : {}),
    ...(connections.length > 0 ? { peakConnections: Math.max(...connections.map((s) => s.value)) } : {}),
    ...(rss.length > 0 ? { peakRssBytes: Math.max(...rss.map((s) => s.value)) } : {}),
    ...(excerpt !== undefined ? { innodbSemaphoreExcerpt: excerpt } : {}),
  };
}

const DEFAULT_SEED = { users: 2_000, posts: 40_000, followsPerUser: 20 };

/** Seeds the feed schema, then runs the storm while the load sampler watches every instance; a kill of the target ends the storm. */
async function runWorkload(workload: Workload, instances: StartedInstance[], timeline: Timeline, context: ConfigContext): Promise<void> {
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

/** The driver's seconds as samples on the timeline, so latency and rate chart against memory and connections. */
function addPerSecondSamples(timeline: Timeline, instance: string, startedAt: number, seconds: StormSecond[]): void {
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
  };
  if (run.endedBy !== 'done') {
    const why = run.endedBy === 'cancel' ? 'cancelled before it was decided' : run.endedBy === 'timeout' ? 'timed out before it was decided' : 'the harness failed';
    return { ...base, outcome: null, verdict: 'error', reason: `${why}${run.failure ? `: ${run.failure}` : ''}`, evidence: [], metrics: {}, instances: [] };
  }
  const judgements = config.instances.map((spec) =>
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
      ...loadMetrics(timeline, config.workload?.target),
    },
    instances: judgements,
  };
}
