// Production's kill beside the lab's, at the top of a report of a scenario made from an incident.
import type { RunReport } from '../0-model/report.ts';
import { SIGNATURE_WORDS } from '../0-model/signature.ts';
import { labSetValuesLine } from '../0-model/set-values.ts';

const MATCH_TEXT = { same: 'same', differs: 'differs', unknown: '—' } as const;

/** The signature section of report.md: the verdict in a sentence, then production and the lab figure by figure. */
export function signatureMarkdown(report: RunReport): string[] {
  const signature = report.signature;
  if (!signature) return [];
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [`## ${SIGNATURE_WORDS[signature.verdict]}: production's kill beside the lab's`, '', signature.summary, ''];
  const moved = labSetValuesLine(report);
  if (moved) lines.push(moved, '');
  if (signature.rows.length > 0) {
    lines.push(`| figure | production | lab${signature.configId ? ` (${cell(signature.configId)})` : ''} | match | note |`, '|---|---|---|---|---|');
    for (const row of signature.rows) {
      lines.push(`| ${row.figure}${row.decisive ? '' : ' (not decisive)'} | ${cell(row.production)} | ${cell(row.lab)} | ${MATCH_TEXT[row.match]} | ${cell(row.note ?? '')} |`);
    }
    lines.push('');
  }
  if (signature.production.line) lines.push(`Production's kernel line: \`${signature.production.line.replace(/`/g, "'")}\``, '');
  return lines;
}
