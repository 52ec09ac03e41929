import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { judgeConfig, type ConfigRun } from '../6-judge/index.ts';
import { DEATH_GRACE_MS, drive, WARMUP_BATCH_TIMEOUT_MS, warmBufferPool, WarmUpStalledError } from '../5-workload/index.ts';
import {
  collectPostMortem,
  kernelOomKillsOf,
  readServerVariables,
  sampleMemoryPeak,
  startLoadSampler,
  startNumaSampler,
  Timeline,
  type HostFacts,
  type MemoryPeakSampler,
  type StepContainer,
} from '../4-observe/index.ts';
import { parseNofile, type PlannedConfig } from '../2-plan/index.ts';
import type { NodeAccess, RunLabels, RuntimeConnection, SideBudget, StartedInstance } from '../3-runtime/index.ts';
import type { Scenario } from '../1-scenario/index.ts';
import { describeError, StepFailedError } from '../0-model/errors.ts';
import { instanceHostname } from '../0-model/instance-hostname.ts';
import { limitAt } from '../0-model/limits.ts';
import { Teardown } from './teardown.ts';
import { configSteps } from './config-steps.ts';
import { TIME_ZERO, type StepScheduler } from './steps.ts';
import type { ConfigResult, EmulatedFact, EndedBy } from '../0-model/report.ts';

/** Routes engine events and traced syscalls to the configuration and instance they belong to. */
export interface Routing {
  byContainer: Map<string, { timeline: Timeline; instance: string }>;
  byHostname: Map<string, { timeline: Timeline; instance: string }>;
}

export interface ConfigContext {
  connection: RuntimeConnection;
  run: RunLabels;
  host: HostFacts;
  routing: Routing;
  shimPath: () => Promise<string>;
  signal: AbortSignal;
  onPhase: (phase: string) => void;
  /** Appends a line to the run's log file (reportDir/run.log): fault commands and step phases. @default nothing is logged */
  log?: (line: string) => void;
  /** When the configuration's timeout ends it (epoch ms): timed steps are waited for until shortly before. */
  deadline?: number;
}

/** Kept for the post-mortem and the teardown when timed steps are waited for up to the deadline. */
const DEADLINE_RESERVE_MS = 20_000;

/** Why a configuration's signal aborted: its timeout, a failed step, or a cancel. */
function endedFor(reason: unknown): EndedBy {
  if (reason instanceof StepFailedError) return 'error';
  return (reason as { name?: string } | undefined)?.name === 'TimeoutError' ? 'timeout' : 'cancel';
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_SETTLE_MS = 5_000;
/** After a step fails, how long a server that is dying gets to be seen dead (its exit trails the cut connection). */
const STEP_DEATH_GRACE_MS = 2_000;

/**
 * The lifecycle of one configuration: host settings and side budgets, its instances started and
 * watched until ready (or dead), the workload's driver, the settle time, the post-mortem, the
 * teardown in reverse order, and the judge's verdict.
 */
export async function runConfig(config: PlannedConfig, scenario: Scenario, outer: ConfigContext): Promise<ConfigResult> {
  const startedAt = Date.now();
  // The phase a timeout or a cancel interrupted goes into the verdict's reason.
  let phase = 'starting';
  // A failed step ends the configuration at once, as an error with the step's output.
  const stepFailed = new AbortController();
  const context: ConfigContext = { ...outer, signal: AbortSignal.any([outer.signal, stepFailed.signal]), onPhase: (next) => outer.onPhase((phase = next)) };
  const bounded = <T>(work: Promise<T>): Promise<T> => untilAborted(work, context.signal);
  const timeline = new Timeline();
  const teardown = new Teardown();
  const instances: StartedInstance[] = [];
  const routedHostnames: string[] = [];
  const emulated: EmulatedFact[] = [];
  let endedBy: EndedBy = 'done';
  let failure: string | undefined;
  let logTails: string[] = [];
  let collected = false;
  let steps: StepScheduler | undefined;
  const samplers = new Map<string, MemoryPeakSampler>();
  const stepContainers: StepContainer[] = [];
  /** Each side budget's own cgroup: what its limit bounds, the steps' neighbours counted. */
  const sideSamplers = new Map<string, Required<MemoryPeakSampler>>();
  const sidePeaks: NonNullable<ConfigRun['sidePeaks']> = {};
  /** The death's evidence and the logs' tails, after the load or after a step that failed as its server died. */
  const postMortem = (bound: <T>(work: Promise<T>) => Promise<T>) =>
    collectPostMortem({
      instances,
      stepContainers,
      timeline,
      dmesgReadable: context.host.dmesgReadable,
      samplers,
      limitBytes: (instance) => limitAt(timeline.observations, instance.spec.name),
      bounded: bound,
      // A lab VM's kills are in the guest's kernel log.
      ...(context.connection.lab ? { kernelKills: (ids: readonly string[]) => kernelOomKillsOf(ids, undefined, context.connection.node) } : {}),
    });
  try {
    if (scenario.before) {
      context.onPhase('before steps');
      await bounded(Promise.resolve(scenario.before({ config: config.axes })));
    }
    if (scenario.after) teardown.defer(() => scenario.after!({ config: config.axes }));
    if (config.host?.thp) {
      context.onPhase(`setting THP to ${config.host.thp}`);
      const thp = await context.connection.nodeSettings.switchThp(config.host.thp);
      teardown.defer(() => thp.restore());
    }
    // Side budgets are deferred before the instances, so they are removed after them (once empty).
    const budgets = new Map<string, SideBudget>();
    for (const [side, { memory }] of Object.entries(config.host?.sides ?? {})) {
      const budget = await context.connection.createSideBudget(context.run.runId, config.index, side, memory);
      budgets.set(side, budget);
      teardown.defer(() => budget.remove());
      sideSamplers.set(side, sampleMemoryPeak(budget));
    }
    // Per-node free memory, where there is more than one node: which node ran out is incident 2's first link.
    if (context.host.numaNodes > 1) {
      const filedUnder = (config.instances.find((spec) => spec.role !== 'neighbour') ?? config.instances[0])!.name;
      const numa = await startNumaSampler({ node: context.connection.node, timeline, instance: filedUnder });
      teardown.defer(() => numa.stop());
    }
    context.onPhase('starting');
    for (const spec of config.instances) {
      const budget = spec.side ? budgets.get(spec.side) : undefined;
      // Routed before the container starts: the server reads its nofile limit within milliseconds of starting.
      const hostname = instanceHostname(context.run.runId, config.index, spec.name);
      context.routing.byHostname.set(hostname, { timeline, instance: spec.name });
      routedHostnames.push(hostname);
      const instance = await bounded(
        context.connection.startInstance(spec, {
          run: context.run,
          configId: config.id,
          configIndex: config.index,
          hostNofileHardLimit: context.host.nofileHardLimit,
          shimPath: context.shimPath,
          ...(budget ? { cgroupParent: budget.cgroupParent } : {}),
        }),
      );
      instances.push(instance);
      teardown.defer(() => instance[Symbol.asyncDispose]());
      const limit = config.limits[spec.name];
      if (limit) timeline.add({ kind: 'limit', instance: spec.name, ...limit, phase: 'start' });
      context.routing.byContainer.set(instance.containerId, { timeline, instance: spec.name });
      // What the runtime really gave, read on the node before the server can change its own soft limit much.
      const proc = await bounded(procNofile(instance, context.connection.node));
      timeline.add({
        kind: 'nofile',
        instance: spec.name,
        requested: spec.nofile ?? 'default',
        realLimit: instance.nofile.realLimit,
        emulated: instance.nofile.emulated,
        ...(proc ? { proc } : {}),
      });
      if (instance.nofile.emulated && typeof spec.nofile === 'number' && typeof instance.nofile.realLimit === 'number') {
        emulated.push({ instance: spec.name, what: 'nofile', requested: spec.nofile, realLimit: instance.nofile.realLimit, how: 'getrlimit/prlimit LD_PRELOAD shim' });
      }
      const sample = (metric: 'memoryUsageBytes' | 'memoryRssBytes') => (bytes: number) => timeline.add({ kind: 'sample', instance: spec.name, source: 'cgroup', metric, value: bytes });
      const sampler = sampleMemoryPeak(instance, 200, sample('memoryUsageBytes'), 2, sample('memoryRssBytes'));
      samplers.set(spec.name, sampler);
      teardown.defer(() => sampler.stop());
    }

    steps = configSteps({
      config,
      connection: context.connection,
      run: context.run,
      timeline,
      instances: new Map(instances.map((i) => [i.spec.name, i])),
      cgroupParents: new Map([...budgets].map(([side, budget]) => [side, budget.cgroupParent])),
      signal: context.signal,
      log: context.log ?? (() => {}),
      cwd: dirname(resolve(scenario.file ?? '.')),
      defer: (undo) => teardown.defer(undo),
      onFailure: (error) => stepFailed.abort(error),
      onStarted: (container) => stepContainers.push(container),
    });
    steps?.start();

    context.onPhase('waiting for ready');
    await Promise.all(
      instances.map(async (instance) => {
        // A lab VM under TCG starts servers several times slower: its time scale stretches the wait.
        const readyTimeoutMs = (instance.spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) * (context.host.lab?.timeScale ?? 1);
        const result = await instance.waitReady(readyTimeoutMs, context.signal);
        timeline.add({ kind: 'readiness', instance: instance.spec.name, ready: result.ready, afterMs: result.afterMs, why: result.ready ? 'ping' : result.why });
        // Read once ready as well as in the post-mortem: a server killed under load has none left to read then, and
        // its report showed no open_files_limit. Before the ready steps fire, so a step that freezes or kills the
        // server does not hold the read up. A failure here is not reported: the post-mortem reads again.
        if (result.ready && instance.spec.role !== 'neighbour') {
          const variables = await bounded(readServerVariables(instance.endpoint())).catch(() => undefined);
          if (variables) timeline.add({ kind: 'server-variables', instance: instance.spec.name, variables });
        }
        if (result.ready) steps?.fire(`${instance.spec.name}.ready`);
      }),
    );

    const allReady = timeline.of('readiness').every((r) => r.ready);
    if (allReady) await warmUp(instances, timeline, context, bounded);
    // Time zero of the steps: they run while the workload runs.
    if (allReady) steps?.fire(TIME_ZERO);
    // Without a workload no driver samples the instances: the load sampler does, cgroup and node figures only (no
    // server connection), from time zero to the collection, so anonymous memory, page cache, CPU and pressure are charted.
    // An instance that died at time zero has nothing left to sample: its sampler is not started, and the run goes on.
    const idleSamplers =
      allReady && !config.workload
        ? (await Promise.all(instances.map((i) => startLoadSampler({ instance: i.spec.name, locatable: i, timeline }).catch(() => undefined)))).filter((s) => s !== undefined)
        : [];
    for (const sampler of idleSamplers) teardown.defer(() => sampler.stop());
    if (allReady && config.workload) {
      steps?.fire('workload.start');
      await bounded(
        drive(config.workload, {
          instances,
          timeline,
          signal: context.signal,
          onPhase: context.onPhase,
          onSeeded: () => steps?.fire('workload.seeded'),
          k6: context.host.k6,
          timeScale: context.host.lab?.timeScale ?? 1,
        }),
      );
      steps?.fire('workload.end');
    }
    if (allReady && !instances.some((i) => i.hasExited())) {
      const settleMs = Math.max(...instances.map((i) => i.spec.settleMs ?? DEFAULT_SETTLE_MS));
      context.onPhase(`settling ${settleMs}ms`);
      await Promise.race([sleep(settleMs, undefined, { signal: context.signal }).catch(() => {}), ...instances.map((i) => i.exited)]);
    }
    if (allReady && steps && !context.signal.aborted) {
      context.onPhase('waiting for timed steps');
      const untilMs = context.deadline !== undefined ? Math.max(0, context.deadline - Date.now() - DEADLINE_RESERVE_MS) : undefined;
      await steps.settled(untilMs !== undefined ? AbortSignal.any([context.signal, AbortSignal.timeout(untilMs)]) : context.signal);
    }
    // Steps whose trigger has not come are skipped now; before the post-mortem, so its figures follow the timeline.
    await steps?.stop();
    if (context.signal.aborted) endedBy = endedFor(context.signal.reason);

    await Promise.all(idleSamplers.map((sampler) => sampler.stop()));
    context.onPhase('collecting');
    logTails = await postMortem(bounded);
    collected = true;
  } catch (error) {
    endedBy = context.signal.aborted ? endedFor(context.signal.reason) : 'error';
    failure = `${describeError(context.signal.aborted ? (context.signal.reason ?? error) : error)} (while ${phase})`;
  } finally {
    await steps?.stop();
    // A step that failed because its server died (a kill cuts its connection): the post-mortem gathers the
    // death's evidence, so the judge can put the kill before the step's error.
    if (steps?.failure && !collected && !outer.signal.aborted && instances.length > 0) {
      context.onPhase('collecting after a failed step');
      const exited = Promise.any(instances.map((i) => i.exited)).then(() => {});
      await Promise.race([exited, sleep(STEP_DEATH_GRACE_MS)]);
      const bound = <T>(work: Promise<T>): Promise<T> => untilAborted(work, outer.signal);
      logTails = await postMortem(bound).catch(() => []);
    }
    // The step is the cause: whatever its abort interrupted afterwards (the post-mortem) is not.
    if (steps?.failure && (!failure || context.signal.reason === steps.failure)) {
      endedBy = 'error';
      failure = steps.failure.message;
    }
    // A `kill` before our own teardown came from outside the run (docker stop, or the engine shutting
    // down and stopping its containers): the death is not the server's doing, so nothing is decided.
    // A step's kill or restart is the run's own doing.
    const killedBySteps = new Set(
      timeline
        .of('step')
        .filter((s) => (s.action === 'kill' || s.action === 'restart') && s.phase === 'start')
        .map((s) => s.instance),
    );
    const externalKill = timeline.of('docker-event').find((e) => e.action === 'kill' && !killedBySteps.has(e.instance));
    if (externalKill && endedBy === 'done') {
      endedBy = 'error';
      failure = `${externalKill.instance} was stopped from outside the run (docker kill event) — was the engine shut down or the container stopped by hand?`;
    }
    // Before the teardown removes the tenants and then the budget's cgroup.
    for (const [side, sampler] of sideSamplers) {
      const peakBytes = await sampler.stop().catch(() => undefined);
      const anon = sampler.anonymousPeak();
      if (peakBytes !== undefined) sidePeaks[side] = { peakBytes, ...(anon ? { anonPeakBytes: anon.anonBytes } : {}) };
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
    for (const instance of instances) context.routing.byContainer.delete(instance.containerId);
    for (const hostname of routedHostnames) context.routing.byHostname.delete(hostname);
  }
  return judgeConfig(config, timeline, { endedBy, emulated, startedAt, ...(failure ? { failure } : {}), logTail: logTails.join('\n'), sidePeaks });
}

/** Each instance's warm-up, one after another, before time zero; a server killed while warming is an outcome, not a failure. */
async function warmUp(instances: readonly StartedInstance[], timeline: Timeline, context: ConfigContext, bounded: <T>(work: Promise<T>) => Promise<T>): Promise<void> {
  for (const instance of instances) {
    const fraction = instance.spec.warmup?.bufferPoolFraction;
    if (fraction === undefined || instance.hasExited()) continue;
    context.onPhase(`warming ${instance.spec.name}'s buffer pool to ${Math.round(fraction * 100)}%`);
    try {
      const target = `warming ${instance.spec.name}'s buffer pool to ${Math.round(fraction * 100)}%`;
      let saidAt = performance.now();
      const result = await bounded(
        warmBufferPool(instance.endpoint(), fraction, {
          signal: context.signal,
          // A lab under TCG does each batch several times slower.
          batchTimeoutMs: (instance.spec.warmup?.batchTimeoutMs ?? WARMUP_BATCH_TIMEOUT_MS) * (context.host.lab?.timeScale ?? 1),
          onProgress: (dataFraction, elapsedMs) => {
            // A line every 15 s at most: batches take a second or two.
            if (performance.now() - saidAt < 15_000) return;
            saidAt = performance.now();
            context.onPhase(`${target}: ${Math.round(dataFraction * 100)}% after ${Math.round(elapsedMs / 1000)}s`);
          },
        }),
      );
      timeline.add({
        kind: 'warm-up',
        instance: instance.spec.name,
        targetFraction: fraction,
        pagesTotal: result.after.total,
        pagesDataBefore: result.before.data,
        pagesDataAfter: result.after.data,
        pageSizeBytes: result.after.pageSizeBytes,
        full: result.full,
        durationMs: result.durationMs,
      });
    } catch (error) {
      await Promise.race([instance.exited, sleep(DEATH_GRACE_MS)]);
      if (instance.hasExited()) continue;
      // Alive but not answering: at its limit, the kernel reclaims (cgroup v2 above all) rather than kills.
      if (error instanceof WarmUpStalledError)
        throw new Error(`${instance.spec.name}: ${error.message} — still alive and not OOM-killed: the kernel is reclaiming at the memory limit instead (see memory pressure in the report)`);
      throw error;
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

/** `Max open files` of the instance's first process in /proc/<pid>/limits on its node; undefined once it is gone. */
async function procNofile(instance: StartedInstance, node: NodeAccess): Promise<{ pid: number; soft: number; hard?: number } | undefined> {
  const { pid } = await instance.state();
  if (!pid) return undefined;
  // A process gone between the two reads has no limits left to read: that is not the configuration's failure.
  const limits = await node.readFile(`/proc/${pid}/limits`).catch(() => undefined);
  const nofile = limits ? parseNofile(limits) : undefined;
  return nofile ? { pid, ...nofile } : undefined;
}
