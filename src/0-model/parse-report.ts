// Reading report.json back (`oomlab report`, `--baseline`, `oomlab compare`, `oomlab merge`): either schema
// version, the schema's verdict in one line.
import type { z } from 'zod';
import { OomlabError } from './errors.ts';
import { REPORT_SCHEMA_VERSION, type RunReport } from './report.ts';
import { decodeReport, type RunReportFile } from './report-file.ts';
import { runReportSchemaV1, runReportSchemaV2 } from './report-schema.ts';

/** `['configs', 3, 'verdict']` → `configs[3].verdict`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('') || '(the top level)';
}

function received(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** What the schema wanted at that path, in words: `expected number`, `expected one of pass, fail, skipped, error`. */
function expectedBy(issue: z.core.$ZodIssue): string {
  const oneOf = (values: readonly unknown[]) => (values.length === 1 ? `expected ${String(values[0])}` : `expected one of ${values.map(String).join(', ')}`);
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return oneOf(issue.values);
    case 'invalid_union': {
      // A tagged union names its tags; a union of literals (cgroupVersion 1 | 2) names each branch's value.
      if ('options' in issue && Array.isArray(issue.options)) return oneOf(issue.options);
      const values = issue.errors.flat().flatMap((e) => (e.code === 'invalid_value' ? e.values : []));
      return values.length > 0 ? oneOf(values) : issue.message;
    }
    default:
      return issue.message;
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/**
 * Runs on cgroup v2 before 27fb76e sampled v1's memoryFailcnt as undefined, written as null: those points carried
 * nothing, so they are dropped (a series left empty goes too) and the rest of the report reads as written.
 */
function dropNullSamples(configs: unknown[]): void {
  for (const config of configs) {
    const samples = typeof config === 'object' && config !== null ? (config as { samples?: unknown }).samples : undefined;
    if (!Array.isArray(samples)) continue;
    const kept = samples.flatMap((series: { t?: unknown; value?: unknown }) => {
      if (!Array.isArray(series?.t) || !Array.isArray(series.value) || !series.value.includes(null)) return [series];
      const keep = series.value.map((v) => v !== null);
      const value = series.value.filter((_, i) => keep[i]);
      return value.length > 0 ? [{ ...series, t: series.t.filter((_, i) => keep[i]), value }] : [];
    });
    samples.splice(0, samples.length, ...kept);
  }
}

/**
 * Reads report.json text with a one-line error for anything else: not JSON, not an oomlab report,
 * a newer schemaVersion, or a field of the wrong type (named by its path, e.g. `configs[3].verdict`).
 * A version-1 report is returned as written; a version-2 one with its sample columns back among the
 * observations. Unknown fields are kept either way, so a rewrite keeps them.
 */
export function parseReport(text: string, file: string): RunReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The parser quotes the text it met, newlines included: one line all the same.
    throw new OomlabError('REPORT_INVALID', `${file} is not JSON (${(error as Error).message.replace(/\s+/g, ' ')}) — give the report.json an oomlab run wrote`);
  }
  const head = typeof value === 'object' && value !== null ? (value as Partial<Record<keyof RunReport, unknown>>) : {};
  if (typeof head.schemaVersion !== 'number' || !Array.isArray(head.configs) || typeof head.scenario !== 'string') {
    throw new OomlabError('REPORT_INVALID', `${file} is not an oomlab report (no schemaVersion, scenario and configs) — give the report.json an oomlab run wrote`);
  }
  if (head.schemaVersion > REPORT_SCHEMA_VERSION) {
    throw new OomlabError('REPORT_INVALID', `${file} has schemaVersion ${head.schemaVersion}, newer than this oomlab reads (${REPORT_SCHEMA_VERSION}) — update oomlab`);
  }
  // Version 1 (and the unnumbered reports before it) listed samples as observations; version 2 keeps them in columns.
  const columnar = head.schemaVersion >= 2;
  if (columnar) dropNullSamples(head.configs);
  const parsed = (columnar ? runReportSchemaV2 : runReportSchemaV1).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new OomlabError(
      'REPORT_INVALID',
      `${file} is not a valid oomlab report: ${issuePath(issue.path)}: ${expectedBy(issue)}, got ${received(valueAt(value, issue.path))} — give the report.json an oomlab run wrote, unedited`,
    );
  }
  return columnar ? decodeReport(value as RunReportFile, file) : (value as RunReport);
}
