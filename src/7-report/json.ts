import type { RunReport } from '../0-model/report.ts';

/** The whole result, schema-versioned; every other format can be re-rendered from it. */
export function renderJson(report: RunReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
