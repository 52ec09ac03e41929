// Verdicts in words a reader cannot misread: `fail` means the configuration did not do what the scenario
// expected (a fix that does not work), not that the tool failed. report.json keeps its verdict values.
import type { Outcome } from './config.ts';
import type { Verdict } from './judgement.ts';
import type { ConfigResult } from './report.ts';

export const VERDICT_WORDS: Record<Verdict, string> = {
  pass: 'as expected',
  fail: 'not as expected',
  flaky: 'flaky',
  error: 'could not decide (harness error)',
  skipped: 'not run',
};

const OUTCOME_WORDS: Record<Outcome, string> = {
  survived: 'survived',
  'oom-killed-at-startup': 'OOM-killed at start-up',
  'oom-killed-under-load': 'OOM-killed under load',
  'oom-killed-after-load': 'OOM-killed after the load',
  crashed: 'crashed',
  'never-ready': 'never ready',
};

export function outcomeWords(outcome: Outcome | null | undefined): string {
  return outcome ? OUTCOME_WORDS[outcome] : 'no outcome';
}

/** `to survive`, `to be OOM-killed at start-up`: what an expectation asked, after "expected". */
export function expectedText(outcome: Outcome): string {
  return outcome === 'survived' ? 'survival' : outcome === 'crashed' ? 'a crash' : outcome === 'never-ready' ? 'never ready' : outcomeWords(outcome);
}

/** What each instance was expected to do, where it differs from what happened: `expected survived`, `expected a: survived`. */
export function expectedInstead(config: ConfigResult): string | undefined {
  const missed = config.instances.filter((j) => j.verdict === 'fail' && config.expected[j.instance] !== undefined && config.expected[j.instance] !== j.outcome);
  const multiple = Object.keys(config.expected).length > 1;
  if (missed.length > 0) return `expected ${missed.map((j) => `${multiple ? `${j.instance} ` : ''}${outcomeWords(config.expected[j.instance])}`).join(', ')}`;
  const claim = config.expectations?.find((e) => !e.met);
  if (claim) return `expected ${claim.expected}`;
  const judged = config.instances.find((j) => j.verdict === 'fail');
  // A short reason says it in a few words; a long one is in the evidence below the table.
  return judged ? judged.reason : config.reason && config.reason.length <= 120 ? config.reason : undefined;
}

/** Configurations the user stopped (SIGINT): an error by verdict, but counted apart from the harness's own. */
export function cancelledCount(configs: readonly ConfigResult[]): number {
  return configs.filter((c) => c.verdict === 'error' && c.endedBy === 'cancel').length;
}

/** The verdict as a reader should read it: `not as expected (expected survived)`. */
export function verdictWords(config: ConfigResult): string {
  // A configuration the user stopped was not the harness failing: say what happened to it.
  if (config.verdict === 'error' && config.endedBy === 'cancel') return 'cancelled, not decided';
  if (config.verdict !== 'fail') return VERDICT_WORDS[config.verdict];
  const instead = expectedInstead(config);
  return instead ? `${VERDICT_WORDS.fail} (${instead})` : VERDICT_WORDS.fail;
}
