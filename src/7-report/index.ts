import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunReport } from '../0-model/report.ts';
import { renderHtml } from './html/index.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';

/** The report formats, by name; `--reporter` and `oomlab report` pick from these. */
export const REPORTERS = {
  json: { file: 'report.json', render: renderJson },
  markdown: { file: 'report.md', render: renderMarkdown },
  junit: { file: 'junit.xml', render: renderJunit },
  html: { file: 'report.html', render: renderHtml },
} as const satisfies Record<string, { file: string; render: (report: RunReport) => string }>;

export type ReporterName = keyof typeof REPORTERS;

/** Writes every format; each file appears whole or not at all (write, then rename). */
export async function writeReports(report: RunReport, dir: string, names: readonly ReporterName[] = Object.keys(REPORTERS) as ReporterName[]): Promise<string[]> {
  const written: string[] = [];
  for (const name of names) {
    const { file, render } = REPORTERS[name];
    const path = join(dir, file);
    await writeFile(`${path}.partial`, render(report));
    await rename(`${path}.partial`, path);
    written.push(path);
  }
  return written;
}

export { renderHtml, renderJson, renderJunit, renderMarkdown };
export * from '../6-judge/baseline.ts';
export { readReportFile } from './read-report.ts';
export * from './compare/index.ts';
export { checkShards, mergeShardReports, type ShardReport } from './merge.ts';
