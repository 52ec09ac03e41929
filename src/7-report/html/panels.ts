// One evidence panel per configuration: what decided it, the kernel's and the engine's words, the server's log.
import { EVIDENCE } from '../../0-model/evidence.ts';
import { formatWith, type Observation, type ObservationOf } from '../../0-model/observation.ts';
import type { ConfigResult } from '../../0-model/report.ts';
import { formatBytes } from '../../0-model/units.ts';
import { semaphoreBlocks } from '../../0-model/semaphore-text.ts';
import { instanceOrder, type Labelled } from './configs.ts';
import { html, join, type SafeHtml } from './template.ts';
import { renderStepTable } from './steps.ts';
import { badge, swatch } from './verdicts.ts';
import { marginsBlock, repeatTable } from './repeats.ts';

function pre(text: string, className?: string): SafeHtml {
  return className ? html`<pre class="${className}">${text}</pre>` : html`<pre>${text}</pre>`;
}

const NONE = html`<p class="none">none</p>`;

function at(o: Observation): string {
  return `${(o.t / 1000).toFixed(3)} s`;
}

/** Per server: where its threads waited and its last section with waits, or why it cannot list any. */
function renderSemaphores(config: ConfigResult): SafeHtml {
  const blocks = semaphoreBlocks(config);
  if (blocks.length > 0) {
    return join(
      blocks.map(
        (b) => html`<p class="instance">${b.instance}</p>${b.quiet ? html`<p class="none">${b.heading}</p>` : html`<p>${b.heading}</p>${pre(b.sites.join('\n'))}${b.excerpt ? pre(b.excerpt) : ''}`}`,
      ),
      '',
    );
  }
  // A report written before the summary: the last section with waits per instance, else the excerpt.
  const order = instanceOrder(config);
  const withWaits = order.flatMap((instance) => {
    const last = config.observations.findLast((o): o is ObservationOf<'innodb-status'> => o.kind === 'innodb-status' && o.instance === instance && o.semaphoreWaits.length > 0);
    return last ? [last] : [];
  });
  if (withWaits.length > 0)
    return join(
      withWaits.map((o) => html`${order.length > 1 ? html`<p class="instance">${o.instance} at ${at(o)}</p>` : ''}${pre(o.excerpt)}`),
      '',
    );
  const excerpt = config.metrics.innodbSemaphoreExcerpt;
  if (excerpt) return pre(excerpt);
  return excerpt === '' ? html`<p class="none">empty</p>` : html`<p class="none">not sampled</p>`;
}

function instanceTable(config: ConfigResult): SafeHtml | undefined {
  if (config.instances.length <= 1) return undefined;
  const rows = config.instances.map((i) => {
    const peak = i.peakMemoryBytes !== undefined ? `${formatBytes(i.peakMemoryBytes)}${i.memoryLimitBytes ? ` / ${formatBytes(i.memoryLimitBytes)}` : ''}` : '';
    return html`<tr><td>${i.instance}</td><td>${i.outcome}</td><td>${badge(i.verdict)}</td><td class="num">${peak}</td><td>${i.reason}</td></tr>`;
  });
  return html`<table class="instances"><thead><tr><th>instance</th><th>outcome</th><th>verdict</th><th>peak memory</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Every kind through the model's per-kind evidence text: a new kind shows up here without edits. */
function timeline(config: ConfigResult): SafeHtml {
  const events = config.observations.flatMap((o) => {
    const line = formatWith(EVIDENCE, o);
    return line ? [`[${at(o)}] ${'instance' in o ? `${o.instance} ` : ''}${line.source}: ${line.text}`] : [];
  });
  const leftOut = config.observations.length - events.length;
  return html`<details class="timeline"><summary>All events: ${events.length} events (${leftOut} samples, quiet InnoDB reads and log tails left out)</summary>${pre(events.join('\n'))}</details>`;
}

function eventLine(o: Observation): string {
  if (o.kind === 'step') return `[${at(o)}] step ${o.step} (${o.action}${o.instance ? ` on ${o.instance}` : ''}) ${o.phase}: ${o.detail}`;
  return `[${at(o)}] ${'instance' in o ? o.instance : ''}: ${formatWith(EVIDENCE, o)?.text ?? o.kind}`;
}

export function renderEvidencePanel({ config, tag, color, label }: Labelled): SafeHtml {
  const id = `config-${tag.slice(1)}`;
  const reason = html`<p class="reason">${config.reason || '—'}</p>`;
  if (config.verdict === 'skipped') {
    return html`<details class="panel" id="${id}"><summary>${swatch(color)}<strong>${tag}</strong> ${label} ${badge(config.verdict)}</summary>${reason}<p class="id"><code>${config.id}</code></p></details>`;
  }
  const kernel = config.observations.filter((o) => o.kind === 'kernel-oom');
  // The steps among the engine's events: a reader sees the limit lowered, then the die.
  const docker = config.observations.filter((o) => o.kind === 'docker-event' || o.kind === 'container-state' || o.kind === 'step').sort((a, b) => a.t - b.t);
  const withSteps = docker.some((o) => o.kind === 'step');
  const logs = config.observations.filter((o) => o.kind === 'server-log');
  const logText = config.serverLogTail ?? (logs.length > 1 ? logs.map((o) => `--- ${o.instance} ---\n${o.tail}`).join('\n') : logs[0]?.tail);
  const parts = [
    reason,
    html`<p class="id"><code>${config.id}</code> · ${Math.round(config.durationMs / 1000)} s · ended by ${config.endedBy}</p>`,
    instanceTable(config),
    marginsBlock(config),
    repeatTable(config),
    renderStepTable(config),
    config.evidence.length > 0 ? html`<h4>Deciding evidence</h4>${pre(config.evidence.map((e) => `${e.source}: ${e.text}`).join('\n'))}` : undefined,
    html`<h4>Kernel OOM lines</h4>${kernel.length > 0 ? pre(kernel.map((o) => `[${at(o)}] ${o.instance}: ${o.line}`).join('\n'), 'kernel') : NONE}`,
    html`<h4>Docker events${withSteps ? ' and steps' : ''}</h4>${docker.length > 0 ? pre(docker.map(eventLine).join('\n')) : NONE}`,
    html`<h4>InnoDB semaphores</h4>${renderSemaphores(config)}`,
    html`<h4>Server log tail</h4>${logText ? pre(logText, 'log') : NONE}`,
    timeline(config),
  ];
  const open = config.verdict === 'fail' || config.verdict === 'error' || config.verdict === 'flaky';
  return html`<details class="panel" id="${id}"${open ? html` open` : ''}><summary>${swatch(color)}<strong>${tag}</strong> ${label} ${badge(config.verdict)} <span class="outcome">${config.outcome ?? '—'}</span></summary>${join(
    parts.filter((part) => part !== undefined),
    '\n',
  )}</details>`;
}
