// The page's header, host facts and the charts' section (the figures; page.ts draws into them).
import type { RunReport } from '../../0-model/report.ts';
import { exploreSummary, isExplore } from '../../0-model/explore.ts';
import type { PeakBar, TimeChart } from './chart-data.ts';
import type { ChartGroup } from './charts.ts';
import type { Labelled } from './configs.ts';
import { html, join, type HtmlValue, type SafeHtml } from './template.ts';
import { emulatedText, formatCount, swatch } from './verdicts.ts';
import { shardLines } from '../../0-model/shards.ts';
import { SIGNATURE_WORDS } from '../../0-model/signature.ts';
import { labSetValuesLine, overridesText } from '../../0-model/set-values.ts';
import { cancelledCount, VERDICT_WORDS } from '../../0-model/verdict-words.ts';
import { labHostLine } from '../../0-model/host.ts';

function yesNo(value: boolean | undefined): string {
  return value === undefined ? 'unknown' : value ? 'yes' : 'no';
}

export function renderHeader(report: RunReport): SafeHtml {
  const { pass, fail, skipped, error, flaky } = report.summary;
  const drivers = [...new Set(report.configs.flatMap((c) => (c.metrics.driver ? [c.metrics.driver] : [])))];
  const ended = report.endedBy !== 'done' ? html`<p class="warning">The run ended by <strong>${report.endedBy}</strong>${report.error ? `: ${report.error}` : ''}</p>` : undefined;
  return html`<header>
<h1><span class="brand">oomlab</span> ${report.scenario}</h1>
<p class="incident">${report.incident}</p>
${overridesText(report) !== undefined ? html`<p class="set-values">Set from the command line: ${overridesText(report)!.replaceAll('`', '')}. Values the file does not list are marked (--set) wherever a configuration is named.</p>` : undefined}
<p class="meta">run <code>${report.runId}</code> · started ${report.startedAt} · ${Math.round(report.durationMs / 1000)} s · <code>${report.scenarioFile}</code>${drivers.length > 0 ? ` · load driver ${drivers.join(', ')}` : ''}</p>
<p class="summary"><span class="count pass">${pass} ${VERDICT_WORDS.pass}</span> <span class="count fail">${fail} ${VERDICT_WORDS.fail}</span>${flaky ? html` <span class="count flaky">${flaky} ${VERDICT_WORDS.flaky}</span>` : ''} <span class="count error">${error - cancelledCount(report.configs)} ${VERDICT_WORDS.error}</span>${cancelledCount(report.configs) ? html` <span class="count error">${cancelledCount(report.configs)} cancelled</span>` : ''} <span class="count skipped">${skipped} ${VERDICT_WORDS.skipped}</span></p>
${join(
  shardLines(report).map((line) => html`<p class="meta">${line.replaceAll('`', '')}</p>`),
  '\n',
)}
${isExplore(report) ? html`<p class="summary">Explore (no <code>expect</code>): ${exploreSummary(report)}</p>` : ''}
${ended}${renderSignature(report)}</header>`;
}

/** Production's kill beside the lab's, when the scenario was made from an incident. */
function renderSignature(report: RunReport): SafeHtml | undefined {
  const signature = report.signature;
  if (!signature) return undefined;
  const rows = signature.rows.map(
    (row) =>
      html`<tr class="${row.match}"><th>${row.figure}${row.decisive ? '' : ' (not decisive)'}</th><td>${row.production}</td><td>${row.lab}</td><td>${row.match === 'unknown' ? '—' : row.match}</td><td>${row.note ?? ''}</td></tr>`,
  );
  return html`<section class="signature ${signature.verdict}">
<h2>${SIGNATURE_WORDS[signature.verdict]}: production's kill beside the lab's</h2>
<p>${signature.summary}</p>${labSetValuesLine(report) !== undefined ? html`<p class="set-values">${labSetValuesLine(report)}</p>` : undefined}
${rows.length > 0 ? html`<table><thead><tr><th>figure</th><th>production</th><th>lab</th><th>match</th><th>note</th></tr></thead><tbody>${join(rows, '\n')}</tbody></table>` : undefined}
</section>`;
}

export function renderHostFacts(report: RunReport, configs: readonly Labelled[]): SafeHtml {
  const host = report.host;
  const emulatedIn = new Map<string, string[]>();
  for (const { config, tag } of configs) {
    for (const fact of config.emulated) emulatedIn.set(emulatedText(fact), [...(emulatedIn.get(emulatedText(fact)) ?? []), tag]);
  }
  const emulated =
    emulatedIn.size === 0
      ? 'nothing'
      : join(
          [...emulatedIn].map(([what, tags]) => `${what} in ${tags.join(', ')}`),
          html`<br>`,
        );
  const images = join(
    report.images.map((i) => {
      const how = i.available
        ? html`available${i.source ? ` (${i.source}${i.builtInMs !== undefined ? ` in ${Math.round(i.builtInMs / 1000)} s` : ''}${i.copiedInMs !== undefined ? ` in ${Math.round(i.copiedInMs / 1000)} s` : ''})` : ''}`
        : html`not available${i.reason ? `: ${i.reason}` : ''}`;
      return html`<code>${i.name}</code> ${how}`;
    }),
    html`<br>`,
  );
  const rows: [string, HtmlValue][] = [
    ...(report.labs ?? (host.lab ? [host.lab] : [])).map((lab) => ['Host', `${labHostLine(lab)} (${lab.accelWhy})`] as [string, string]),
    ['Kernel', host.kernel],
    ['cgroup version', `v${host.cgroupVersion}`],
    ['NUMA nodes', String(host.numaNodes)],
    ['Transparent huge pages', thpText(host.thpMode, report.hostChanges)],
    ['nofile ceiling (hard RLIMIT_NOFILE)', formatCount(host.nofileHardLimit)],
    ['Emulated', emulated],
    ['Kernel log (dmesg) readable', yesNo(host.dmesgReadable)],
    ['bpftrace', yesNo(host.bpftrace)],
    ...(host.memoryController !== undefined ? [['Memory controller', yesNo(host.memoryController)] as [string, string]] : []),
    ...(host.swapAccounting !== undefined ? [['Swap accounting', yesNo(host.swapAccounting)] as [string, string]] : []),
    ...(host.k6 !== undefined ? [['k6 on PATH', yesNo(host.k6)] as [string, string]] : []),
    ...(report.images.length > 0 ? [['Images', images] as [string, SafeHtml]] : []),
  ];
  // Folded: what a reader checks after the answer, not before it.
  return html`<section id="host"><details><summary><h2>Host</h2> <small>kernel ${host.kernel}, cgroup v${host.cgroupVersion}, THP ${host.thpMode}</small></summary>
<table class="facts"><tbody>
${join(
  rows.map(([name, value]) => html`<tr><th scope="row">${name}</th><td>${value}</td></tr>`),
  '\n',
)}
</tbody></table></details></section>`;
}

const PEAKS_FIGURE = html`<figure class="chart wide" id="chart-peaks"><figcaption><strong>Peak memory against the limit</strong> <small>per configuration: the bar is the observed peak, the black tick the limit, the diamond the expected peak (the worst case where the image was not measured)</small></figcaption><canvas id="peaks-canvas"></canvas></figure>`;

function plot(id: string): SafeHtml {
  return html`<div class="plot" id="plot-${id}"></div><div class="readout" id="readout-${id}"></div>`;
}

/** Toggles for a chart's kinds of line (p99, p50, p90): one key instead of a legend entry per configuration. */
function lineKey({ spec }: ChartGroup): SafeHtml | undefined {
  const kinds = spec.lines.filter((line) => line.suffix !== undefined);
  if (kinds.length < 2) return undefined;
  const keys = kinds.map(
    (line) => html`<button type="button" class="line-key ${line.style}" data-chart="${spec.id}" data-line="${line.suffix}" aria-pressed="${line.style !== 'hidden'}">${line.suffix}</button>`,
  );
  return html`<span class="line-keys">${keys}</span>`;
}

/** Which dashed line is which limit, and the limits too far above the lines to draw: said once, beside the chart. */
function limitNote(chart: TimeChart): SafeHtml | undefined {
  const drawn = chart.series.filter((s) => s.limit).map((s) => `${s.label} dashed`);
  const above = (chart.above ?? []).map((label) => `${label} above this scale`);
  const shared = [...new Set(chart.series.flatMap((s) => (s.shared ? [s.shared] : [])))].map((together) => `thin dashed: ${together}, who share that limit`);
  const notes = [...drawn, ...shared, ...above];
  return notes.length > 0 ? html` <small class="limits">${notes.join(' · ')}</small>` : undefined;
}

function figure(group: ChartGroup): SafeHtml {
  const { spec, charts } = group;
  const caption = html`<figcaption><strong>${spec.title}</strong>${spec.note ? html` <small>${spec.note}</small>` : ''}${lineKey(group)}</figcaption>`;
  if (charts.length === 1) {
    const note = limitNote(charts[0]!.chart);
    return html`<figure class="chart" id="chart-${spec.id}">${caption}${note ? html`<p class="limit-line">${note}</p>` : ''}${plot(charts[0]!.chart.id)}</figure>`;
  }
  // Small multiples: one per instance role, side by side, each on the scale of its own lines and limit.
  const multiples = charts.map(({ role, chart }) => html`<div class="multiple"><h3>${role}${limitNote(chart)}</h3>${plot(chart.id)}</div>`);
  return html`<figure class="chart wide" id="chart-${spec.id}">${caption}<div class="multiples" style="--columns:${Math.min(charts.length, 3)}">${multiples}</div></figure>`;
}

/** One legend for every chart: the configurations by colour, each a toggle for its lines everywhere. */
function configLegend(configs: readonly Labelled[], drawn: ReadonlySet<string>): SafeHtml {
  const chips = configs
    .filter((c) => drawn.has(c.tag))
    .map(
      ({ tag, color, shortLabel }) =>
        html`<button type="button" class="config-chip" data-config="${tag}" aria-pressed="true" title="hide or show ${tag}'s lines">${swatch(color)}<strong>${tag}</strong> ${shortLabel}</button>`,
    );
  return html`<div class="config-legend">${chips}</div>`;
}

export function renderCharts(groups: readonly ChartGroup[], peaks: readonly PeakBar[], configs: readonly Labelled[]): SafeHtml {
  const drawnGroups = groups.filter((g) => g.state === 'drawn');
  const figures = [...(peaks.length > 0 ? [PEAKS_FIGURE] : []), ...drawnGroups.map(figure)];
  const drawn = new Set(drawnGroups.flatMap((g) => g.charts.flatMap((c) => c.chart.series.flatMap((s) => (s.config ? [s.config] : [])))));
  const zero = groups.filter((g) => g.state === 'zero');
  const empty = groups.filter((g) => g.state === 'empty' && !g.spec.optional).map((g) => g.spec.title);
  if (peaks.length === 0) empty.unshift('Peak memory against the limit');
  const zeroLine =
    zero.length > 0
      ? html`<p class="no-samples"><strong>Zero throughout</strong> (${zero.map((g) => `${g.spec.title.toLowerCase()}: ${g.charts.reduce((n, c) => n + c.chart.series.reduce((m, s) => m + s.points.length, 0), 0)} samples`).join('; ')})</p>`
      : undefined;
  const emptyLine = empty.length > 0 ? html`<p class="no-samples"><strong>No samples</strong> for ${empty.map((title) => title.toLowerCase()).join(', ')}: those charts are left out.</p>` : undefined;
  const withSteps = drawnGroups.some((g) => g.charts.some((c) => c.chart.steps.length > 0));
  const stepNote = withSteps ? ", solid ones the steps of the scenario's timeline (shaded while their fault is in force; hover a step's name for what it did)" : '';
  return html`<section id="charts"><h2>Over time</h2>
<p class="axis-note">x: seconds since each configuration started; dashed vertical lines mark OOM kills${stepNote}. One colour per configuration (click one to hide or show its lines); hover a chart to read its values.</p>
${drawn.size > 0 ? configLegend(configs, drawn) : undefined}
<div class="charts">
${join(figures, '\n')}
</div>
${zeroLine}${emptyLine}
</section>`;
}

/** THP as read at the start, and where it was not the same at the end, both. */
function thpText(atStart: string, changes: RunReport['hostChanges']): string {
  const change = changes?.find((c) => c.setting === 'THP');
  return change ? `${atStart} at the start, ${change.atEnd} at the end: switched during the run from outside it` : atStart;
}
