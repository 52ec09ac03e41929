import type { RunReport } from '../0-model/report.ts';

/**
 * The whole result, schema-versioned; every other format can be re-rendered from it. Indented, except
 * that each observation takes one line: a long run records hundreds of thousands of samples, and
 * indenting each over eight lines made the file 1.75× larger without making it easier to read.
 */
export function renderJson(report: RunReport): string {
  const blocks: unknown[][] = [];
  const text = JSON.stringify(report, (key, value: unknown) => (key === 'observations' && Array.isArray(value) ? `\u0000${blocks.push(value) - 1}\u0000` : value), 2);
  const compact = text.replace(/^( *)("observations": )"\\u0000(\d+)\\u0000"/gm, (_, indent: string, label: string, index: string) => {
    const items = blocks[Number(index)]!;
    if (items.length === 0) return `${indent}${label}[]`;
    return `${indent}${label}[\n${items.map((item) => `${indent}  ${JSON.stringify(item)}`).join(',\n')}\n${indent}]`;
  });
  return `${compact}\n`;
}
