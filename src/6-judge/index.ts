import type { Expectation, Outcome } from '../1-scenario/index.ts';
import { formatWith, type Observation, type ObservationOf, type PerKind } from '../4-observe/index.ts';

export type Verdict = 'pass' | 'fail' | 'skipped' | 'error';

export interface Evidence {
  source: string;
  text: string;
}

export interface InstanceJudgement {
  instance: string;
  outcome: Outcome;
  verdict: 'pass' | 'fail';
  reason: string;
  evidence: Evidence[];
  openFilesLimit?: number;
  peakMemoryBytes?: number;
  memoryLimitBytes?: number;
}

/** One line of evidence per observation kind; the mapped type makes every kind say something. */
export const EVIDENCE: PerKind<Evidence | undefined> = {
  'docker-event': (o) => ({ source: 'docker-event', text: `${o.action}${o.exitCode !== undefined ? ` exitCode=${o.exitCode}` : ''}` }),
  'container-state': (o) => ({ source: 'docker-inspect', text: `State.Status=${o.status} OOMKilled=${o.oomKilled} ExitCode=${o.exitCode}` }),
  'kernel-oom': (o) => ({ source: 'kernel', text: o.line }),
  'memory-peak': (o) => ({ source: o.source, text: `peak ${formatBytes(o.peakBytes)}${o.limitBytes ? ` of ${formatBytes(o.limitBytes)} limit` : ''}` }),
  'server-variables': (o) => ({ source: 'server', text: `@@open_files_limit=${o.variables.open_files_limit} (${o.variables.version})` }),
  readiness: (o) => ({ source: 'readiness', text: o.ready ? `answered a ping after ${o.afterMs}ms` : `not ready after ${o.afterMs}ms: ${o.why}` }),
  syscall: (o) => ({ source: 'bpftrace', text: o.line }),
  'server-log': () => undefined,
  nofile: (o) => ({
    source: 'nofile',
    text: o.emulated ? `nofile ${o.requested} emulated (real limit ${o.realLimit}, getrlimit shim)` : `nofile ${o.requested}`,
  }),
  'observer-unavailable': (o) => ({ source: o.observer, text: `unavailable: ${o.reason}` }),
  sample: () => undefined,
  'innodb-status': (o) =>
    o.semaphoreWaits.length === 0
      ? undefined
      : {
          source: 'innodb-status',
          text: `${o.semaphoreWaits.length} semaphore wait(s): ${o.semaphoreWaits
            .slice(0, 3)
            .map((w) => `${w.file} line ${w.line}${w.lock ? ` (${w.lock})` : ''}${w.waitersFlag !== undefined ? ` waiters flag ${w.waitersFlag}` : ''}`)
            .join('; ')}`,
        },
  workload: (o) => {
    const r = o.result;
    const errors = Object.entries(r.errorsByCode).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([code, n]) => `${code}×${n}`);
    const tail = errors.length ? `, errors ${errors.join(' ')}` : '';
    if (r.driver === 'storm') {
      return {
        source: r.driver,
        text: `${r.sessions.started}/${r.sessions.intended} sessions started (${r.sessions.completed} completed, ${r.sessions.failed} failed, ${r.sessions.dropped} dropped), query p99 ${r.queryLatencyMs.p99}ms, connect p99 ${r.connectLatencyMs.p99}ms${tail}`,
      };
    }
    return {
      source: r.driver,
      text: `${r.requests.started}/${r.requests.intended} requests sent through the app tier (${r.requests.completed} ok, ${r.requests.failed} failed, ${r.requests.dropped} dropped), p99 ${r.latencyMs.p99}ms${tail}`,
    };
  },
};

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

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
    ? ['kernel-oom', 'docker-event', 'container-state', 'workload', 'syscall', 'nofile', 'memory-peak', 'innodb-status', 'readiness']
    : ['server-variables', 'workload', 'readiness', 'nofile', 'syscall', 'memory-peak', 'innodb-status', 'container-state', 'docker-event', 'kernel-oom'];
  const evidence: Evidence[] = [];
  // Sampled every second: only the last InnoDB status that showed waits is evidence.
  const lastWaits = observations.findLast((o) => o.kind === 'innodb-status' && o.semaphoreWaits.length > 0);
  for (const kind of order) {
    for (const observation of observations) {
      if (observation.kind !== kind) continue;
      if (kind === 'innodb-status' && observation !== lastWaits) continue;
      if (kind === 'docker-event' && !['oom', 'die', 'kill'].includes((observation as ObservationOf<'docker-event'>).action)) continue;
      const line = formatWith(EVIDENCE, observation);
      if (line) evidence.push(line);
    }
  }
  return evidence;
}
