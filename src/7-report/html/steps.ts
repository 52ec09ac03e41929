// The chaos timeline on the page: each step as a marker (and a span while its fault is in force) on the
// charts of its configuration, and as a table of its phases in the configuration's panel.
import type { ObservationOf, StepPhase } from '../../0-model/observation.ts';
import type { ConfigResult } from '../../0-model/report.ts';
import type { StepMark } from './chart-data.ts';
import { html, type SafeHtml } from './template.ts';

type StepObservation = ObservationOf<'step'>;

/** Faults that stay in force after their action returns, until undone: shaded to the end when no undo was recorded. */
const IN_FORCE = new Set(['pause', 'limit', 'network', 'neighbour', 'cpu-hog', 'thp']);

export function stepObservations(config: ConfigResult): StepObservation[] {
  return config.observations.filter((o): o is StepObservation => o.kind === 'step').sort((a, b) => a.t - b.t);
}

/** A step as a chart marks it: from its start, to its undo (or `open` to the end) when it left a fault in force. */
export interface StepSpan {
  step: string;
  action: string;
  instance?: string;
  t: number;
  end?: number;
  open: boolean;
  outcome: 'done' | 'failed' | 'timeout';
  detail: string;
}

/** One span per step that started; a skipped step never ran and is only in the table. */
export function stepSpans(config: ConfigResult): StepSpan[] {
  const byStep = new Map<string, StepObservation[]>();
  for (const o of stepObservations(config)) byStep.set(o.step, [...(byStep.get(o.step) ?? []), o]);
  const spans: StepSpan[] = [];
  for (const [step, phases] of byStep) {
    const of = (phase: StepPhase) => phases.find((o) => o.phase === phase);
    const start = of('start');
    if (!start) continue;
    const outcome = of('failed') ? 'failed' : of('timeout') ? 'timeout' : 'done';
    const undo = of('undo');
    const inForce = outcome === 'done' && of('done') !== undefined && IN_FORCE.has(start.action);
    spans.push({
      step,
      action: start.action,
      ...(start.instance !== undefined ? { instance: start.instance } : {}),
      t: start.t,
      ...(undo ? { end: undo.t } : {}),
      open: !undo && inForce,
      outcome,
      detail: (of('failed') ?? of('timeout') ?? of('done') ?? start).detail,
    });
  }
  return spans;
}

const OUTCOME_SUFFIX = { done: '', failed: ' failed', timeout: ' timed out' } as const;

/** The chart's markers of one configuration: times in seconds, like the lines. */
export function stepMarks(config: ConfigResult, tag: string, color: string): StepMark[] {
  return stepSpans(config).map((s) => ({
    step: s.step,
    t: Math.round(s.t) / 1000,
    ...(s.end !== undefined ? { end: Math.round(s.end) / 1000 } : {}),
    ...(s.open ? { open: true } : {}),
    label: `${s.step}${OUTCOME_SUFFIX[s.outcome]}`,
    title: `${tag} ${s.step}: ${s.action}${s.instance ? ` on ${s.instance}` : ''}${s.outcome === 'done' ? '' : ` (${s.outcome})`} — ${s.detail}`,
    color,
    config: tag,
    ...(s.outcome !== 'done' ? { failed: true } : {}),
  }));
}

function seconds(t: number): string {
  return `${(t / 1000).toFixed(1)} s`;
}

/** Every phase of every step, in time order; a failed or timed-out step's output under its row. */
export function renderStepTable(config: ConfigResult): SafeHtml | undefined {
  const steps = stepObservations(config);
  if (steps.length === 0) return undefined;
  const rows = steps.map((o) => {
    const bad = o.phase === 'failed' || o.phase === 'timeout';
    const output = o.output ? html`<details class="step-output"><summary>output</summary><pre>${o.output}</pre></details>` : '';
    return html`<tr class="${o.phase}"><td class="num">${seconds(o.t)}</td><td><strong>${o.step}</strong></td><td>${o.action}</td><td>${o.instance ?? '—'}</td><td class="phase${bad ? ' bad' : ''}">${o.phase}</td><td>${o.detail}${output}</td></tr>`;
  });
  return html`<h4>Timeline</h4><table class="steps"><thead><tr><th>time</th><th>step</th><th>action</th><th>instance</th><th>phase</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table>`;
}
