import { describe, expect, it } from 'vitest';
import { requireSameScenario } from '../../src/0-model/baseline-check.ts';

describe('requireSameScenario', () => {
  it('lets a baseline of the same scenario through and refuses another in one line with the next step', () => {
    expect(() => requireSameScenario({ file: 'a/report.json', report: { scenario: 'nofile-oom' } }, 'nofile-oom')).not.toThrow();
    expect(() => requireSameScenario({ file: 'a/report.json', report: { scenario: 'nofile-oom' } }, 'burst-oom')).toThrow(
      '--baseline a/report.json is a report of `nofile-oom`, not `burst-oom` — give a report of the same scenario',
    );
  });
});
