// The upgrade view: server versions as rows, the other axes as columns, the verdict and peak in each cell.
import type { RunReport } from '../../0-model/report.ts';
import { cellText, fileTableText, versionView } from '../../0-model/version-view.ts';
import { html, type SafeHtml } from './template.ts';

export function renderUpgradeView(report: RunReport): SafeHtml | undefined {
  const view = versionView(report);
  if (!view) return undefined;
  const withProbe = view.rows.some((r) => r.fileTable);
  const head = view.columns.map((c) => html`<th>${Object.entries(c.axes).map(([axis, value]) => `${axis}=${value}`).join(' ')}</th>`);
  const rows = view.rows.map(
    (row) => html`<tr><th scope="row"><code>${row.image}</code></th>${withProbe ? html`<td>${row.fileTable ? fileTableText(row.fileTable) : '—'}</td>` : undefined}${row.cells.map(
      (c) => html`<td class="${c?.verdict ?? 'none'}">${cellText(c)}</td>`,
    )}</tr>`,
  );
  return html`<section id="upgrade-view"><h2>Upgrade view</h2>
<table class="upgrade"><thead><tr><th>server</th>${withProbe ? html`<th>file table (probe)</th>` : undefined}${head}</tr></thead><tbody>${rows}</tbody></table>
<p>For a change ticket:</p>
<ul class="ticket">${view.rows.map((row) => html`<li>${row.line}</li>`)}</ul>
</section>`;
}
