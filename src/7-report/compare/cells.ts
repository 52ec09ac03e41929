// The words of a comparison's cells, shared by compare.md and compare.html so both say the same.
import { formatBytes } from '../../0-model/units.ts';
import { repeatText, VERDICT_MARK } from '../repeats.ts';
import type { ConfigResult } from '../../0-model/report.ts';
import { changesOf, type FigurePair, type PairedConfig, type RunComparison, type RunSide } from './pair.ts';

/** A cell: its text, and whether it changed (shown in bold / highlighted). */
export interface Cell {
  text: string;
  changed: boolean;
}

function either(a: string, b: string, changed: boolean): Cell {
  return changed ? { text: `${a} → ${b}`, changed } : { text: a, changed };
}

function figureCell(pair: FigurePair, format: (n: number) => string, withPercent: boolean): Cell {
  if (pair.a === undefined && pair.b === undefined) return { text: '', changed: false };
  const a = pair.a === undefined ? '—' : format(pair.a);
  const b = pair.b === undefined ? '—' : format(pair.b);
  // Equal as printed: a few kilobytes of noise are not a change.
  if (a === b) return { text: a, changed: false };
  const change = pair.a !== undefined && pair.b !== undefined && pair.a !== 0 ? (Math.abs(pair.b - pair.a) / pair.a) * 100 : undefined;
  const percent = withPercent && change !== undefined ? ` (${pair.b! >= pair.a! ? '+' : '−'}${change.toFixed(change < 10 ? 1 : 0)}%)` : '';
  return { text: `${a} → ${b}${percent}`, changed: pair.notable };
}

export interface Columns {
  image: boolean;
  p99: boolean;
  openFilesLimit: boolean;
}

/** Columns only where some row has a figure: a start-up scenario has no latency, a load scenario no open_files_limit. */
export function columnsOf(comparison: RunComparison): Columns {
  const any = (test: (p: PairedConfig) => boolean) => comparison.pairs.some(test);
  return {
    image: any((p) => p.image !== undefined),
    p99: any((p) => p.p99LatencyMs.a !== undefined || p.p99LatencyMs.b !== undefined),
    openFilesLimit: any((p) => p.openFilesLimit.a !== undefined || p.openFilesLimit.b !== undefined),
  };
}

export function headers(columns: Columns): string[] {
  return [
    'configuration',
    ...(columns.image ? ['image A → B'] : []),
    'outcome',
    'verdict',
    'peak memory',
    ...(columns.p99 ? ['p99 latency'] : []),
    ...(columns.openFilesLimit ? ['@@open_files_limit'] : []),
  ];
}

export function rowCells(p: PairedConfig, columns: Columns): Cell[] {
  return [
    { text: p.key, changed: false },
    ...(columns.image ? [p.image ? { text: `${p.image.a} → ${p.image.b}`, changed: false } : { text: '', changed: false }] : []),
    either(p.a.outcome ?? '—', p.b.outcome ?? '—', p.outcomeChanged),
    either(VERDICT_MARK[p.a.verdict], VERDICT_MARK[p.b.verdict], p.verdictChanged),
    figureCell(p.peakMemoryBytes, formatBytes, true),
    ...(columns.p99 ? [figureCell(p.p99LatencyMs, (ms) => `${ms >= 100 ? Math.round(ms) : Number(ms.toFixed(1))} ms`, true)] : []),
    ...(columns.openFilesLimit ? [figureCell(p.openFilesLimit, String, false)] : []),
  ];
}

export function describeSide(side: RunSide): string {
  const s = side.summary;
  return `\`${side.scenario}\` run \`${side.runId}\` (${side.startedAt}) on ${side.ranOn.join(', ') || 'no image'}: ${s.pass} pass, ${s.fail} fail, ${s.skipped} skipped, ${s.error} error${s.flaky ? `, ${s.flaky} flaky` : ''} — ${side.file}`;
}

/** The line a reviewer pastes: how many configurations were compared and what moved. */
export function summaryLine(comparison: RunComparison): string {
  const c = changesOf(comparison);
  const moved = [
    `${c.outcome} changed outcome`,
    `${c.verdict} changed verdict`,
    `${c.peakMemory} moved peak memory`,
    ...(columnsOf(comparison).p99 ? [`${c.p99Latency} moved p99 latency`] : []),
    ...(columnsOf(comparison).openFilesLimit ? [`${c.openFilesLimit} changed @@open_files_limit`] : []),
  ];
  const only = [comparison.onlyA.length > 0 ? `${comparison.onlyA.length} only in A` : '', comparison.onlyB.length > 0 ? `${comparison.onlyB.length} only in B` : ''].filter(Boolean);
  return `${comparison.pairs.length} configuration(s) compared: ${moved.join(', ')}${only.length > 0 ? `; ${only.join(', ')}` : ''}.`;
}

/** A configuration found on one side only, one line. */
export function unpaired(config: ConfigResult): string {
  return `${config.id} (${VERDICT_MARK[config.verdict]}${config.outcome ? `, ${config.outcome}` : ''})`;
}

/** Flaky configurations of each run, apart from the table: their repeats' figures say why. */
export function flakyOf(comparison: RunComparison): { label: 'A' | 'B'; config: ConfigResult; repeats: string[] }[] {
  const sides = [
    ['A', [...comparison.pairs.map((p) => p.a), ...comparison.onlyA]],
    ['B', [...comparison.pairs.map((p) => p.b), ...comparison.onlyB]],
  ] as const;
  return sides.flatMap(([label, configs]) => configs.filter((c) => c.verdict === 'flaky').map((config) => ({ label, config, repeats: (config.repeats ?? []).map(repeatText) })));
}
