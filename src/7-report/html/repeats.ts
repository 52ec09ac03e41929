// Repeats and margins on the page: flaky configurations in a section of their own with each repeat's
// figures, and per configuration how close each judgement came to the other verdict.
import type { ConfigResult, RepeatRun, RunReport } from '../../0-model/report.ts';
import { formatBytes } from '../../0-model/units.ts';
import { isNarrow } from '../../0-model/judgement.ts';
import type { Labelled } from './configs.ts';
import { html, join, type SafeHtml } from './template.ts';
import { badge, swatch } from './verdicts.ts';

function repeatRow(run: RepeatRun): SafeHtml {
  const f = run.figures;
  const peak = f.peakMemoryBytes !== undefined ? `${formatBytes(f.peakMemoryBytes)}${f.memoryLimitBytes ? ` / ${formatBytes(f.memoryLimitBytes)}` : ''}` : '';
  return html`<tr class="${run.verdict}"><td class="num">${run.repeat}</td><td>${badge(run.verdict)}</td><td>${run.outcome ?? run.endedBy}</td><td class="num">${peak}</td><td class="num">${
    f.openFilesLimit ?? ''
  }</td><td class="num">${f.connectionRatio !== undefined ? `${f.connectionRatio}:1` : ''}</td><td class="num">${f.latencyP99Ms !== undefined ? `${Math.round(f.latencyP99Ms)} ms` : ''}</td><td class="num">${(run.durationMs / 1000).toFixed(1)} s</td><td>${marginList(run.margins)}${run.verdict === 'pass' ? '' : html`<div class="reason">${run.reason}</div>`}</td></tr>`;
}

function marginList(margins: ConfigResult['margins']): SafeHtml | undefined {
  if (!margins?.length) return undefined;
  return html`<ul class="margins">${margins.map((m) => html`<li${isNarrow(m) ? html` class="narrow"` : ''}>${m.line}${isNarrow(m) ? ' (narrow)' : ''}</li>`)}</ul>`;
}

/** Each repeat of a configuration, one row each. */
export function repeatTable(config: ConfigResult): SafeHtml | undefined {
  if (!config.repeats?.length) return undefined;
  return html`<h4>Repeats</h4><table class="repeats"><thead><tr><th>#</th><th>verdict</th><th>outcome</th><th>peak memory</th><th>open_files_limit</th><th>B:A</th><th>p99</th><th>duration</th><th>margins</th></tr></thead><tbody>${config.repeats.map(repeatRow)}</tbody></table>`;
}

export function marginsBlock(config: ConfigResult): SafeHtml | undefined {
  const list = marginList(config.margins);
  return list ? html`<h4>Margins: how close each judgement came to the other verdict</h4>${list}` : undefined;
}

/** Neither pass nor fail: listed apart from the verdict table's failures, with what each repeat measured. */
export function renderFlaky(report: RunReport, configs: readonly Labelled[]): SafeHtml | undefined {
  const flaky = configs.filter((c) => c.config.verdict === 'flaky');
  if (flaky.length === 0) return undefined;
  return html`<section id="flaky"><h2>Flaky: the repeats disagreed (${report.summary.flaky ?? flaky.length})</h2>
${join(
  flaky.map(
    ({ config, tag, color, label }) =>
      html`<div class="flaky"><p>${swatch(color)}<a href="#config-${tag.slice(1)}"><strong>${tag}</strong></a> ${label}: ${config.reason}</p>${repeatTable(config)}</div>`,
  ),
  '\n',
)}</section>`;
}
