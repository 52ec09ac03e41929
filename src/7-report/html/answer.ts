// The top of report.html: the answer in a sentence per claim, then the configurations ranked by headroom.
import type { RunReport } from '../../0-model/report.ts';
import { type Answer, answerOf, headroomText, type Part, peakText } from '../../0-model/answer.ts';
import { outcomeWords } from '../../0-model/verdict-words.ts';
import type { Labelled } from './configs.ts';
import { html, join, type SafeHtml } from './template.ts';
import { badge, swatch } from './verdicts.ts';

function parts(list: readonly Part[]): SafeHtml {
  return join(
    list.map((p) => (typeof p === 'string' ? p : html`<code>${p.code}</code>`)),
    '',
  );
}

export function renderAnswer(report: RunReport, configs: readonly Labelled[], answer: Answer = answerOf(report)): SafeHtml | undefined {
  if (answer.headlines.length === 0) return undefined;
  const byId = new Map(configs.map((c) => [c.config.id, c]));
  const ranked = answer.ranking.filter((r) => r.peakBytes !== undefined);
  const anonymous = ranked.some((r) => r.anonymous);
  const rows = ranked.map((r, i) => {
    const labelled = byId.get(r.config.id);
    const tag = labelled ? html`<a href="#config-${labelled.tag.slice(1)}">${swatch(labelled.color)}${labelled.tag}</a>` : '';
    const share = r.headroomBytes !== undefined && r.limitBytes ? Math.max(0, Math.min(100, Math.round((r.headroomBytes / r.limitBytes) * 100))) : 0;
    return html`<tr class="${r.config.verdict}${r.killed ? ' killed' : ''}"><td class="num">${i + 1}</td><td class="tag">${tag}</td><td>${r.label}${r.caveat ? html`<br><small class="caveat">but ${r.caveat}</small>` : ''}${r.loadCaveat ? html`<br><small class="caveat">but not a clean pass: ${r.loadCaveat}</small>` : ''}</td><td>${outcomeWords(r.config.outcome)}</td><td>${badge(r.config.verdict)}</td><td class="num">${peakText(r)}</td><td class="num"><span class="meter"><span style="width:${share}%;background:var(--pass)"></span></span>${headroomText(r)}</td></tr>`;
  });
  return html`<section id="answer"><h2>The answer</h2>
<ul class="headlines">${answer.headlines.map((h) => html`<li class="${h.tone}"><strong>${h.lead}</strong> ${parts(h.parts)}</li>`)}</ul>
${
  rows.length > 0
    ? html`<h3>Ranked by headroom <small>the ${anonymous ? 'anonymous ' : ''}peak against the limit; killed last</small></h3>
<table class="ranking"><thead><tr><th>rank</th><th>#</th><th>configuration <small>(what differs from the incident's)</small></th><th>outcome</th><th>verdict</th><th>peak / limit</th><th>headroom</th></tr></thead><tbody>${rows}</tbody></table>`
    : undefined
}
</section>`;
}
