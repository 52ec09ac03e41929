// The top of report.md: the answer in a sentence per claim, then the configurations ranked by headroom.
import type { RunReport } from '../0-model/report.ts';
import { type Answer, answerOf, configTag, headroomText, type Part, peakText, rankedLabel } from '../0-model/answer.ts';
import { outcomeWords, verdictWords } from '../0-model/verdict-words.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function partsText(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : `\`${p.code.replace(/`/g, "'")}\``)).join('');
}

const TONE_MARK = { good: '✅', bad: '❌', mixed: '🔀', none: '⏭' } as const;

/** The answer section of report.md (empty for a report with no configuration). */
export function answerMarkdown(report: RunReport, answer: Answer = answerOf(report)): string[] {
  if (answer.headlines.length === 0 && answer.ranking.length === 0) return [];
  const lines = ['## The answer', ''];
  for (const h of answer.headlines) lines.push(`- ${TONE_MARK[h.tone]} **${h.lead}** ${partsText(h.parts)}`);
  lines.push('');
  const ranked = answer.ranking.filter((r) => r.peakBytes !== undefined);
  if (ranked.length > 0) {
    const anonymous = ranked.some((r) => r.anonymous);
    lines.push(
      `### Ranked by headroom: the ${anonymous ? 'anonymous ' : ''}peak against the limit`,
      '',
      `| rank | configuration | outcome | verdict | peak / limit | headroom |`,
      '|---|---|---|---|---|---|',
    );
    ranked.forEach((r, i) => {
      lines.push(
        `| ${[String(i + 1), `${configTag(report, r.config)} ${rankedLabel(r)}`, outcomeWords(r.config.outcome), verdictWords(r.config), peakText(r), headroomText(r)].map(cell).join(' | ')} |`,
      );
    });
    lines.push('');
  }
  return lines;
}
