import { describe, expect, it } from 'vitest';
import { agreeRepeats } from '../../src/6-judge/index.ts';
import type { ConfigResult } from '../../src/0-model/report.ts';
import type { Verdict } from '../../src/0-model/judgement.ts';

const run = (verdict: Verdict, extra: Partial<ConfigResult> = {}): ConfigResult => ({
  id: 'allocator=jemalloc',
  axes: { allocator: 'jemalloc' },
  outcome: verdict === 'error' ? null : verdict === 'pass' ? 'oom-killed-under-load' : 'survived',
  verdict,
  reason: verdict === 'pass' ? 'oom-killed-under-load, as expected' : verdict === 'fail' ? 'a: expected oom-killed-under-load, got survived' : 'timed out before it was decided',
  expected: { a: 'oom-killed-under-load' },
  evidence: [{ source: 'kernel', text: verdict }],
  metrics: verdict === 'fail' ? { peakMemoryBytes: 936_378_368, memoryLimitBytes: 1_073_741_824, connectionRatio: 6.5 } : { peakMemoryBytes: 1_073_741_824, memoryLimitBytes: 1_073_741_824 },
  instances: [],
  emulated: [],
  durationMs: 30_000,
  endedBy: verdict === 'error' ? 'timeout' : 'done',
  observations: [],
  ...extra,
});

describe('agreeRepeats: pass or fail only when all K agree', () => {
  it('leaves a single run as it is, with no repeats', () => {
    const once = run('pass');
    expect(agreeRepeats([once], 1)).toBe(once);
  });

  it('passes when all K pass, and says so', () => {
    const agreed = agreeRepeats([run('pass'), run('pass'), run('pass')], 3);
    expect(agreed.verdict).toBe('pass');
    expect(agreed.reason).toBe('oom-killed-under-load, as expected (3 of 3 repeats agree)');
    expect(agreed.durationMs).toBe(90_000);
    expect(agreed.repeats!.map((r) => r.verdict)).toEqual(['pass', 'pass', 'pass']);
  });

  it('fails when all K fail', () => {
    expect(agreeRepeats([run('fail'), run('fail')], 2).verdict).toBe('fail');
  });

  it('is flaky when some pass and some fail, showing the first failing repeat and every repeat figures', () => {
    const flaky = agreeRepeats([run('pass'), run('pass'), run('pass'), run('fail'), run('pass')], 5);
    expect(flaky.verdict).toBe('flaky');
    expect(flaky.reason).toBe('flaky: 4 pass, 1 fail of 5 repeats — repeat 4: a: expected oom-killed-under-load, got survived');
    expect(flaky.evidence).toEqual([{ source: 'kernel', text: 'fail' }]);
    expect(flaky.repeats![3]).toEqual({
      repeat: 4,
      verdict: 'fail',
      outcome: 'survived',
      endedBy: 'done',
      reason: 'a: expected oom-killed-under-load, got survived',
      durationMs: 30_000,
      figures: { peakMemoryBytes: 936_378_368, memoryLimitBytes: 1_073_741_824, connectionRatio: 6.5 },
      margins: [],
    });
  });

  it('is flaky when the decided repeats disagree, whatever else errored', () => {
    expect(agreeRepeats([run('pass'), run('error'), run('fail')], 3).reason).toBe('flaky: 1 pass, 1 fail, 1 error of 3 repeats — repeat 3: a: expected oom-killed-under-load, got survived');
  });

  it('does not count an error repeat as agreeing: the others agree, yet nothing is decided', () => {
    const undecided = agreeRepeats([run('pass'), run('error'), run('pass')], 3);
    expect(undecided.verdict).toBe('error');
    expect(undecided.endedBy).toBe('timeout');
    expect(undecided.reason).toBe('not decided: 2 pass, 0 fail, 1 error of 3 repeats — repeat 2: timed out before it was decided');
  });

  it('counts repeats that never ran (a cancelled run) against agreement', () => {
    const cut = agreeRepeats([run('pass')], 3);
    expect(cut.verdict).toBe('error');
    expect(cut.reason).toBe('not decided: 1 pass, 0 fail, 2 not run of 3 repeats — repeat 1: oom-killed-under-load, as expected');
  });

  it('does not repeat a skipped configuration', () => {
    const skipped = run('skipped');
    expect(agreeRepeats([skipped], 3)).toBe(skipped);
  });
});
