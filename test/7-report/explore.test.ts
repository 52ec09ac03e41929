import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exploreSummary, isExplore, rankByHeadroom } from '../../src/0-model/explore.ts';
import { renderMarkdown } from '../../src/7-report/index.ts';
import { planRun } from '../../src/2-plan/index.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import burstOom from '../../scenarios/burst-oom.ts';

// The recorded burst-oom run (one survivor, three kills at 1 GiB) as an explore run would have judged it: no expectations.
const recorded = JSON.parse(readFileSync(new URL('../fixtures/report-burst-oom.json', import.meta.url), 'utf8')) as RunReport;
const explored: RunReport = { ...recorded, configs: recorded.configs.map((c) => ({ ...c, expected: {} })) };

describe('explore mode (a scenario without expect)', () => {
  it('plans every configuration with no expectation', () => {
    const { expect: _omitted, ...withoutExpect } = burstOom;
    const configs = planRun({ ...withoutExpect, file: 'scenarios/burst-oom.ts' }, {}, undefined, { numaNodes: 1 });
    expect(configs.length).toBeGreaterThan(1);
    expect(configs.every((c) => Object.keys(c.expect).length === 0)).toBe(true);
  });

  it('ranks the configurations by headroom and says on top which survive and which still die', () => {
    expect(isExplore(recorded)).toBe(false);
    expect(isExplore(explored)).toBe(true);
    expect(exploreSummary(explored)).toBe(
      'only buffers=sized max_connections=300 survives (most headroom: buffers=sized max_connections=300, 311 MiB left); buffers=incident-era max_connections=2000, buffers=incident-era max_connections=300 and buffers=sized max_connections=2000 still die at 1 GiB (oom-killed-under-load)',
    );
    expect(rankByHeadroom(explored).map((r) => r.config.outcome)).toEqual(['survived', 'oom-killed-under-load', 'oom-killed-under-load', 'oom-killed-under-load']);
    const markdown = renderMarkdown(explored);
    expect(markdown).toContain(`**Explore** (the scenario has no \`expect\`): ${exploreSummary(explored)}.`);
    expect(markdown).toContain('| 1 | buffers=sized max_connections=300 | survived | 1 GiB / 1 GiB | 311 MiB |');
    expect(renderMarkdown(recorded)).not.toContain('**Explore**');
  });
});
