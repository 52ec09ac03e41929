// `oomlab compare RUN_A RUN_B`: two runs side by side, configuration by configuration.
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../../0-model/errors.ts';
import { compareRuns, readReportFile, renderCompareMarkdown, writeComparison } from '../../7-report/index.ts';
import { folderTimestamp } from '../../0-model/folder-time.ts';

export const COMPARE_OPTIONS = { out: { type: 'string' } } satisfies ParseArgsOptionsConfig;

export async function commandCompare(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: COMPARE_OPTIONS });
  if (positionals.length !== 2) {
    throw new UsageError(`oomlab compare needs two runs, got ${positionals.length}: e.g. \`oomlab compare reports/<time>-nofile-oom reports/<time>-nofile-oom\` (run folders or their report.json)`);
  }
  // Both are read before anything is written: a bad second report leaves no folder behind.
  const a = await readReportFile(positionals[0]!);
  const b = await readReportFile(positionals[1]!);
  const comparison = compareRuns(a.report, a.file, b.report, b.file);
  const dir = resolve(values.out ?? `reports/${folderTimestamp(new Date())}-compare`);
  await writeComparison(comparison, dir);
  process.stdout.write(renderCompareMarkdown(comparison));
  process.stderr.write(`compare: ${dir}/compare.html\n`);
  return 0;
}
