// A survival is a clean pass only when the load was served: a configuration that survived because the storm
// barely ran, because it refused clients, or while its latency ballooned, says so beside its verdict.
import type { ConfigMetrics, ConfigResult, LoadCaveat } from './report.ts';

export type { LoadCaveat };

/** Below this share of the sessions (requests) asked for completing, the load barely ran. */
export const COMPLETED_AT_LEAST = 0.5;
/** From this share of started sessions failing, the clients were not served. */
export const FAILED_AT_MOST = 0.05;
/** A query p99 from 5 s is an outage to an application, whatever the memory did. */
export const SLOW_P99_MS = 5_000;
/** Codes of a server that turned a client away rather than failing mid-query. */
const REFUSALS = /^(1040|1203|1129|1226|ECONNREFUSED)\b/;

const n = (value: number) => value.toLocaleString('en-US');

function codesText(errorsByCode: Record<string, number>): string {
  return Object.entries(errorsByCode)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([code, count]) => `${code} ×${n(count)}`)
    .join(', ');
}

/**
 * What a configuration's load figures say against a clean pass; empty when it was served, or when no load ran.
 * `ownP99`: the scenario bounds p99 itself (its statements are slow on purpose, e.g. they sleep holding memory), so that
 * judged bound, not the 5 s default, says whether the latency was acceptable.
 */
export function loadCaveats(metrics: Pick<ConfigMetrics, 'sessions' | 'requests' | 'errorsByCode' | 'latencyMs'>, options: { ownP99?: boolean } = {}): LoadCaveat[] {
  const counts = metrics.sessions ?? metrics.requests;
  if (!counts || counts.intended === 0) return [];
  const unit = metrics.sessions ? 'sessions' : 'requests';
  const caveats: LoadCaveat[] = [];
  const failing = counts.failed > 0 && counts.failed >= FAILED_AT_MOST * Math.max(1, counts.started);
  if (counts.completed < COMPLETED_AT_LEAST * counts.intended) {
    const why = [
      counts.dropped > 0 ? `${n(counts.dropped)} waited at the in-flight cap and never started` : '',
      counts.unfinished > 0 ? `${n(counts.unfinished)} still running at the drain deadline` : '',
      // Failures many enough are a caveat of their own, with their codes.
      counts.failed > 0 && !failing ? `${n(counts.failed)} failed` : '',
    ].filter(Boolean);
    caveats.push({ kind: 'barely-ran', text: `only ${n(counts.completed)} of ${n(counts.intended)} ${unit} the load asked for completed${why.length > 0 ? `: ${why.join(', ')}` : ''}` });
  }
  if (failing) {
    const codes = metrics.errorsByCode ?? {};
    const refused = Object.keys(codes).length > 0 && Object.keys(codes).every((code) => REFUSALS.test(code));
    const listed = codesText(codes);
    caveats.push({
      kind: 'refused',
      text: `${refused ? 'the server refused ' : ''}${n(counts.failed)} of ${n(counts.started)} ${unit}${refused ? '' : ' failed'}${listed ? ` (${listed})` : ''}`,
    });
  }
  const p99 = metrics.latencyMs?.p99;
  if (p99 !== undefined && p99 >= SLOW_P99_MS && !options.ownP99) caveats.push({ kind: 'slow', text: `query p99 ${(p99 / 1000).toFixed(1)} s` });
  return caveats;
}

/** A survivor's caveats: the judge's record, or for a report written before it was kept, the same rule. */
export function caveatsOf(config: ConfigResult): LoadCaveat[] {
  if (config.outcome !== 'survived') return [];
  return config.loadCaveats ?? loadCaveats(config.metrics);
}

/** `only 34 of 1,500 sessions the load asked for completed; it refused 1,466 of 1,500 sessions (1040 ER_CON_COUNT_ERROR ×1,466)`. */
export function caveatText(caveats: readonly LoadCaveat[]): string {
  return caveats.map((c) => c.text).join('; ');
}
