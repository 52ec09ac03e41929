// Expectations that refer to the chaos timeline: an outcome reached after a step ran (`afterStep`), an
// OOM kill within a time of a step's start (`oomKilledWithin`), latency bounds over the seconds after a
// step started (a load expectation's `after`). Each is a line of the verdict's reason.
import type { Expectation, LoadExpectation, Outcome } from '../1-scenario/index.ts';
import { formatWith, type Observation, type ObservationOf } from '../4-observe/index.ts';
import { EVIDENCE } from '../0-model/evidence.ts';
import type { Evidence } from '../0-model/judgement.ts';
import type { ExpectationCheck } from '../0-model/report.ts';
import { check, formatFigure } from './load-expectations.ts';
import { oomKillOf } from './outcome.ts';

type Observations = readonly Observation[];

const stepPhases = (observations: Observations, step: string) => observations.filter((o): o is ObservationOf<'step'> => o.kind === 'step' && o.step === step);

function seconds(ms: number): string {
  return `${formatFigure(ms / 1000)} s`;
}

/** Why a step has no `done`: what it recorded instead. */
function notRun(observations: Observations, step: string): string {
  const last = stepPhases(observations, step).at(-1);
  if (!last) return `step "${step}" never ran`;
  return `step "${step}" never took effect (${last.phase}: ${last.detail})`;
}

/** When the instance was OOM-killed (the judge's record, oomKillOf), else when it died. */
function oomKillTime(observations: Observations, instance: string): number | undefined {
  const mine = observations.filter((o) => 'instance' in o && o.instance === instance);
  return oomKillOf(instance, mine)?.t ?? mine.find((o) => o.kind === 'docker-event' && o.action === 'die')?.t;
}

/** The instance expectations that name steps, judged on the configuration's observations. */
export function judgeStepExpectations(instance: string, expectation: Expectation | undefined, outcome: Outcome, observations: Observations): ExpectationCheck[] {
  const checks: ExpectationCheck[] = [];
  if (!expectation) return checks;
  const because = expectation.because ? { because: expectation.because } : {};
  if (expectation.afterStep !== undefined) {
    const step = expectation.afterStep;
    const expected = `${instance} ${expectation.outcome} after step "${step}"`;
    const done = stepPhases(observations, step).find((o) => o.phase === 'done');
    const killedAt = outcome.startsWith('oom-killed') || outcome === 'crashed' ? oomKillTime(observations, instance) : undefined;
    const base = { expected, source: 'steps', step, ...because };
    if (!done) checks.push({ ...base, met: false, line: `${expected}: ${notRun(observations, step)}, so the outcome does not show what the step does` });
    else if (killedAt !== undefined && killedAt < done.t)
      checks.push({ ...base, met: false, line: `${expected}: ${instance} was ${outcome} at ${seconds(killedAt)}, before the step took effect at ${seconds(done.t)}` });
    else checks.push({ ...base, met: true, line: `${instance} ${outcome} with step "${step}" in force since ${seconds(done.t)}` });
  }
  if (expectation.oomKilledWithin) {
    const { of: step, ms } = expectation.oomKilledWithin;
    const started = stepPhases(observations, step).find((o) => o.phase === 'start');
    const killedAt = outcome.startsWith('oom-killed') ? oomKillTime(observations, instance) : undefined;
    const label = `${instance} OOM-killed after step "${step}" started`;
    const claim = { label, operator: '<=' as const, bound: ms / 1000, unit: ' s', source: 'steps', declared: `${instance} OOM-killed within ${seconds(ms)} of step "${step}"`, ...because };
    if (!started) checks.push({ ...check(claim, undefined), step, line: `${claim.declared}: ${notRun(observations, step)}` });
    else if (killedAt === undefined) checks.push({ ...check(claim, undefined), step, line: `${claim.declared}: ${instance} was not OOM-killed (${outcome})` });
    else if (killedAt < started.t)
      checks.push({ ...check(claim, undefined), step, line: `${claim.declared}: ${instance} was OOM-killed at ${seconds(killedAt)}, before the step started at ${seconds(started.t)}` });
    else checks.push({ ...check(claim, (killedAt - started.t) / 1000), step });
  }
  return checks;
}

const WINDOWED = [
  ['p50Ms', 'latencyP50Ms', 'p50'],
  ['p90Ms', 'latencyP90Ms', 'p90'],
  ['p99Ms', 'latencyP99Ms', 'p99'],
] as const;

/**
 * A load expectation with `after`: its p50/p90/p99 bounds judged on the worst per-second percentile from
 * the second the step started in (the drivers keep a whole-run histogram and per-second percentiles only).
 */
export function judgeWindowedLatency(claims: LoadExpectation, observations: Observations): ExpectationCheck[] {
  const step = claims.after;
  if (step === undefined) return [];
  const started = stepPhases(observations, step).find((o) => o.phase === 'start');
  const because = claims.because ? { because: claims.because } : {};
  const checks: ExpectationCheck[] = [];
  for (const [key, metric, label] of WINDOWED) {
    const bound = claims[key];
    if (!bound) continue;
    // A sample stands for the second that ends at its t: every second that overlaps the step's time counts.
    const values = started
      ? observations.filter((o): o is ObservationOf<'sample'> => o.kind === 'sample' && o.source === 'workload' && o.metric === metric && o.t > started.t).map((o) => o.value)
      : [];
    const worst = values.length > 0 ? Math.max(...values) : undefined;
    const unmeasured = started ? 'not measured (no second of load after the step started)' : `not measured (${notRun(observations, step)})`;
    for (const [name, operator] of [
      ['below', '<'],
      ['above', '>'],
      ['atLeast', '>='],
      ['atMost', '<='],
    ] as const) {
      const value = bound[name];
      if (value === undefined) continue;
      const claim = { label: `${label} latency after "${step}" (worst per-second ${label} of ${values.length})`, operator, bound: value, unit: ' ms', source: 'workload per second', ...because };
      checks.push({ ...check(claim, worst, unmeasured), step });
    }
  }
  return checks;
}

/** The failed or timed-out steps of a configuration that ended as error: their output is the evidence. */
export function stepFailureEvidence(observations: Observations): Evidence[] {
  return observations
    .filter((o) => o.kind === 'step' && (o.phase === 'failed' || o.phase === 'timeout'))
    .map((o) => formatWith(EVIDENCE, o))
    .filter((e): e is Evidence => e !== undefined);
}
