import { UsageError } from './errors.ts';

/** A baseline is compared only with a run of the same scenario: run, report and merge refuse it in the same words. */
export function requireSameScenario(baseline: { file: string; report: { scenario: string } }, scenario: string): void {
  if (baseline.report.scenario === scenario) return;
  throw new UsageError(`--baseline ${baseline.file} is a report of \`${baseline.report.scenario}\`, not \`${scenario}\` — give a report of the same scenario`);
}
