import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareWithBaseline, readReportFile, renderJunit, renderMarkdown } from '../../src/7-report/index.ts';
import type { ConfigResult, RunReport } from '../../src/0-model/report.ts';

const config = (id: string, over: Partial<ConfigResult> = {}, metrics: ConfigResult['metrics'] = {}): ConfigResult => ({
  id,
  axes: { fix: id },
  outcome: 'survived',
  verdict: 'pass',
  reason: '',
  expected: { server: 'survived' },
  evidence: [{ source: 'readiness', text: 'ready after 2100ms' }],
  metrics,
  instances: [],
  emulated: [],
  durationMs: 1000,
  endedBy: 'done',
  observations: [],
  ...over,
});

const report = (runId: string, configs: ConfigResult[]): RunReport => ({
  schemaVersion: 1,
  scenario: 'burst-oom',
  incident: 'incident 2',
  scenarioFile: 'scenarios/burst-oom.ts',
  runId,
  startedAt: '2026-11-22T07:00:00.000Z',
  finishedAt: '2026-11-22T07:01:00.000Z',
  durationMs: 60_000,
  endedBy: 'done',
  host: {
    kernel: '6.18',
    nofileHardLimit: 20000,
    cgroupVersion: 1,
    numaNodes: 1,
    thpMode: 'madvise',
    dmesgReadable: true,
    bpftrace: true,
    memoryController: true,
    swapAccounting: true,
    k6: false,
    canLowerOomScoreAdj: false,
  },
  images: [],
  emulated: [],
  summary: { pass: configs.filter((c) => c.verdict === 'pass').length, fail: configs.filter((c) => c.verdict === 'fail').length, skipped: 0, error: 0 },
  configs,
});

const MiB = 1024 * 1024;

describe('baseline comparison', () => {
  const before = report('before', [
    config('steady', {}, { peakMemoryBytes: 500 * MiB, latencyMs: { count: 100, p50: 2, p90: 5, p99: 20, p999: 30, max: 40 }, errorsByCode: { '1040 ER_CON_COUNT_ERROR': 100 } }),
    config('now-killed'),
    config('grew', {}, { peakMemoryBytes: 500 * MiB }),
    config('dropped'),
  ]);

  it('marks verdicts, outcomes and key figures that got worse, and configurations that went missing', () => {
    const after = report('after', [
      // Within the thresholds: 10% more memory, p99 20 → 28 ms, errors 100 → 140.
      config('steady', {}, { peakMemoryBytes: 550 * MiB, latencyMs: { count: 100, p50: 2, p90: 5, p99: 28, p999: 30, max: 40 }, errorsByCode: { '1040 ER_CON_COUNT_ERROR': 140 } }),
      config('now-killed', { outcome: 'oom-killed-under-load', verdict: 'fail' }),
      config('grew', {}, { peakMemoryBytes: 900 * MiB }),
    ]);
    const comparison = compareWithBaseline(after, before, 'base.json');
    expect(comparison.compared).toBe(3);
    expect(comparison.regressions.map((r) => `${r.configId}: ${r.what}`)).toEqual(['now-killed: verdict', 'now-killed: outcome', 'grew: peak memory', 'dropped: missing']);
  });

  it('finds nothing when the run is as good', () => {
    expect(compareWithBaseline(before, before, 'base.json').regressions).toEqual([]);
  });

  it('shows regressions in report.md and as failures in junit.xml', () => {
    const after = report('after', [config('steady'), config('now-killed'), config('grew', {}, { peakMemoryBytes: 900 * MiB }), config('dropped')]);
    after.baseline = compareWithBaseline(after, before, 'base.json');
    expect(renderMarkdown(after)).toContain('📉 regressed');
    expect(renderMarkdown(after)).toMatch(/Against the baseline \(run `before`\)/);
    const junit = renderJunit(after);
    expect(junit).toContain('type="regression"');
    expect(junit).toMatch(/failures="1"/);
  });
});

describe('readReportFile', () => {
  it('reads a run folder or its report.json, and names what is wrong otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oomlab-report-'));
    try {
      await writeFile(join(dir, 'report.json'), JSON.stringify(report('r1', [config('a')])));
      expect((await readReportFile(dir)).report.runId).toBe('r1');
      await writeFile(join(dir, 'other.json'), '{"hello": 1}');
      await expect(readReportFile(join(dir, 'other.json'))).rejects.toThrow(/not an oomlab report/);
      await writeFile(join(dir, 'broken.json'), '{');
      await expect(readReportFile(join(dir, 'broken.json'))).rejects.toThrow(/is not JSON/);
      await expect(readReportFile(join(dir, 'nothing'))).rejects.toThrow(/no report at/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
