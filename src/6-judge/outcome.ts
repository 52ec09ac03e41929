import type { Expectation, Outcome } from '../1-scenario/index.ts';
import { formatWith, type Observation, type ObservationOf } from '../4-observe/index.ts';
import type { Evidence, InstanceJudgement, OomKill, Verdict } from '../0-model/judgement.ts';
import { limitAt } from '../0-model/limits.ts';
import { killsOf, oomKillOf } from '../0-model/oom-kill.ts';

export { killsOf, oomKillOf };
import { EVIDENCE } from '../0-model/evidence.ts';
import { formatBytes } from '../0-model/units.ts';
import { semaphoreEvidence, summariseSemaphores } from './semaphores.ts';

export { EVIDENCE, formatBytes, type Evidence, type InstanceJudgement, type Verdict };

/** When the load ran: from its first sample to its drivers' results (recorded as they finish, early when their server dies); decided once per configuration. */
export interface LoadWindow {
  startedAt?: number;
  endedAt?: number;
}

export function loadWindowOf(observations: readonly Observation[]): LoadWindow {
  let startedAt: number | undefined;
  let endedAt: number | undefined;
  for (const o of observations) {
    if (o.kind === 'sample' && o.source === 'workload') startedAt = Math.min(startedAt ?? o.t, o.t);
    if (o.kind === 'workload') endedAt = Math.max(endedAt ?? o.t, o.t);
  }
  return { ...(startedAt !== undefined ? { startedAt } : {}), ...(endedAt !== undefined ? { endedAt } : {}) };
}

/** When the load ended: its drivers record their result as they finish (early, when their server dies). */
export function loadEndTime(observations: readonly Observation[]): number | undefined {
  return loadWindowOf(observations).endedAt;
}

/** What the observations of one instance add up to; `loadEndedAt` tells a kill after the load from one under it. */
export function classifyOutcome(observations: readonly Observation[], loadEndedAt?: number, kill: OomKill | undefined = oomKillOf('', observations)): Outcome {
  const readiness = observations.find((o): o is ObservationOf<'readiness'> => o.kind === 'readiness');
  const state = observations.findLast((o): o is ObservationOf<'container-state'> => o.kind === 'container-state');
  const wasReady = readiness?.ready === true;
  if (kill && !wasReady) return 'oom-killed-at-startup';
  if (kill) return loadEndedAt !== undefined && kill.t > loadEndedAt ? 'oom-killed-after-load' : 'oom-killed-under-load';
  if (state && state.status !== 'running') return 'crashed';
  if (!wasReady) return readiness?.why === 'exited' ? 'crashed' : 'never-ready';
  return 'survived';
}

export interface JudgeInstanceOptions {
  /** When the load ended: a kill after it is `oom-killed-after-load`. */
  loadEndedAt?: number;
  /** Every traced syscall as its own evidence line (the instance's `traceEvidence`). @default only for a kill at start-up */
  listSyscalls?: boolean;
}

/** Compares what happened to one instance with what the scenario expects. */
export function judgeInstance(instance: string, expectation: Expectation | undefined, observations: readonly Observation[], options: JudgeInstanceOptions = {}): InstanceJudgement {
  const kill = oomKillOf(instance, observations);
  const outcome = classifyOutcome(observations, options.loadEndedAt, kill);
  const variables = observations.findLast((o): o is ObservationOf<'server-variables'> => o.kind === 'server-variables');
  const openFilesLimit = variables ? Number(variables.variables.open_files_limit) : undefined;
  const peak = observations.findLast((o): o is ObservationOf<'memory-peak'> => o.kind === 'memory-peak');
  const evidence = pickEvidence(outcome, observations, options.listSyscalls ?? outcome === 'oom-killed-at-startup');
  const failures: string[] = [];
  if (expectation && expectation.outcome !== outcome) failures.push(`expected ${expectation.outcome}, got ${outcome}`);
  const ofl = expectation?.openFilesLimit;
  if (ofl && outcome === 'survived') {
    if (openFilesLimit === undefined) failures.push('open_files_limit was not read');
    else if (ofl.atMost !== undefined && openFilesLimit > ofl.atMost) failures.push(`open_files_limit ${openFilesLimit} > ${ofl.atMost}`);
    else if (ofl.equals !== undefined && openFilesLimit !== ofl.equals) failures.push(`open_files_limit ${openFilesLimit} ≠ ${ofl.equals}`);
  }
  const peakBytes = peak ? (peak.anonPeakBytes ?? peak.peakBytes) : undefined;
  // The limit in force at the kill, else when the post-mortem read the container: a step may have lowered it.
  const judgedAt = kill?.t ?? observations.findLast((o) => o.kind === 'container-state')?.t;
  const limitBytes = (judgedAt !== undefined ? limitAt(observations, instance, judgedAt) : undefined) ?? peak?.limitBytes;
  if (expectation?.peakMemoryBelowBytes !== undefined && peakBytes !== undefined && peakBytes >= expectation.peakMemoryBelowBytes) {
    failures.push(`peak memory ${formatBytes(peakBytes)} ≥ ${formatBytes(expectation.peakMemoryBelowBytes)}`);
  }
  const verdict = failures.length === 0 ? 'pass' : 'fail';
  const reason = failures.length > 0 ? failures.join('; ') : expectation ? `${outcome}, as expected${expectation.because ? `: ${expectation.because}` : ''}` : `${outcome} (no expectation)`;
  return {
    instance,
    outcome,
    verdict,
    reason,
    evidence,
    ...(openFilesLimit !== undefined && Number.isFinite(openFilesLimit) ? { openFilesLimit } : {}),
    ...(peak
      ? {
          peakMemoryBytes: peak.anonPeakBytes ?? peak.peakBytes,
          ...(peak.cacheBytes !== undefined ? { peakCacheBytes: peak.cacheBytes } : {}),
          ...(peak.anonPeakBytes !== undefined ? { peakUsageBytes: peak.peakBytes } : {}),
        }
      : {}),
    ...(limitBytes ? { memoryLimitBytes: limitBytes } : {}),
  };
}

/** The observations that decided the outcome come first: the kernel line, the event, the trace. */
function pickEvidence(outcome: Outcome, observations: readonly Observation[], listSyscalls: boolean): Evidence[] {
  // The post-mortem reads the container's state just before the teardown removes it: an event after that
  // reading is the teardown's own `kill`/`die 137`, which a reader would take for an OOM kill.
  const judgedAt = observations.findLast((o) => o.kind === 'container-state')?.t ?? Number.POSITIVE_INFINITY;
  const order: Observation['kind'][] = outcome.startsWith('oom-killed')
    ? ['kernel-oom', 'docker-event', 'container-state', 'warm-up', 'workload', 'syscall', 'nofile', 'memory-peak', 'innodb-status', 'readiness']
    : ['server-variables', 'warm-up', 'workload', 'readiness', 'nofile', 'syscall', 'memory-peak', 'innodb-status', 'container-state', 'docker-event', 'kernel-oom'];
  const evidence: Evidence[] = [];
  for (const kind of order) {
    // Sampled every second: one line for all of them, or why this server cannot list waits.
    if (kind === 'innodb-status') {
      const line = semaphoreEvidence(summariseSemaphores(observations));
      if (line) evidence.push(line);
      continue;
    }
    // A start-up kill is where the traced allocations tell the story; elsewhere they are a count unless asked for.
    if (kind === 'syscall' && !listSyscalls) {
      const line = syscallSummary(observations.filter((o): o is ObservationOf<'syscall'> => o.kind === 'syscall'));
      if (line) evidence.push(line);
      continue;
    }
    // The variables are read once ready and again at the end: the last reading is the one that stands.
    const lastVariables = kind === 'server-variables' ? observations.findLast((o) => o.kind === kind) : undefined;
    for (const observation of observations) {
      if (observation.kind !== kind || (lastVariables && observation !== lastVariables)) continue;
      if (kind === 'docker-event' && (!['oom', 'die', 'kill'].includes((observation as ObservationOf<'docker-event'>).action) || observation.t > judgedAt)) continue;
      const line = formatWith(EVIDENCE, observation);
      if (line) evidence.push(line);
    }
  }
  return evidence;
}

/** The traced syscalls in one line: how many of each, and the largest mapping. */
export function syscallSummary(calls: readonly ObservationOf<'syscall'>[]): Evidence | undefined {
  if (calls.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.syscall, (counts.get(call.syscall) ?? 0) + 1);
  const largest = Math.max(0, ...calls.map((c) => c.lenBytes ?? 0));
  const each = [...counts].map(([name, n]) => `${name} ×${n}`).join(', ');
  return {
    source: 'bpftrace',
    text: `${calls.length} traced call${calls.length === 1 ? '' : 's'} (${each})${largest > 0 ? `, largest ${formatBytes(largest)}` : ''}; \`traceEvidence: true\` on the instance lists them`,
  };
}
