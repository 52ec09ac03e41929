import type { RunComparison } from './pair.ts';
import { columnsOf, describeSide, flakyOf, headers, rowCells, summaryLine, unpaired } from './cells.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** compare.md: the two runs, the notes, one row per paired configuration (changes in bold), then the unpaired. */
export function renderCompareMarkdown(comparison: RunComparison): string {
  const columns = columnsOf(comparison);
  const lines: string[] = [];
  lines.push(`# oomlab compare: ${comparison.a.scenario} ↔ ${comparison.b.scenario}`, '');
  lines.push(`- **A**: ${describeSide(comparison.a)}`, `- **B**: ${describeSide(comparison.b)}`, '');
  for (const note of comparison.notes) lines.push(`> ${note}`, '');
  lines.push(`**${summaryLine(comparison)}**`, '');
  if (comparison.pairs.length > 0) {
    const head = headers(columns);
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const pair of comparison.pairs) {
      const cells = rowCells(pair, columns).map((c, i) => (i === 0 ? `\`${cell(c.text)}\`` : c.changed ? `**${cell(c.text)}**` : cell(c.text)));
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  for (const [label, configs] of [
    ['A', comparison.onlyA],
    ['B', comparison.onlyB],
  ] as const) {
    if (configs.length === 0) continue;
    lines.push('', `## Only in ${label} (${configs.length})`, '');
    for (const config of configs) lines.push(`- \`${unpaired(config)}\``);
  }
  for (const { label, config, repeats } of flakyOf(comparison)) {
    lines.push('', `## Flaky in ${label}: \`${config.id}\``, '', config.reason, '', ...repeats.map((r) => `- ${cell(r)}`));
  }
  return `${lines.join('\n')}\n`;
}
