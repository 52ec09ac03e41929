// `--repeat K`: one verdict from K runs of a configuration. pass or fail only when all K ran and agree;
// `flaky` when some passed and some failed; `error` when any repeat could not be decided (timeout,
// engine, cancel) and the decided ones agree, because agreement was then not shown K times.
import type { ConfigResult, RepeatFigures, RepeatRun } from '../0-model/report.ts';

export function repeatFigures(result: ConfigResult): RepeatFigures {
  const m = result.metrics;
  return {
    ...(m.openFilesLimit !== undefined ? { openFilesLimit: m.openFilesLimit } : {}),
    ...(m.peakMemoryBytes !== undefined ? { peakMemoryBytes: m.peakMemoryBytes } : {}),
    ...(m.memoryLimitBytes !== undefined ? { memoryLimitBytes: m.memoryLimitBytes } : {}),
    ...(m.peakRssBytes !== undefined ? { peakRssBytes: m.peakRssBytes } : {}),
    ...(m.peakConnections !== undefined ? { peakConnections: m.peakConnections } : {}),
    ...(m.connectionRatio !== undefined ? { connectionRatio: m.connectionRatio } : {}),
    ...(m.latencyMs && m.latencyMs.count > 0 ? { latencyP99Ms: m.latencyMs.p99 } : {}),
  };
}

export function repeatRun(result: ConfigResult, repeat: number): RepeatRun {
  return {
    repeat,
    verdict: result.verdict,
    outcome: result.outcome,
    endedBy: result.endedBy,
    reason: result.reason,
    durationMs: result.durationMs,
    figures: repeatFigures(result),
    margins: result.margins ?? [],
  };
}

function tally(runs: readonly RepeatRun[], asked: number): string {
  const count = (verdict: RepeatRun['verdict']) => runs.filter((r) => r.verdict === verdict).length;
  const parts = [`${count('pass')} pass`, `${count('fail')} fail`];
  if (count('error') > 0) parts.push(`${count('error')} error`);
  if (runs.length < asked) parts.push(`${asked - runs.length} not run`);
  return `${parts.join(', ')} of ${asked} repeats`;
}

/**
 * The configuration's result over its repeats, in the order they ran. The figures, evidence and
 * observations shown are one repeat's: the first that failed (or errored), else the first; every
 * repeat's verdict and figures are in `repeats`.
 */
export function agreeRepeats(results: readonly ConfigResult[], asked: number): ConfigResult {
  const first = results[0];
  if (!first) throw new Error('agreeRepeats needs at least one result');
  if (asked <= 1 || first.verdict === 'skipped') return first;
  const runs = results.map((result, i) => repeatRun(result, i + 1));
  const passed = runs.filter((r) => r.verdict === 'pass').length;
  const failed = runs.filter((r) => r.verdict === 'fail').length;
  const durationMs = results.reduce((sum, r) => sum + r.durationMs, 0);
  const shown = (index: number) => ({ ...results[index]!, durationMs, repeats: runs });
  const firstOf = (verdict: RepeatRun['verdict']) => runs.findIndex((r) => r.verdict === verdict);
  if (passed > 0 && failed > 0) {
    const at = firstOf('fail');
    return { ...shown(at), verdict: 'flaky', endedBy: 'done', reason: `flaky: ${tally(runs, asked)} — repeat ${at + 1}: ${runs[at]!.reason}` };
  }
  if (runs.length === asked && (passed === asked || failed === asked)) {
    return { ...shown(0), reason: `${first.reason} (${asked} of ${asked} repeats agree)` };
  }
  const at = Math.max(0, firstOf('error'));
  const undecided = runs[at]!;
  return { ...shown(at), verdict: 'error', endedBy: undecided.endedBy === 'done' ? 'error' : undecided.endedBy, reason: `not decided: ${tally(runs, asked)} — repeat ${at + 1}: ${undecided.reason}` };
}
