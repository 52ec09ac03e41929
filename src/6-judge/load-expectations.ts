// The scenario's claims about its load (latency percentiles, error rate, errors by code, the connection
// ratio between replicas, k6-style thresholds), judged on oomlab's own figures whichever driver ran:
// each becomes a line saying what was expected, what was measured and by how much it missed.
import type { Timeline } from '../4-observe/index.ts';
import { tierSampleIntervalMs } from '../5-workload/index.ts';
import type { Bound, Threshold, ThresholdOperator, Workload } from '../1-scenario/index.ts';
import type { ConfigMetrics, ExpectationCheck } from '../0-model/report.ts';
import type { HttpLoadResult, LatencySummaryMs, StormResult } from '../0-model/workload-result.ts';
import type { Margin } from '../0-model/judgement.ts';
import { peakConnectionRatio } from './metrics.ts';
import { formatFigure, margin } from './margins.ts';

type Comparison = Exclude<ThresholdOperator, '==='>;

const SHOWN: Record<Comparison, { holds: string; fails: string; miss: 'short' | 'over' | 'off' | undefined }> = {
  '<': { holds: '<', fails: '≥', miss: 'over' },
  '<=': { holds: '≤', fails: '>', miss: 'over' },
  '>': { holds: '>', fails: '≤', miss: 'short' },
  '>=': { holds: '≥', fails: '<', miss: 'short' },
  '==': { holds: '=', fails: '≠', miss: 'off' },
  '!=': { holds: '≠', fails: '=', miss: undefined },
};

const BOUND_OPERATORS = { below: '<', above: '>', atLeast: '>=', atMost: '<=' } as const satisfies Record<keyof Bound, Comparison>;

function holds(operator: Comparison, measured: number, bound: number): boolean {
  switch (operator) {
    case '<':
      return measured < bound;
    case '<=':
      return measured <= bound;
    case '>':
      return measured > bound;
    case '>=':
      return measured >= bound;
    case '==':
      return measured === bound;
    case '!=':
      return measured !== bound;
  }
}

export { formatFigure };

interface Claim {
  label: string;
  operator: Comparison;
  bound: number;
  /** The claim as the scenario wrote it, when it has its own words (a threshold's expression). */
  declared?: string;
  unit?: string;
  source: string;
  because?: string;
}

/** One claim against one figure: the line says the figure, the relation it has to the bound, and the miss. */
export function check(claim: Claim, measured: number | undefined, unmeasured = 'not measured'): ExpectationCheck {
  const unit = claim.unit ?? '';
  const shown = SHOWN[claim.operator];
  const expected = claim.declared ?? `${claim.label} ${shown.holds} ${formatFigure(claim.bound)}${unit}`;
  const base = { expected, source: claim.source, ...(claim.because ? { because: claim.because } : {}) };
  if (measured === undefined) return { ...base, met: false, line: `${claim.label} ${unmeasured}, expected ${shown.holds} ${formatFigure(claim.bound)}${unit}` };
  const figure = `${claim.label} ${formatFigure(measured)}${unit}`;
  const margin = checkMargin(claim, measured);
  if (holds(claim.operator, measured, claim.bound)) return { ...base, measured, met: true, line: `${figure} ${shown.holds} ${formatFigure(claim.bound)}${unit}`, margin };
  const missedBy = Math.abs(measured - claim.bound);
  const miss = shown.miss ? ` (${shown.miss} by ${formatFigure(missedBy)}${unit})` : '';
  return { ...base, measured, met: false, missedBy: Number(formatFigure(missedBy)), line: `${figure} ${shown.fails} ${formatFigure(claim.bound)}${unit}${miss}`, margin };
}

/** How far a measured figure was from its claim's bound, met or not: `B:A connection ratio 6.5 ≥ 2: 4.5 above the bound`. */
function checkMargin(claim: Claim, measured: number): Margin {
  const unit = claim.unit ?? '';
  const held = holds(claim.operator, measured, claim.bound);
  const distance = Math.abs(measured - claim.bound);
  const side = measured > claim.bound ? 'above' : measured < claim.bound ? 'below' : 'at';
  const shown = SHOWN[claim.operator];
  const where = side === 'at' ? 'on the bound' : `${formatFigure(distance)}${unit} ${side} the bound`;
  return margin({
    what: claim.label,
    measured,
    bound: claim.bound,
    unit: unit.trim() === 'ms' ? 'ms' : '',
    held,
    distance,
    line: `${claim.label} ${formatFigure(measured)}${unit} ${held ? shown.holds : shown.fails} ${formatFigure(claim.bound)}${unit}: ${where}`,
  });
}

function boundChecks(bound: Bound, claim: Omit<Claim, 'operator' | 'bound'>, measured: number | undefined, unmeasured?: string): ExpectationCheck[] {
  return (Object.keys(BOUND_OPERATORS) as (keyof Bound)[])
    .filter((key) => bound[key] !== undefined)
    .map((key) => check({ ...claim, operator: BOUND_OPERATORS[key], bound: bound[key]! }, measured, unmeasured));
}

/** Failed over finished: requests for an HTTP burst, sessions for a storm. */
export function errorRateOf(result: StormResult | HttpLoadResult): number | undefined {
  const { completed, failed } = result.driver === 'storm' ? result.sessions : result.requests;
  return completed + failed > 0 ? failed / (completed + failed) : undefined;
}

const PERCENTILES: Record<string, keyof LatencySummaryMs> = { 'p(50)': 'p50', med: 'p50', 'p(90)': 'p90', 'p(99)': 'p99', 'p(99.9)': 'p999', max: 'max' };

/** What a threshold's metric and aggregate read from the driver's result. */
function thresholdFigure(threshold: Threshold, result: StormResult | HttpLoadResult): { value: number | undefined; unit?: string } {
  const latency = (summary: LatencySummaryMs) => ({ value: summary.count > 0 ? summary[PERCENTILES[threshold.aggregate]!] : undefined, unit: ' ms' });
  switch (threshold.metric) {
    case 'http_req_duration':
    case 'iteration_duration':
      return result.driver === 'storm' ? { value: undefined } : latency(result.latencyMs);
    case 'query_duration':
      return result.driver === 'storm' ? latency(result.queryLatencyMs) : { value: undefined };
    case 'connect_duration':
      return result.driver === 'storm' ? latency(result.connectLatencyMs) : { value: undefined };
    case 'http_req_failed':
    case 'session_failed':
      return { value: errorRateOf(result) };
    case 'http_reqs':
      return { value: result.driver === 'storm' ? undefined : result.requests.started };
    case 'dropped_iterations':
      return { value: result.driver === 'storm' ? undefined : result.requests.dropped };
    case 'sessions':
      return { value: result.driver === 'storm' ? result.sessions.started : undefined };
    default:
      return { value: undefined };
  }
}

export interface LoadFigures {
  metrics: Partial<ConfigMetrics>;
  timeline: Pick<Timeline, 'of'>;
}

/** Every claim the workload declares, judged; empty when it declares none. */
export function judgeLoad(workload: Workload, { metrics, timeline }: LoadFigures): ExpectationCheck[] {
  const result = timeline.of('workload').at(-1)?.result;
  const source = result?.driver ?? 'workload';
  // No result: the load never ran (a target died while seeding), so nothing it claims was shown.
  const unmeasured = result ? 'not measured' : 'not measured (the load did not run)';
  const claims = workload.expect ?? {};
  const because = claims.because;
  const checks: ExpectationCheck[] = [];
  if (claims.ratio) {
    const { of, to, ...bound } = claims.ratio;
    const ratio = peakConnectionRatio(timeline, of, to, tierSampleIntervalMs(workload));
    const label = `${of.toUpperCase()}:${to.toUpperCase()} connection ratio`;
    checks.push(...boundChecks(bound, { label, source: 'connections', ...(because ? { because } : {}) }, ratio, `not measured (no second where ${to} held a client connection before a kill)`));
  }
  const latency = metrics.latencyMs && metrics.latencyMs.count > 0 ? metrics.latencyMs : undefined;
  for (const [key, field] of [
    ['p50Ms', 'p50'],
    ['p90Ms', 'p90'],
    ['p99Ms', 'p99'],
    ['p999Ms', 'p999'],
    ['maxMs', 'max'],
  ] as const) {
    const bound = claims[key];
    // With `after`, p50/p90/p99 are judged on the seconds after that step (step-expectations.ts).
    if (claims.after !== undefined && key !== 'p999Ms' && key !== 'maxMs') continue;
    if (bound) checks.push(...boundChecks(bound, { label: `${field} latency`, unit: ' ms', source, ...(because ? { because } : {}) }, latency?.[field], unmeasured));
  }
  if (claims.errorRate) checks.push(...boundChecks(claims.errorRate, { label: 'error rate', source, ...(because ? { because } : {}) }, result ? errorRateOf(result) : undefined, unmeasured));
  for (const [code, bound] of Object.entries(claims.errors ?? {})) {
    checks.push(...boundChecks(bound, { label: `${code} errors`, source, ...(because ? { because } : {}) }, result ? (metrics.errorsByCode?.[code] ?? 0) : undefined, unmeasured));
  }
  for (const threshold of workload.thresholds ?? []) {
    const operator: Comparison = threshold.operator === '===' ? '==' : threshold.operator;
    const figure = result ? thresholdFigure(threshold, result) : { value: undefined };
    const claim = { label: `${threshold.metric} ${threshold.aggregate}`, operator, bound: threshold.value, declared: `${threshold.metric} ${threshold.expression}`, source };
    checks.push(check(figure.unit ? { ...claim, unit: figure.unit } : claim, figure.value, unmeasured));
  }
  // k6 judged the thresholds it was given on its own summary; it speaks for itself.
  if (result?.driver === 'k6') {
    for (const crossed of result.k6?.thresholdsCrossed ?? []) {
      checks.push({ expected: crossed, met: false, source: 'k6', line: `k6: threshold ${crossed} crossed` });
    }
  }
  return checks;
}
