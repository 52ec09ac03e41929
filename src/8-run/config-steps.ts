// The chaos timeline wired to one configuration: its faults aimed at its started instances, its
// conditions read from its timeline's samples, its phases on the timeline and in the run's log.
import type { FaultTarget, RuntimeConnection } from '../3-runtime/index.ts';
import type { StepContainer, Timeline } from '../4-observe/index.ts';
import { limitAfterStep, type PlannedConfig } from '../2-plan/index.ts';
import { StepScheduler, type StepClock, type StepFailedError } from './steps.ts';

/** The figure a `when` reads: cgroup memory (sampled every 200 ms for every instance), or the server's Threads_connected (sampled while the load runs). */
const CONDITION_SAMPLES = {
  memory: { source: 'cgroup', metric: 'memoryUsageBytes' },
  connections: { source: 'status', metric: 'Threads_connected' },
} as const;

/** The latest sample of an instance's figure, scanning back from the newest observation. */
export function latestSample(timeline: Pick<Timeline, 'observations'>, instance: string, figure: keyof typeof CONDITION_SAMPLES): number | undefined {
  const { source, metric } = CONDITION_SAMPLES[figure];
  const observations = timeline.observations;
  for (let i = observations.length - 1; i >= 0; i--) {
    const o = observations[i]!;
    if (o.kind === 'sample' && o.instance === instance && o.source === source && o.metric === metric) return o.value;
  }
  return undefined;
}

/** What the faults act on (the seam's FaultTarget) less what the configuration itself gives, and the scheduler's hooks. */
export interface ConfigStepsContext extends Omit<FaultTarget, 'configId' | 'configIndex'> {
  config: PlannedConfig;
  connection: RuntimeConnection;
  timeline: Timeline;
  defer: (undo: () => Promise<void>) => void;
  onFailure: (error: StepFailedError) => void;
  /** A step started a container (a neighbour): the post-mortem reads its kills. @default nothing is kept */
  onStarted?: (container: StepContainer) => void;
  clock?: StepClock;
}

/** A scheduler for the configuration's steps, not started; undefined when it declares none. */
export function configSteps(context: ConfigStepsContext): StepScheduler | undefined {
  const { config, timeline } = context;
  if (!config.steps?.length) return undefined;
  const log = (line: string) => context.log(`[${config.id}] ${line}`);
  return new StepScheduler({
    steps: config.steps,
    apply: (action, signal, step) =>
      context.connection.applyFault(action, {
        step,
        run: context.run,
        configId: config.id,
        configIndex: config.index,
        instances: context.instances,
        cgroupParents: context.cgroupParents,
        signal,
        log,
        cwd: context.cwd,
      }),
    record: (record) => {
      timeline.add({ kind: 'step', ...record });
      log(`step ${record.step} ${record.phase}: ${record.detail}${record.output ? `\n${record.output}` : ''}`);
    },
    applied: (step, applied, phase) => {
      if (phase === 'step' && applied.started) context.onStarted?.({ step: step.name, ...applied.started });
      const changed = applied.memoryLimit;
      if (!changed) return;
      const own = phase === 'step' ? changed.ownBytes : changed.undoneOwnBytes;
      const limit = limitAfterStep(config, changed.instance, own);
      timeline.add({ kind: 'limit', instance: changed.instance, ...limit, phase, step: step.name });
    },
    latest: (instance, figure) => latestSample(timeline, instance, figure),
    defer: context.defer,
    onFailure: context.onFailure,
    signal: context.signal,
    ...(context.clock ? { clock: context.clock } : {}),
    // Under TCG a neighbour's container took over 30 s to start (bitnami-927 in a 2 GiB lab): the guest's slowdown applies to steps too.
    ...(context.connection.lab ? { timeScale: context.connection.lab.timeScale } : {}),
  });
}
