// The verdict table: one row per configuration, the axes that vary as columns, sized to fit the window.
import type { ConfigResult, EmulatedFact, RunReport } from '../../0-model/report.ts';
import type { Labelled } from './configs.ts';
import { html, join, type SafeHtml } from './template.ts';
import { MEMORY_MODEL_DOC, peakMemoryText, predictedText, predictionLegend } from '../../0-model/figures.ts';
import { procNofileText } from '../../0-model/proc-nofile.ts';
import { VERDICT_WORDS, verdictWords } from '../../0-model/verdict-words.ts';
import { skipGroups, skipLine } from '../../0-model/answer.ts';

export function formatCount(value: number): string {
  return value >= Number.MAX_SAFE_INTEGER ? 'unlimited' : value.toLocaleString('en-US');
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${Math.round(ms * 10) / 10} ms`;
}

/** The verdict in words a reader cannot misread (`not as expected`, not `fail`); the class keeps report.json's value. */
export function badge(verdict: ConfigResult['verdict'], words: string = VERDICT_WORDS[verdict]): SafeHtml {
  return html`<span class="badge ${verdict}">${words}</span>`;
}

export function swatch(color: string): SafeHtml {
  return html`<span class="swatch" style="background:${color}"></span>`;
}

/** Long snake_case names (`@@open_files_limit`) may break after their underscores in a narrow header. */
function headerText(name: string): SafeHtml {
  return join(name.split('_'), html`_<wbr>`);
}

/** `nofile 1,048,576 for db (real limit 20,000, getrlimit shim)`: what an emulated fact says, in the host table too. */
export function emulatedText(fact: EmulatedFact): string {
  return `${fact.what} ${formatCount(fact.requested)} for ${fact.instance} (real limit ${formatCount(fact.realLimit)}, ${fact.how})`;
}

function decidingEvidence(config: ConfigResult): { reason?: string; evidence?: string } {
  if (config.verdict === 'skipped' || config.verdict === 'error' || config.verdict === 'flaky') return { reason: config.reason };
  const first = config.evidence[0];
  return {
    ...(config.verdict === 'fail' ? { reason: config.reason } : {}),
    ...(first ? { evidence: `${first.source}: ${first.text}` } : {}),
  };
}

function peakCell(config: ConfigResult, color: string): SafeHtml {
  const m = config.metrics;
  const meter =
    m.peakMemoryBytes !== undefined && m.memoryLimitBytes
      ? html`<span class="meter"><span style="width:${Math.min(100, Math.round((m.peakMemoryBytes / m.memoryLimitBytes) * 100))}%;background:${color}"></span></span>`
      : undefined;
  const text = peakMemoryText(m);
  // What stands beside the peak (page cache, rss) goes on its own line: one long nowrap figure widened the table past a laptop's width.
  const cut = text?.indexOf(' (') ?? -1;
  const [figure, beside] = text !== undefined && cut > 0 ? [text.slice(0, cut), text.slice(cut + 1)] : [text, undefined];
  const peak = figure !== undefined ? html`${meter}${figure}${beside !== undefined ? html`<br><small>${beside}</small>` : undefined}` : undefined;
  const predictedLine = predictedText(m);
  const predicted = predictedLine !== undefined ? html`<br><small class="predicted">${predictedLine}</small>` : undefined;
  return html`<td class="num">${peak}${predicted}</td>`;
}

function row(
  { config, tag, color }: Labelled,
  axes: readonly string[],
  columns: { withLoad: boolean; withRatio: boolean; withFiles: boolean; withRanOn: boolean },
  regressed: string[] | undefined,
): SafeHtml {
  const m = config.metrics;
  // The mark says what the data says was emulated in this configuration, whichever axis asked for it.
  const emulated = config.emulated.length > 0 ? html`<abbr class="emulated" title="emulated: ${config.emulated.map(emulatedText).join('; ')}">*</abbr>` : undefined;
  const expected = Object.entries(config.expected);
  const expectedText = expected.length > 1 ? expected.map(([instance, outcome]) => `${instance}: ${outcome}`).join(', ') : expected.map(([, outcome]) => outcome).join('');
  const errors = Object.entries(m.errorsByCode ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}: ${n}`);
  const { reason, evidence } = decidingEvidence(config);
  const cells = [
    html`<td class="tag"><a href="#config-${tag.slice(1)}">${swatch(color)}${tag}</a>${emulated}</td>`,
    ...axes.map((axis) => html`<td>${String(config.axes[axis])}</td>`),
    ...(columns.withRanOn ? [html`<td><code>${config.ranOn ?? ''}</code></td>`] : []),
    // The expectation only where it differs: a matching one repeats the outcome on every row.
    html`<td class="outcome">${config.outcome ?? '—'}${expectedText && expectedText !== config.outcome ? html`<br><small>expected ${expectedText}</small>` : ''}</td>`,
    html`<td>${badge(config.verdict, verdictWords(config))}${regressed ? html` <span class="badge regressed" title="${regressed.join('; ')}">regressed</span>` : ''}</td>`,
    peakCell(config, color),
    ...(columns.withFiles ? [html`<td class="num">${m.openFilesLimit !== undefined ? formatCount(m.openFilesLimit) : ''}${procLine(config)}</td>`] : []),
    ...(columns.withLoad
      ? [
          html`<td class="num">${m.peakConnections !== undefined ? formatCount(m.peakConnections) : ''}</td>`,
          html`<td class="num">${m.latencyMs ? formatMs(m.latencyMs.p99) : ''}</td>`,
          html`<td class="errors">${join(errors, html`<br>`)}</td>`,
        ]
      : []),
    ...(columns.withRatio ? [html`<td class="num">${m.connectionRatio !== undefined ? `${m.connectionRatio.toFixed(1)}:1` : ''}</td>`] : []),
  ];
  // The deciding evidence gets a row of its own under the figures, the table's whole width: the longest text
  // in the table no longer squeezes the columns beside it, and the table fits the window.
  const said =
    reason !== undefined || evidence !== undefined
      ? html`<tr class="evidence-row ${config.verdict}"><td class="tag"></td><td class="evidence" colspan="${cells.length - 1}">${reason !== undefined ? html`<div class="reason">${reason}</div>` : ''}${evidence !== undefined ? html`<code>${evidence}</code>` : ''}</td></tr>`
      : undefined;
  return html`<tr class="${config.verdict}">${cells}</tr>${said}`;
}

/** Under @@open_files_limit, the nofile the runtime gave the server: /proc/<pid>/limits, soft / hard. */
function procLine(config: ConfigResult): SafeHtml | undefined {
  const text = procNofileText(config.observations);
  return text !== undefined ? html`<br><small title="Max open files in /proc/&lt;pid&gt;/limits once it started">nofile ${text}</small>` : undefined;
}

/** `* nofile above 20,000 is emulated (getrlimit shim) in #4, #5`: one line per kind of emulation, from the facts. */
function emulationFootnote(configs: readonly Labelled[]): SafeHtml | undefined {
  const groups = new Map<string, string[]>();
  for (const { config, tag } of configs) {
    for (const fact of config.emulated) {
      const what = `${fact.what} above ${formatCount(fact.realLimit)} is emulated (${fact.how})`;
      const tags = groups.get(what) ?? [];
      if (!tags.includes(tag)) groups.set(what, [...tags, tag]);
    }
  }
  if (groups.size === 0) return undefined;
  const lines = [...groups].map(([what, tags]) => `* ${what} in ${tags.join(', ')}: the container's real limit stays at the host's ceiling.`);
  return html`<p class="footnote">${join(lines, html`<br>`)}</p>`;
}

/** What `expected` and `worst case` under a peak mean, said under the table that first shows them. */
function predictionFootnote(configs: readonly Labelled[]): SafeHtml | undefined {
  const legend = predictionLegend(configs.filter((c) => c.config.verdict !== 'skipped').map((c) => c.config.metrics));
  if (legend.length === 0) return undefined;
  return html`<p class="footnote legend">Peak memory: ${join(
    legend.map((l) => html`<strong>${l.term}</strong>: ${l.meaning}`),
    '; ',
  )} (${MEMORY_MODEL_DOC}).</p>`;
}

function baselineNote(report: RunReport, configs: readonly Labelled[]): SafeHtml | undefined {
  const baseline = report.baseline;
  if (!baseline) return undefined;
  const tagOf = new Map(configs.map((c) => [c.config.id, c.tag]));
  const list =
    baseline.regressions.length > 0
      ? html`<ul class="regressions">${baseline.regressions.map((r) => html`<li>${tagOf.get(r.configId) ?? r.configId}: ${r.what} ${r.before} → ${r.after}</li>`)}</ul>`
      : undefined;
  const count = baseline.regressions.length === 0 ? 'no regressions' : `${baseline.regressions.length} regression(s)`;
  return html`<p class="baseline">Against baseline run <code>${baseline.baselineRunId}</code> (${baseline.compared} compared): ${count}.</p>${list}`;
}

export function renderVerdictTable(report: RunReport, configs: readonly Labelled[], axes: readonly string[]): SafeHtml {
  const sameForAll = Object.keys(report.configs[0]?.axes ?? {}).filter((axis) => !axes.includes(axis));
  const columns = {
    withLoad: report.configs.some((c) => c.metrics.latencyMs !== undefined),
    withRatio: report.configs.some((c) => c.metrics.connectionRatio !== undefined),
    // A scenario that never reads @@open_files_limit keeps the table narrow (a laptop's 1366 px).
    withFiles: report.configs.some((c) => c.metrics.openFilesLimit !== undefined),
    // The scenario put its configurations on several hosts (lab VMs of different shapes): where each ran.
    withRanOn: report.configs.some((c) => c.ranOn !== undefined),
  };
  const regressions = new Map<string, string[]>();
  for (const r of report.baseline?.regressions ?? []) regressions.set(r.configId, [...(regressions.get(r.configId) ?? []), `${r.what} ${r.before} → ${r.after}`]);
  const headers = [
    '#',
    ...axes.map(headerText),
    ...(columns.withRanOn ? ['ran on'] : []),
    'outcome',
    'verdict',
    'peak memory / limit',
    ...(columns.withFiles ? [headerText('@@open_files_limit')] : []),
    ...(columns.withLoad ? ['peak connections', 'query p99', 'errors'] : []),
    ...(columns.withRatio ? ['B:A connections'] : []),
  ];
  const common =
    sameForAll.length > 0
      ? html`<p class="common">Every configuration: ${join(
          sameForAll.map((axis) => html`${axis}=<code>${String(report.configs[0]!.axes[axis])}</code>`),
          ' · ',
        )}</p>`
      : undefined;
  return html`<section id="verdicts"><h2>Verdicts</h2>
${common}
<div class="table-wrap"><table class="verdicts">
<thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead>
<tbody>
${join(
  configs.filter((c) => c.config.verdict !== 'skipped').map((c) => row(c, axes, columns, regressions.get(c.config.id))),
  '\n',
)}
${skipGroups(report.configs).map((group) => html`<tr class="skipped-group"><td class="tag">${badge('skipped')}</td><td colspan="${headers.length - 1}">${skipLine(group)}</td></tr>`)}
</tbody></table></div>
${emulationFootnote(configs)}${predictionFootnote(configs)}${baselineNote(report, configs)}</section>`;
}
