// The words every format uses for verdicts, repeats and margins, so report.md, junit.xml, report.html
// and compare say the same.
import type { Margin, Verdict } from '../0-model/judgement.ts';
import type { ConfigResult, RepeatRun } from '../0-model/report.ts';
import { formatBytes } from '../0-model/units.ts';
import { isNarrow } from '../0-model/judgement.ts';

export const VERDICT_MARK: Record<Verdict, string> = { pass: '✅ pass', fail: '❌ fail', skipped: '⏭ skipped', error: '⚠️ error', flaky: '🔀 flaky' };

/** A margin as a reader needs it: its line, flagged when it is narrow enough for a repeat to flip. */
export function marginText(margin: Margin): string {
  return `${margin.line}${isNarrow(margin) ? ' (narrow)' : ''}`;
}

/** One repeat in a line: verdict, outcome, the deciding figures, its duration, then its margins. */
export function repeatText(run: RepeatRun): string {
  const f = run.figures;
  const figures = [
    f.peakMemoryBytes !== undefined ? `peak ${formatBytes(f.peakMemoryBytes)}${f.memoryLimitBytes ? ` / ${formatBytes(f.memoryLimitBytes)}` : ''}` : '',
    f.peakRssBytes !== undefined ? `rss ${formatBytes(f.peakRssBytes)}` : '',
    f.openFilesLimit !== undefined ? `open_files_limit ${f.openFilesLimit}` : '',
    f.peakConnections !== undefined ? `${f.peakConnections} connections` : '',
    f.connectionRatio !== undefined ? `B:A ${f.connectionRatio}:1` : '',
    f.latencyP99Ms !== undefined ? `p99 ${Math.round(f.latencyP99Ms)} ms` : '',
    `${(run.durationMs / 1000).toFixed(1)} s`,
  ].filter(Boolean);
  const margins = run.margins.map(marginText);
  const why = run.verdict === 'pass' ? '' : ` — ${run.reason}`;
  return `repeat ${run.repeat}: ${VERDICT_MARK[run.verdict]} ${run.outcome ?? `(${run.endedBy})`}, ${figures.join(', ')}${margins.length > 0 ? `; ${margins.join('; ')}` : ''}${why}`;
}

/** `3 repeats: ✅ ❌ ✅`, or nothing without --repeat. */
export function repeatsSummary(config: ConfigResult): string {
  if (!config.repeats?.length) return '';
  return `${config.repeats.length} repeats: ${config.repeats.map((r) => VERDICT_MARK[r.verdict].split(' ')[0]).join(' ')}`;
}
