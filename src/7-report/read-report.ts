import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OomlabError } from '../0-model/errors.ts';
import type { RunReport } from '../0-model/report.ts';
import { parseReport } from '../0-model/parse-report.ts';

/** Reads a report.json (or the one in a run folder), checked against the schema, with a one-line error for anything else. */
export async function readReportFile(path: string): Promise<{ report: RunReport; file: string }> {
  const file = (await stat(path).catch(() => undefined))?.isDirectory() ? join(path, 'report.json') : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new OomlabError('REPORT_INVALID', `no report at ${file} — give a run folder under reports/ or its report.json`);
  }
  return { report: parseReport(text, file), file };
}
