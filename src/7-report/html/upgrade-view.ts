// The upgrade view: server versions as rows, the other axes as columns, the verdict and peak in each cell.
import type { RunReport } from '../../0-model/report.ts';
import { cellText, fileTableText, splitRanRows, versionView } from '../../0-model/version-view.ts';
import { html, join, type SafeHtml } from './template.ts';

export function renderUpgradeView(report: RunReport): SafeHtml | undefined {
  const view = versionView(report);
  if (!view) return undefined;
  const withProbe = view.rows.some((r) => r.fileTable);
  // Values only, one per line: the axes are named once in the corner, so eight columns fit 1400 px.
  const axes = Object.keys(view.columns[0]?.axes ?? {});
  const head = view.columns.map((c) => html`<th>${join(Object.values(c.axes).map(String), html`<br>`)}</th>`);
  const { rows: ran, notRun } = splitRanRows(view.rows);
  const rows = ran.map(
    (row) =>
      html`<tr><th scope="row"><code>${row.image}</code></th>${withProbe ? html`<td>${row.fileTable ? fileTableText(row.fileTable) : '—'}</td>` : undefined}${row.cells.map(
        (c) => html`<td class="${c?.verdict ?? 'none'}${c?.outcome?.startsWith('oom-killed') ? ' killed' : ''}">${cellText(c)}</td>`,
      )}</tr>`,
  );
  // Folded under its ticket lines; the table's fixed layout wraps its cells instead of widening the page.
  return html`<section id="upgrade-view"><h2>Upgrade view</h2>
<ul class="ticket">${ran.map((row) => html`<li>${row.line}</li>`)}${notRun.length > 0 ? html`<li>Not run here: ${notRun.map((row) => row.image).join(', ')} (why and what to do: under Verdicts).</li>` : undefined}</ul>
<details><summary>One row per server, one column per configuration (${view.columns.length})</summary>
<table class="upgrade"><thead><tr><th>server<br><small>${axes.join(' / ')}</small></th>${withProbe ? html`<th>file table (probe)</th>` : undefined}${head}</tr></thead><tbody>${rows}</tbody></table>
</details>
</section>`;
}
