// report.html: one self-contained page read by a person; it reads the result model (0-model) and nothing above it.
import type { RunReport } from '../../0-model/report.ts';
import { pageAssets } from './assets.ts';
import type { ChartData } from './chart-data.ts';
import { buildCharts, peakBars } from './charts.ts';
import { labelConfigs, varyingAxes } from './configs.ts';
import { renderEvidencePanel } from './panels.ts';
import { renderCharts, renderHeader, renderHostFacts } from './sections.ts';
import { html, join, trusted } from './template.ts';
import { renderUpgradeView } from './upgrade-view.ts';
import { renderVerdictTable } from './verdicts.ts';
import { renderFlaky } from './repeats.ts';
import { renderAnswer } from './answer.ts';

/** JSON inside <script>: `</script` or `<!--` in a log line must not end or bend the block. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/<\//g, '<\\/').replace(/<!--/g, '\\u003c!--');
}

/** report.html: one file, viewable offline. Pure: the same report gives the same bytes. */
export function renderHtml(report: RunReport): string {
  const axes = varyingAxes(report);
  const configs = labelConfigs(report, axes);
  const groups = buildCharts(configs);
  const peaks = peakBars(configs);
  const data: ChartData = { charts: groups.filter((g) => g.state === 'drawn').flatMap((g) => g.charts.map((c) => c.chart)), peaks };
  const assets = pageAssets();
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>oomlab · ${report.scenario} · ${report.runId}</title>
<style>${assets.uplotStyle}</style>
<style>${assets.pageStyle}</style>
</head>
<body>
<main>
${renderHeader(report)}
${renderAnswer(report, configs)}
${renderVerdictTable(report, configs, axes)}
${renderUpgradeView(report)}
${renderFlaky(report, configs)}
${renderCharts(groups, peaks, configs)}
<section id="evidence"><h2>Evidence</h2>
${join(configs.map(renderEvidencePanel), '\n')}
</section>
${renderHostFacts(report, configs)}
</main>
<script type="application/json" id="oomlab-chart-data">${trusted(scriptJson(data))}</script>
<script>${assets.uplotScript}</script>
<script>${assets.pageScript}</script>
</body>
</html>
`.toString();
}
