import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareRuns, compareWithBaseline, renderCompareHtml, renderCompareMarkdown, renderHtml, renderJunit, renderMarkdown } from '../../src/7-report/index.ts';
import { agreeRepeats } from '../../src/6-judge/index.ts';
import { parseReport } from '../../src/0-model/parse-report.ts';
import type { ConfigResult, RunReport } from '../../src/0-model/report.ts';

const fixture = (): RunReport => JSON.parse(readFileSync(new URL('../fixtures/report-scraping-burst.json', import.meta.url), 'utf8')) as RunReport;
const JEMALLOC = 'image=oomlab/mariadb:10.11,balancer=fastest,allocator=jemalloc,innodb_thread_concurrency=0,thp=always,headroom=tight,numa=default';
const MiB = 2 ** 20;

/** The recorded run with its jemalloc configuration run three times: killed, survived (893 MiB), killed. */
function flakyReport(): RunReport {
  const report = fixture();
  const killed = report.configs.find((c) => c.id === JEMALLOC)!;
  const margin = {
    what: 'host-a peak memory',
    measured: 1533 * MiB,
    bound: 1536 * MiB,
    unit: 'bytes' as const,
    held: true,
    distance: 3 * MiB,
    relative: 0.002,
    line: 'host-a peak 1.5 GiB of 1.5 GiB (a 893 MiB + neighbour 640 MiB): 3 MiB short of the limit',
  };
  const survived: ConfigResult = {
    ...killed,
    outcome: 'survived',
    verdict: 'fail',
    reason: 'a: expected oom-killed-under-load, got survived',
    metrics: { ...killed.metrics, peakMemoryBytes: 893 * MiB, memoryLimitBytes: 1536 * MiB, connectionRatio: 6.5 },
    margins: [margin],
    durationMs: 35_000,
  };
  const config = agreeRepeats([{ ...killed, durationMs: 33_000 }, survived, { ...killed, durationMs: 31_000 }], 3);
  report.configs = report.configs.map((c) => (c.id === JEMALLOC ? config : c));
  report.summary = { ...report.summary, pass: report.summary.pass - 1, flaky: 1 };
  return report;
}

const SURVIVED_LINE =
  'repeat 2: ❌ fail survived, peak 893 MiB / 1.5 GiB, rss 826 MiB, 24 connections, B:A 6.5:1, p99 10265 ms, 35.0 s; host-a peak 1.5 GiB of 1.5 GiB (a 893 MiB + neighbour 640 MiB): 3 MiB short of the limit (narrow) — a: expected oom-killed-under-load, got survived';

describe('a flaky configuration in every format', () => {
  const report = flakyReport();

  it('records each repeat and the verdict of their disagreement', () => {
    const config = report.configs.find((c) => c.id === JEMALLOC)!;
    expect(config.verdict).toBe('flaky');
    expect(config.reason).toBe('flaky: 2 pass, 1 fail of 3 repeats — repeat 2: a: expected oom-killed-under-load, got survived');
    expect(config.repeats!.map((r) => [r.verdict, r.outcome, r.durationMs])).toEqual([
      ['pass', 'oom-killed-under-load', 33_000],
      ['fail', 'survived', 35_000],
      ['pass', 'oom-killed-under-load', 31_000],
    ]);
  });

  it('report.md: a flaky count, a section of its own with each repeat figures, apart from the failures', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('**4 as expected, 0 not as expected, 1 flaky, 0 could not decide (harness error), 1 not run** · each configuration run 3 times');
    expect(md).toContain('🔀 flaky<br>3 repeats: ✅ ❌ ✅');
    expect(md).toContain("4 pass, 0 fail, 1 skipped, 0 error, 1 flaky (report.json's verdicts)");
    expect(md).toContain(`## Flaky: the repeats disagreed\n\n- \`${JEMALLOC}\`: flaky: 2 pass, 1 fail of 3 repeats — repeat 2: a: expected oom-killed-under-load, got survived\n`);
    expect(md).toContain(`  - ${SURVIVED_LINE}\n`);
    expect(md).not.toContain('## Not as expected');
  });

  it('junit.xml: a failure of type flaky that carries every repeat, counted with the failures', () => {
    const xml = renderJunit(report);
    expect(xml).toContain(`<failure message="flaky: 2 pass, 1 fail of 3 repeats — repeat 2: a: expected oom-killed-under-load, got survived" type="flaky">repeat 1: ✅ pass oom-killed-under-load`);
    expect(xml).toContain(SURVIVED_LINE);
    expect(xml).toContain('<testsuite name="scraping-burst" tests="6" failures="1" errors="0" skipped="1"');
  });

  it('report.html: a flaky count, a section listing it with a row per repeat, and its margins', () => {
    const page = renderHtml(report);
    expect(page).toContain('<span class="count flaky">1 flaky</span>');
    expect(page).toContain('<section id="flaky"><h2>Flaky: the repeats disagreed (1)</h2>');
    expect(page).toContain('<li class="narrow">host-a peak 1.5 GiB of 1.5 GiB (a 893 MiB + neighbour 640 MiB): 3 MiB short of the limit (narrow)</li>');
    expect(page.match(/<table class="repeats">/g)).toHaveLength(2);
  });

  it('compare: the flaky configuration listed apart with its repeats', () => {
    const comparison = compareRuns(fixture(), 'a/report.json', report, 'b/report.json');
    const md = renderCompareMarkdown(comparison);
    expect(md).toContain(`## Flaky in B: \`${JEMALLOC}\``);
    expect(md).toContain(`- ${SURVIVED_LINE}`);
    expect(md).toContain('4 pass, 0 fail, 1 skipped, 0 error, 1 flaky — b/report.json');
    expect(renderCompareHtml(comparison)).toContain(`<h2>Flaky in B: <code>${JEMALLOC}</code></h2>`);
  });

  it('--baseline: pass → flaky is a verdict regression', () => {
    expect(compareWithBaseline(report, fixture(), 'base.json').regressions).toEqual([{ configId: JEMALLOC, what: 'verdict', before: 'pass', after: 'flaky' }]);
  });

  it('report.json: read back with repeats and margins, and an older report without a flaky count still reads', () => {
    expect(parseReport(JSON.stringify(report), 'b/report.json').configs.find((c) => c.id === JEMALLOC)!.repeats).toHaveLength(3);
    const older = fixture();
    expect('flaky' in older.summary).toBe(false);
    expect(parseReport(JSON.stringify(older), 'a/report.json').summary).toEqual(older.summary);
  });
});
