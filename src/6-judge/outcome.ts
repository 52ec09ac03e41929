import type { Expectation, Outcome } from '../1-scenario/index.ts';
import { formatWith, type Observation, type ObservationOf } from '../4-observe/index.ts';
import type { Evidence, InstanceJudgement, Verdict } from '../0-model/judgement.ts';
import { EVIDENCE } from '../0-model/evidence.ts';
import { formatBytes } from '../0-model/units.ts';
import { semaphoreEvidence, summariseSemaphores } from './semaphores.ts';

export { EVIDENCE, formatBytes, type Evidence, type InstanceJudgement, type Verdict };

/** What the observations of one instance add up to. */
export function classifyOutcome(observations: readonly Observation[]): Outcome {
  const readiness = observations.find((o): o is ObservationOf<'readiness'> => o.kind === 'readiness');
  const state = observations.findLast((o): o is ObservationOf<'container-state'> => o.kind === 'container-state');
  const oomEvent = observations.some((o) => o.kind === 'docker-event' && o.action === 'oom');
  const kernelKill = observations.some((o) => o.kind === 'kernel-oom');
  const oomKilled = Boolean(state?.oomKilled) || kernelKill || (oomEvent && state?.status !== 'running');
  const wasReady = readiness?.ready === true;
  if (oomKilled) return wasReady ? 'oom-killed-under-load' : 'oom-killed-at-startup';
  if (state && state.status !== 'running') return 'crashed';
  if (!wasReady) return readiness?.why === 'exited' ? 'crashed' : 'never-ready';
  return 'survived';
}

/** Compares what happened to one instance with what the scenario expects. */
export function judgeInstance(instance: string, expectation: Expectation | undefined, observations: readonly Observation[]): InstanceJudgement {
  const outcome = classifyOutcome(observations);
  const variables = observations.findLast((o): o is ObservationOf<'server-variables'> => o.kind === 'server-variables');
  const openFilesLimit = variables ? Number(variables.variables.open_files_limit) : undefined;
  const peak = observations.findLast((o): o is ObservationOf<'memory-peak'> => o.kind === 'memory-peak');
  const evidence = pickEvidence(outcome, observations);
  const failures: string[] = [];
  if (expectation && expectation.outcome !== outcome) failures.push(`expected ${expectation.outcome}, got ${outcome}`);
  const ofl = expectation?.openFilesLimit;
  if (ofl && outcome === 'survived') {
    if (openFilesLimit === undefined) failures.push('open_files_limit was not read');
    else if (ofl.atMost !== undefined && openFilesLimit > ofl.atMost) failures.push(`open_files_limit ${openFilesLimit} > ${ofl.atMost}`);
    else if (ofl.equals !== undefined && openFilesLimit !== ofl.equals) failures.push(`open_files_limit ${openFilesLimit} ≠ ${ofl.equals}`);
  }
  if (expectation?.peakMemoryBelowBytes !== undefined && peak && peak.peakBytes >= expectation.peakMemoryBelowBytes) {
    failures.push(`peak memory ${formatBytes(peak.peakBytes)} ≥ ${formatBytes(expectation.peakMemoryBelowBytes)}`);
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
    ...(peak ? { peakMemoryBytes: peak.peakBytes, ...(peak.limitBytes ? { memoryLimitBytes: peak.limitBytes } : {}) } : {}),
  };
}

/** The observations that decided the outcome come first: the kernel line, the event, the trace. */
function pickEvidence(outcome: Outcome, observations: readonly Observation[]): Evidence[] {
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
    for (const observation of observations) {
      if (observation.kind !== kind) continue;
      if (kind === 'docker-event' && !['oom', 'die', 'kill'].includes((observation as ObservationOf<'docker-event'>).action)) continue;
      const line = formatWith(EVIDENCE, observation);
      if (line) evidence.push(line);
    }
  }
  return evidence;
}
