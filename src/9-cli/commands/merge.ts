// `oomlab merge DIR…`: one report (json, md, html, junit) from the reports of `oomlab run --shard I/N`.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../../0-model/errors.ts';
import { compareWithBaseline, mergeShardReports, readReportFile, renderJson, writeReports, type ShardReport } from '../../7-report/index.ts';
import { exitCodeOf, printSummary } from './summary.ts';
import { folderTimestamp } from '../../0-model/folder-time.ts';
import { requireSameScenario } from '../../0-model/baseline-check.ts';

export const MERGE_OPTIONS = {
  out: { type: 'string' },
  baseline: { type: 'string' },
  json: { type: 'boolean' },
} satisfies ParseArgsOptionsConfig;

export async function commandMerge(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: MERGE_OPTIONS });
  if (positionals.length === 0) throw new UsageError('oomlab merge needs the shard reports, e.g. `oomlab merge shards/*` (the report folders of `oomlab run --shard I/N`, or their report.json)');
  // Everything is read and checked before anything is written: a refusal leaves no folder behind.
  const shards: ShardReport[] = [];
  for (const path of positionals) shards.push(await readReportFile(path));
  const report = mergeShardReports(shards);
  if (values.baseline) {
    const baseline = await readReportFile(values.baseline);
    requireSameScenario(baseline, report.scenario);
    report.baseline = compareWithBaseline(report, baseline.report, baseline.file);
  }
  const dir = resolve(values.out ?? `reports/${folderTimestamp(new Date())}-${report.scenario}-merged`);
  await mkdir(dir, { recursive: true });
  await writeReports(report, dir);
  // The report.json it writes, schema version 2, not the in-memory report (samples among the observations).
  if (values.json) process.stdout.write(renderJson(report));
  printSummary(report, dir);
  return exitCodeOf(report);
}
