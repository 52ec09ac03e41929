// What is read once a configuration's load is over, before its containers go: the servers' variables,
// the kernel's OOM kills, each container's state, its memory peak and its log tail.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../0-model/errors.ts';
import type { StartedInstance } from '../3-runtime/index.ts';
import { kernelOomKillsOf, type KernelOomKill } from './kernel-log.ts';
import { readServerVariables } from './server-variables.ts';
import type { Timeline } from './timeline.ts';
import type { MemoryPeakSampler } from './cgroup-memory.ts';

/** Docker's `oom` and `die` events trail the exit by a moment; wait this long for them. */
export const EVENT_GRACE_MS = 500;

/** A container a step started (a neighbour, a CPU hog): not an instance of the configuration, but in its host and budgets. */
export interface StepContainer {
  step: string;
  /** The container's own name (`neighbour-15`), as the step's detail gives it. */
  instance: string;
  containerId: string;
}

export interface PostMortemContext {
  instances: readonly StartedInstance[];
  /** Containers the steps started: their kernel kills are observed too. @default none */
  stepContainers?: readonly StepContainer[];
  timeline: Timeline;
  /** The kernel log can be read here (root, or kernel.dmesg_restrict=0). */
  dmesgReadable: boolean;
  /** Each instance's memory sampler, stopped here for its peak. */
  samplers: ReadonlyMap<string, MemoryPeakSampler>;
  /** An instance's memory limit, its own or its side's. */
  limitBytes: (instance: StartedInstance) => number | undefined;
  /** Bounds each read by the configuration's deadline. */
  bounded: <T>(work: Promise<T>) => Promise<T>;
  /** The kernel's OOM kills by container. @default kernelOomKillsOf (dmesg) */
  kernelKills?: (containerIds: readonly string[]) => Promise<Map<string, KernelOomKill[]>>;
}

/** Adds the post-mortem observations to the timeline; returns the servers' log tails, each named when there are several. */
export async function collectPostMortem(context: PostMortemContext): Promise<string[]> {
  const { instances, timeline, bounded } = context;
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
  const readKills = context.kernelKills ?? kernelOomKillsOf;
  const stepContainers = context.stepContainers ?? [];
  const kills = context.dmesgReadable ? await bounded(readKills([...instances.map((i) => i.containerId), ...stepContainers.map((c) => c.containerId)])) : new Map<string, KernelOomKill[]>();
  if (!context.dmesgReadable) timeline.add({ kind: 'observer-unavailable', observer: 'kernel-log', reason: 'dmesg is not readable (run as root or set kernel.dmesg_restrict=0)' });
  const logTails: string[] = [];
  for (const instance of instances) {
    const name = instance.spec.name;
    const state = await bounded(instance.state());
    timeline.add({ kind: 'container-state', instance: name, status: state.status, oomKilled: state.oomKilled, exitCode: state.exitCode });
    const killed = kills.get(instance.containerId) ?? [];
    for (const kill of killed) addKill(timeline, name, kill);
    const sampler = context.samplers.get(name)!;
    const sampled = await bounded(sampler.stop());
    const kernelUsage = killed.map((k) => (k.memcgUsageKb ?? 0) * 1024);
    const peak = Math.max(sampled ?? 0, ...kernelUsage);
    const limit = context.limitBytes(instance);
    // The kernel's anon-rss at a kill is the process's anonymous memory at its very end, which a 200 ms sampler can miss.
    const split = sampler.anonymousPeak?.();
    const killedAnon = Math.max(0, ...killed.map((k) => k.anonRssKb * 1024));
    const anon = split || killedAnon > 0 ? { anonPeakBytes: Math.max(split?.anonBytes ?? 0, killedAnon), ...(split ? { cacheBytes: split.cacheBytes } : {}) } : {};
    if (peak > 0) {
      timeline.add({ kind: 'memory-peak', instance: name, peakBytes: peak, ...(limit ? { limitBytes: limit } : {}), source: (sampled ?? 0) >= peak ? 'cgroup' : 'kernel memcg report', ...anon });
    }
    const tail = await bounded(instance.logTail(15)).catch(() => '');
    if (tail) {
      timeline.add({ kind: 'server-log', instance: name, tail });
      logTails.push(instances.length > 1 ? `[${name}]\n${tail}` : tail);
    }
  }
  // A neighbour a step started shares the host and its budgets: the kernel killing it is the run's evidence too.
  for (const container of stepContainers) {
    for (const kill of kills.get(container.containerId) ?? []) addKill(timeline, container.instance, kill, container.step);
  }
  return logTails;
}

/** One observation per kill, with both of the kernel's lines (two observations counted each kill twice). */
function addKill(timeline: Timeline, instance: string, kill: KernelOomKill, step?: string): void {
  timeline.add({
    kind: 'kernel-oom',
    // The kernel's own time of the kill; without one, when the log was read.
    ...(kill.atMs !== undefined ? { t: kill.atMs - timeline.startedAt } : {}),
    instance,
    process: kill.process,
    pid: kill.pid,
    totalVmKb: kill.totalVmKb,
    anonRssKb: kill.anonRssKb,
    constraint: kill.constraint,
    memcg: kill.memcg,
    line: kill.line,
    ...(kill.constraintLine ? { constraintLine: kill.constraintLine } : {}),
    ...(step !== undefined ? { step } : {}),
    ...(kill.others ? { others: kill.others } : {}),
  });
}
