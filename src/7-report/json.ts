import { encodeReport } from '../0-model/report-file.ts';
import { REPORT_SCHEMA_VERSION, type RunReport } from '../0-model/report.ts';

/**
 * The whole result, schema-versioned; every other format can be re-rendered from it. Indented, except
 * that each observation and each sampled series takes one line: a long run records hundreds of thousands
 * of samples, and as one object each they made report.json 103 MiB for 30 minutes of 6 configurations.
 * Version 2 keeps them in columns, `configs[].samples[]` = `{instance, source, metric, t: [...], value: [...]}`.
 */
export function renderJson(report: RunReport): string {
  const blocks: unknown[][] = [];
  const oneLineEach = (key: string, value: unknown) => (key === 'observations' || key === 'samples') && Array.isArray(value);
  const text = JSON.stringify(
    { ...encodeReport(report), schemaVersion: REPORT_SCHEMA_VERSION },
    (key, value: unknown) => (oneLineEach(key, value) ? `\u0000${blocks.push(value as unknown[]) - 1}\u0000` : value),
    2,
  );
  const compact = text.replace(/^( *)("(?:observations|samples)": )"\\u0000(\d+)\\u0000"/gm, (_, indent: string, label: string, index: string) => {
    const items = blocks[Number(index)]!;
    if (items.length === 0) return `${indent}${label}[]`;
    return `${indent}${label}[\n${items.map((item) => `${indent}  ${JSON.stringify(item)}`).join(',\n')}\n${indent}]`;
  });
  return `${compact}\n`;
}
