import type { ConfigResult, RunReport } from '../0-model/report.ts';
import type { BaselineComparison, Regression } from '../0-model/report.ts';

export type { BaselineComparison, Regression };

/**
 * How much worse a figure may get before it counts: run-to-run noise on a laptop is about 10%
 * for memory peaks and far more for tail latency, so thresholds are relative with a floor.
 */
export const REGRESSION_THRESHOLDS = {
  peakMemory: { ratio: 1.2, floorBytes: 32 * 1024 * 1024 },
  p99Latency: { ratio: 1.5, floorMs: 10 },
  errors: { ratio: 1.5, floor: 50 },
  connectionRatio: { ratio: 1.5, floor: 0.5 },
} as const;

// Flaky ranks with fail: pass → flaky is a regression, fail → flaky is not an improvement either.
const VERDICT_RANK = { pass: 0, skipped: 0, fail: 1, flaky: 1, error: 2 } as const;

function worse(after: number | undefined, before: number | undefined, ratio: number, floor: number): boolean {
  if (after === undefined || before === undefined) return false;
  return after > before * ratio && after - before > floor;
}

function totalErrors(config: ConfigResult): number | undefined {
  const errors = config.metrics.errorsByCode;
  return errors ? Object.values(errors).reduce((sum, n) => sum + n, 0) : undefined;
}

/** Compares every configuration both runs decided; a configuration the baseline ran and this run did not is a regression too. */
export function compareWithBaseline(current: RunReport, baseline: RunReport, file: string): BaselineComparison {
  const regressions: Regression[] = [];
  let compared = 0;
  const now = new Map(current.configs.map((c) => [c.id, c]));
  for (const before of baseline.configs) {
    const after = now.get(before.id);
    if (before.verdict === 'skipped') continue;
    if (!after) {
      regressions.push({ configId: before.id, what: 'missing', before: before.verdict, after: 'not in this run' });
      continue;
    }
    if (after.verdict === 'skipped') continue;
    compared++;
    const add = (what: Regression['what'], b: string, a: string) => regressions.push({ configId: before.id, what, before: b, after: a });
    if (VERDICT_RANK[after.verdict] > VERDICT_RANK[before.verdict]) add('verdict', before.verdict, after.verdict);
    // A configuration that survived and is now killed regressed even where the scenario expects the kill.
    if (before.outcome === 'survived' && after.outcome !== null && after.outcome !== 'survived') add('outcome', before.outcome, after.outcome);
    const t = REGRESSION_THRESHOLDS;
    const [pb, pa] = [before.metrics.peakMemoryBytes, after.metrics.peakMemoryBytes];
    if (before.outcome === 'survived' && after.outcome === 'survived' && worse(pa, pb, t.peakMemory.ratio, t.peakMemory.floorBytes)) add('peak memory', `${pb} B`, `${pa} B`);
    const [lb, la] = [before.metrics.latencyMs?.p99, after.metrics.latencyMs?.p99];
    if (worse(la, lb, t.p99Latency.ratio, t.p99Latency.floorMs)) add('p99 latency', `${lb} ms`, `${la} ms`);
    const [eb, ea] = [totalErrors(before), totalErrors(after)];
    if (worse(ea, eb, t.errors.ratio, t.errors.floor)) add('errors', String(eb), String(ea));
    const [rb, ra] = [before.metrics.connectionRatio, after.metrics.connectionRatio];
    if (worse(ra, rb, t.connectionRatio.ratio, t.connectionRatio.floor)) add('connection ratio', String(rb), String(ra));
  }
  return { file, baselineRunId: baseline.runId, compared, regressions };
}
