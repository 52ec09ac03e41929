// The bisect report: bisect.json (the whole result), bisect.md (for a ticket or a pull request) and a short
// self-contained bisect.html, all from one BisectReport, beside each probe's own run report.
import { rename, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BisectProbe, BisectReport, ModelCrossing, ModelPoint } from '../0-model/bisect-report.ts';
import { formatBytes } from '../0-model/units.ts';
import { axisText } from '../2-plan/bisect-input.ts';
import { html, type SafeHtml } from './html/template.ts';

type Kind = Pick<BisectReport, 'axisKind'>;

function value(report: Kind, v: number): string {
  return axisText(report.axisKind, v);
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function tally(outcomes: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].map(([o, n]) => `${o} ${n}/${outcomes.length}`).join(', ');
}

/** The last value with LO's outcome and the first with another, from the probes run so far (the search keeps them ordered). */
export function knownWindow(report: BisectReport): { last?: BisectProbe; first?: BisectProbe } {
  const decided = report.probes.filter((p) => p.outcome !== null);
  const low = decided.find((p) => p.value === report.range.lo)?.outcome;
  if (!low) return {};
  const others = decided.filter((p) => p.outcome !== low);
  const first = others.reduce<BisectProbe | undefined>((best, p) => (best === undefined || p.value < best.value ? p : best), undefined);
  const last = decided
    .filter((p) => p.outcome === low && (first === undefined || p.value < first.value))
    .reduce<BisectProbe | undefined>((best, p) => (best === undefined || p.value > best.value ? p : best), undefined);
  return { ...(last ? { last } : {}), ...(first ? { first } : {}) };
}

/** One line: the boundary the runs found, or why there is none. */
export function boundaryLine(report: BisectReport): string {
  const axis = report.axis;
  const range = `${value(report, report.range.lo)}..${value(report, report.range.hi)}`;
  const probes = `${report.searchProbes} probes (at most ${report.maxSearchProbes})`;
  if (report.status === 'no-boundary') return `no boundary in ${axis} ${range}: both ends ${report.sameOutcome} (${report.searchProbes} probes)`;
  const b = report.boundary;
  if (b && report.status === 'boundary') {
    const repeats = report.probes.length - report.searchProbes;
    const sure = b.flaky
      ? `FLAKY: ${value(report, b.last.value)} gave ${tally(b.outcomes.last)}; ${value(report, b.first.value)} gave ${tally(b.outcomes.first)}`
      : repeats === 0
        ? 'not repeated (--repeat-boundary 0)'
        : `${repeats} repeat${repeats === 1 ? '' : 's'} agree`;
    return `${axis}: ${b.last.outcome} up to ${value(report, b.last.value)}, ${b.first.outcome} from ${value(report, b.first.value)} — ${probes}; ${sure}`;
  }
  const { last, first } = knownWindow(report);
  const soFar = last && first ? `; so far ${last.outcome} up to ${value(report, last.value)}, ${first.outcome} from ${value(report, first.value)}` : '';
  const why = report.status === 'cancelled' ? 'interrupted' : report.status === 'running' ? 'not finished' : 'undecided';
  return `${axis}: ${why} after ${report.probes.length} probe${report.probes.length === 1 ? '' : 's'}${report.error ? ` (${report.error})` : ''}${soFar}`;
}

/** The figure that decides the predicted outcome: start-up memory for a kill at start-up, else the load peak, else the worst case. */
function pointFigures(report: Kind, p: ModelPoint, startUp: boolean): string {
  const peak = startUp ? `start-up ${formatBytes(p.startUpBytes)}` : p.loadPeakBytes !== undefined ? `load peak ${formatBytes(p.loadPeakBytes)}` : `worst case ${formatBytes(p.worstCaseBytes)}`;
  return `${peak}${p.limitBytes !== undefined ? ` of ${formatBytes(p.limitBytes)}` : ''} at ${value(report, p.value)}`;
}

function crossingText(report: Kind, c: ModelCrossing): string {
  const where = c.outsideRange ? ', outside the range' : '';
  const startUp = [c.last.outcome, c.first.outcome].includes('oom-killed-at-startup');
  return `${c.last.outcome} up to ${value(report, c.last.value)} (${pointFigures(report, c.last, startUp)}), ${c.first.outcome} from ${value(report, c.first.value)} (${pointFigures(report, c.first, startUp)})${where}`;
}

/** One line: where the memory model puts the boundary, or that it predicts one outcome all along. */
export function modelLine(report: Pick<BisectReport, 'axisKind' | 'model'>): string {
  const m = report.model;
  if (m.unavailable) return `memory model: unavailable (${m.unavailable})`;
  const startUp = m.lo.outcome === 'oom-killed-at-startup';
  const outcome = m.outcome
    ? crossingText(report, m.outcome)
    : `${m.lo.outcome} over the whole range and beyond it, down to ${value(report, report.axisKind === 'size' ? 1024 ** 2 : 1)} and up to 1024 × HI (${pointFigures(report, m.lo, startUp)}; ${pointFigures(report, m.hi, startUp)})`;
  const w = m.worstCase;
  const sameAsOutcome = w && m.outcome && w.last.value === m.outcome.last.value;
  const within = (p: ModelPoint) => (p.limitBytes === undefined || p.worstCaseBytes <= p.limitBytes ? 'within the limit' : 'over the limit');
  const worst = w && !sameAsOutcome ? `; worst case ${within(w.last)} up to ${value(report, w.last.value)}, ${within(w.first)} from ${value(report, w.first.value)}` : '';
  return `memory model: ${outcome}${worst}`;
}

function peakText(p: BisectProbe): string {
  if (p.peakMemoryBytes === undefined) return '–';
  return `${formatBytes(p.peakMemoryBytes)}${p.memoryLimitBytes !== undefined ? ` of ${formatBytes(p.memoryLimitBytes)}` : ''}`;
}

function predictedText(p: BisectProbe): string {
  const load = p.predictedLoadPeakBytes !== undefined ? `load ${formatBytes(p.predictedLoadPeakBytes)}` : '';
  const worst = p.predictedPeakBytes !== undefined ? `worst ${formatBytes(p.predictedPeakBytes)}` : '';
  return [load, worst].filter(Boolean).join(', ') || '–';
}

export function renderBisectMarkdown(report: BisectReport): string {
  const lines = [
    `# bisect: ${report.scenario}, ${report.axis} ${value(report, report.range.lo)}..${value(report, report.range.hi)} (step ${value(report, report.range.step)})`,
    '',
    `Configuration: \`${report.config}\` (any ${report.axis})`,
    '',
    `- **Boundary**: ${boundaryLine(report)}`,
    `- **Predicted**: ${modelLine(report)}`,
    `- ${report.probes.length} runs in ${seconds(report.durationMs)}; ${report.status}${report.error ? ` — ${report.error}` : ''}`,
    '',
    `| # | role | ${report.axis} | outcome | verdict | peak memory | predicted peak | duration | run report |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...report.probes.map(
      (p, i) =>
        `| ${i + 1} | ${p.role} | ${value(report, p.value)} | ${p.outcome ?? '–'} | ${p.verdict} | ${peakText(p)} | ${predictedText(p)} | ${seconds(p.durationMs)} | ${p.reportDir ? `[report](${p.reportDir}/report.md)` : '–'} |`,
    ),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

function bar(p: BisectProbe): SafeHtml {
  if (p.peakMemoryBytes === undefined || !p.memoryLimitBytes) return html``;
  const percent = Math.min(100, (100 * p.peakMemoryBytes) / p.memoryLimitBytes).toFixed(0);
  return html`<div class="bar"><div class="${p.outcome === 'survived' ? 'ok' : 'kill'}" style="width:${percent}%"></div></div>`;
}

export function renderBisectHtml(report: BisectReport): string {
  const page = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bisect ${report.scenario} ${report.axis}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.bar{width:10em;height:.8em;background:#eee}.bar div{height:100%}.ok{background:#4a4}.kill{background:#c33}.flaky{color:#c60;font-weight:bold}</style></head>
<body><h1>bisect: ${report.scenario}, ${report.axis} ${value(report, report.range.lo)}..${value(report, report.range.hi)}</h1>
<p>Configuration: <code>${report.config}</code> (any ${report.axis}), step ${value(report, report.range.step)}</p>
<p class="${report.boundary?.flaky ? 'flaky' : ''}"><b>Boundary</b>: ${boundaryLine(report)}</p>
<p><b>Predicted</b>: ${modelLine(report)}</p>
<p>${report.probes.length} runs in ${seconds(report.durationMs)}; ${report.status}${report.error ? ` — ${report.error}` : ''}</p>
<table><thead><tr><th>#</th><th>role</th><th>${report.axis}</th><th>outcome</th><th>verdict</th><th colspan="2">peak memory</th><th>predicted peak</th><th>duration</th><th>run</th></tr></thead><tbody>
${report.probes.map(
  (p, i) =>
    html`<tr><td>${i + 1}</td><td>${p.role}</td><td>${value(report, p.value)}</td><td>${p.outcome ?? '–'}</td><td>${p.verdict}</td><td>${peakText(p)}</td><td>${bar(p)}</td><td>${predictedText(p)}</td><td>${seconds(p.durationMs)}</td><td>${p.reportDir ? html`<a href="${p.reportDir}/report.html">report</a>` : '–'}</td></tr>`,
)}
</tbody></table></body></html>
`;
  return page.toString();
}

export const BISECT_FILES = {
  'bisect.json': (report: BisectReport) => `${JSON.stringify(report, null, 2)}\n`,
  'bisect.md': renderBisectMarkdown,
  'bisect.html': renderBisectHtml,
} as const satisfies Record<string, (report: BisectReport) => string>;

/** Writes every format; each file appears whole or not at all (write, then rename). */
export async function writeBisectReport(report: BisectReport, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [file, render] of Object.entries(BISECT_FILES)) {
    const path = join(dir, file);
    await writeFile(`${path}.partial`, render(report));
    await rename(`${path}.partial`, path);
  }
}
