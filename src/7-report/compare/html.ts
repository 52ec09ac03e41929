// compare.html, self-contained. It escapes with its own small helper until the report's html template
// tag (src/7-report/html/) is merged; then both use the one tag.
import type { RunComparison } from './pair.ts';
import { columnsOf, describeSide, flakyOf, headers, rowCells, summaryLine, unpaired } from './cells.ts';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Backticks in the shared wording become <code>; everything else is escaped text. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]*)`/g, '<code>$1</code>');
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f}
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #d0d0d5;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f6}td{white-space:nowrap}td.id{white-space:normal;max-width:36em}td.changed{background:#fff4cc;font-weight:600}code{font-size:12px}
blockquote{margin:8px 0;padding:4px 12px;border-left:4px solid #8aa4d6;background:#f4f7fc}`;

export function renderCompareHtml(comparison: RunComparison): string {
  const columns = columnsOf(comparison);
  const title = `oomlab compare: ${comparison.a.scenario} ↔ ${comparison.b.scenario}`;
  const body: string[] = [];
  body.push(`<h1>${escapeHtml(title)}</h1>`);
  body.push(`<ul><li><b>A</b>: ${prose(describeSide(comparison.a))}</li><li><b>B</b>: ${prose(describeSide(comparison.b))}</li></ul>`);
  for (const note of comparison.notes) body.push(`<blockquote>${prose(note)}</blockquote>`);
  body.push(`<p><b>${prose(summaryLine(comparison))}</b></p>`);
  if (comparison.pairs.length > 0) {
    const rows = comparison.pairs.map((pair) => {
      // The id may break after each comma; figures never break.
      const cells = rowCells(pair, columns).map((c, i) =>
        i === 0 ? `<td class="id"><code>${escapeHtml(c.text).replace(/,/g, ',<wbr>')}</code></td>` : `<td${c.changed ? ' class="changed"' : ''}>${escapeHtml(c.text)}</td>`,
      );
      return `<tr>${cells.join('')}</tr>`;
    });
    body.push(
      `<table><thead><tr>${headers(columns)
        .map((h) => `<th>${escapeHtml(h)}</th>`)
        .join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`,
    );
  }
  for (const [label, configs] of [
    ['A', comparison.onlyA],
    ['B', comparison.onlyB],
  ] as const) {
    if (configs.length === 0) continue;
    body.push(`<h2>Only in ${label} (${configs.length})</h2><ul>${configs.map((c) => `<li><code>${escapeHtml(unpaired(c))}</code></li>`).join('')}</ul>`);
  }
  for (const { label, config, repeats } of flakyOf(comparison)) {
    body.push(`<h2>Flaky in ${label}: <code>${escapeHtml(config.id)}</code></h2><p>${escapeHtml(config.reason)}</p><ul>${repeats.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
