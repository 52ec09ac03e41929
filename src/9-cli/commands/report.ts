// `oomlab report`: re-render a run's reports from its report.json, optionally against a baseline.
import { dirname } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../../0-model/errors.ts';
import { compareWithBaseline, readReportFile, REPORTERS, writeReports, type ReporterName } from '../../7-report/index.ts';
import { exitCodeOf, printSummary } from './summary.ts';
import { requireSameScenario } from '../../0-model/baseline-check.ts';

export const REPORT_OPTIONS = { baseline: { type: 'string' } } satisfies ParseArgsOptionsConfig;

export async function commandReport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: REPORT_OPTIONS });
  if (positionals.length !== 1) throw new UsageError('oomlab report needs one run folder, e.g. `oomlab report reports/2026-11-22T07-00-00Z-nofile-oom`');
  const { report, file } = await readReportFile(positionals[0]!);
  if (values.baseline) {
    const baseline = await readReportFile(values.baseline);
    requireSameScenario(baseline, report.scenario);
    report.baseline = compareWithBaseline(report, baseline.report, baseline.file);
  }
  const dir = dirname(file);
  // report.json itself is rewritten only when a baseline adds to it; the other formats always.
  const written = await writeReports(report, dir, values.baseline ? undefined : (Object.keys(REPORTERS) as ReporterName[]).filter((n) => n !== 'json'));
  for (const path of written) process.stdout.write(`wrote ${path}\n`);
  printSummary(report);
  return exitCodeOf(report);
}
