import type { RunReport } from '../../0-model/report.ts';

/** 0 as expected, 1 an expectation failed, a flaky configuration or a regression, 2 the harness or host failed, 130 interrupted. */
export function exitCodeOf(report: RunReport): number {
  if (report.endedBy === 'cancel') return 130;
  if (report.endedBy === 'error' || report.summary.error > 0) return 2;
  // A flaky configuration is not a pass: a nightly job must notice it.
  if (report.summary.fail > 0 || (report.summary.flaky ?? 0) > 0 || (report.baseline?.regressions.length ?? 0) > 0) return 1;
  return 0;
}

export function printSummary(report: RunReport, dir?: string): void {
  const s = report.summary;
  const regressions = report.baseline ? `, ${report.baseline.regressions.length} regressed against ${report.baseline.baselineRunId}` : '';
  process.stderr.write(
    `${report.scenario}: ${s.pass} pass, ${s.fail} fail, ${s.skipped} skipped, ${s.error} error${s.flaky ? `, ${s.flaky} flaky` : ''}${regressions}${report.error ? ` — ${report.error}` : ''}\n`,
  );
  for (const r of report.baseline?.regressions ?? []) process.stderr.write(`  regressed: ${r.configId}: ${r.what} ${r.before} → ${r.after}\n`);
  // A run of an incident answers first whether production's kill came back: "3 pass" alone read as a success
  // to a newcomer whose report said "Partly reproduced".
  if (report.signature) process.stderr.write(`production's kill: ${report.signature.summary}\n`);
  if (dir) process.stderr.write(`report: ${dir}/report.html\n`);
}
