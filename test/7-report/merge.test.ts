import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/0-model/parse-report.ts';
import { REPORT_SCHEMA_VERSION, type RunReport } from '../../src/0-model/report.ts';
import { shardOf } from '../../src/2-plan/index.ts';
import { compareWithBaseline, mergeShardReports, renderJson, renderMarkdown, renderHtml, type ShardReport } from '../../src/7-report/index.ts';

const FIXTURE = new URL('../fixtures/report-nofile-oom.json', import.meta.url);
const whole = (): RunReport => JSON.parse(readFileSync(FIXTURE, 'utf8')) as RunReport;
const SHA = 'a'.repeat(64);

/** The fixture's run cut into `count` shard reports, as `oomlab run --shard I/count` writes them. */
function shards(count: number, edit: (report: RunReport, index: number) => void = () => {}): ShardReport[] {
  const run = whole();
  const matrixIds = run.configs.map((c) => c.id);
  return Array.from({ length: count }, (_, i) => {
    const report = whole();
    report.configs = report.configs.filter((c) => shardOf(c.id, count) === i + 1);
    report.emulated = report.emulated.filter((e) => report.configs.some((c) => c.id === e.configId));
    report.runId = `run-${i + 1}`;
    report.startedAt = `2026-01-01T00:0${i}:00.000Z`;
    report.finishedAt = `2026-01-01T00:0${i + 1}:30.000Z`;
    report.durationMs = 90_000;
    report.scenarioSha256 = SHA;
    report.shard = { index: i + 1, count, matrixIds };
    edit(report, i + 1);
    return { report, file: `shard-${i + 1}/report.json` };
  });
}

function refusal(parts: ShardReport[]): string {
  try {
    mergeShardReports(parts);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('merged');
}

describe('oomlab merge of shard reports', () => {
  it('gives back the whole run: configurations in matrix order, summary and emulated facts recounted', () => {
    const parts = shards(3);
    // Every shard has something, or this test would not show a join.
    expect(parts.map((p) => p.report.configs.length).every((n) => n > 0)).toBe(true);
    const merged = mergeShardReports(parts.toReversed());
    const run = whole();
    expect(merged.configs).toEqual(run.configs);
    expect(merged.summary).toEqual({ flaky: 0, ...run.summary });
    expect(merged.emulated.toSorted((a, b) => a.configId.localeCompare(b.configId))).toEqual(run.emulated.toSorted((a, b) => a.configId.localeCompare(b.configId)));
    expect(merged.host).toEqual(run.host);
    expect(merged.shard).toBeUndefined();
    expect(merged.startedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(merged.finishedAt).toBe('2026-01-01T00:03:30.000Z');
    expect(merged.durationMs).toBe(210_000);
    expect(merged.merged?.shards.map((s) => [s.index, s.runId, s.configIds.length])).toEqual(parts.map((p) => [p.report.shard!.index, p.report.runId, p.report.configs.length]));
    expect(merged.runId).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-merged-[0-9a-f]{6}$/);
  });

  it('merges shards read from version-2 files as it merges version-1 ones', () => {
    const v2 = shards(3).map((p) => ({ ...p, report: parseReport(renderJson(p.report), p.file) }));
    expect(v2.map((p) => p.report.schemaVersion)).toEqual([2, 2, 2]);
    const { runId: _a, ...fromV1 } = mergeShardReports(shards(3));
    const { runId: _b, ...fromV2 } = mergeShardReports(v2);
    expect(fromV2).toEqual({ ...fromV1, schemaVersion: 2 });
  });

  it('writes a report that reads back against the schema, and says what it joins', () => {
    const merged = mergeShardReports(shards(3));
    // Written as the version this oomlab writes, whatever the shards' was.
    expect(parseReport(renderJson(merged), 'merged.json')).toEqual({ ...merged, schemaVersion: REPORT_SCHEMA_VERSION });
    const counts = shards(3).map((p) => p.report.configs.length);
    const line = `Merged from 3 shards: 1/3 ${counts[0]} configurations in 90 s, 2/3 ${counts[1]} configurations in 90 s, 3/3 ${counts[2]} configurations in 90 s; the longest took 90 s, all together 270 s.`;
    expect(renderMarkdown(merged)).toContain(line);
    expect(renderMarkdown(merged)).toContain('Every shard ran on a host with the same facts.');
    expect(renderHtml(merged)).toContain(line);
  });

  it('names the host facts that differ between shards and says whose are shown', () => {
    const merged = mergeShardReports(
      shards(3, (report, index) => {
        if (index === 3) report.host = { ...report.host, kernel: '6.8.0-test', numaNodes: 2 };
      }),
    );
    const kernel = whole().host.kernel;
    expect(renderMarkdown(merged)).toContain(`The shards' hosts differ — kernel ${kernel} (1/3, 2/3), 6.8.0-test (3/3); numaNodes 1 (1/3, 2/3), 2 (3/3); the host facts shown are shard 1/3's.`);
  });

  it('keeps a shard that ended early as the end of the whole', () => {
    const merged = mergeShardReports(
      shards(3, (report, index) => {
        if (index === 2) Object.assign(report, { endedBy: 'error', error: 'the Docker engine went away' });
      }),
    );
    expect(merged.endedBy).toBe('error');
    expect(merged.error).toBe('shard 2/3: the Docker engine went away');
  });

  it('compares the merged report with a baseline as a whole run', () => {
    const merged = mergeShardReports(shards(3));
    const comparison = compareWithBaseline(merged, whole(), 'last-good/report.json');
    expect(comparison.regressions).toEqual([]);
    expect(comparison.compared).toBe(whole().configs.filter((c) => c.verdict !== 'skipped').length);
  });
});

describe('oomlab merge refuses, in one line', () => {
  const ids = whole().configs.map((c) => c.id);

  it('a configuration no shard ran, naming it and the shard to run', () => {
    const parts = shards(3);
    const missing = parts[1]!.report.configs.map((c) => c.id);
    const message = refusal([parts[0]!, parts[2]!]);
    expect(message).toBe(`merge: ${missing.length} configurations of nofile-oom are in no shard: ${missing.join(', ')}; run the missing shard (--shard 2/3) or merge all shards`);
  });

  it('one missing configuration, in the singular', () => {
    const parts = shards(3);
    const dropped = parts[0]!.report.configs.pop()!;
    expect(refusal(parts)).toBe(`merge: 1 configuration of nofile-oom is in no shard: ${dropped.id}; run the missing shard (--shard 1/3) or merge all shards`);
  });

  it('the same shard twice', () => {
    const parts = shards(3);
    expect(refusal([...parts, { ...parts[1]!, file: 'retry/report.json' }])).toBe('merge: shard 2/3 of nofile-oom is given twice: shard-2/report.json, retry/report.json — merge each shard once');
  });

  it('a configuration in two shards, listing it', () => {
    const parts = shards(3);
    const doubled = parts[0]!.report.configs[0]!;
    parts[2]!.report.configs.push(doubled);
    expect(refusal(parts)).toBe(`merge: 1 configuration of nofile-oom is in more than one shard: ${doubled.id} (1/3, 3/3) — merge each shard once`);
  });

  it('shards of two scenarios', () => {
    const parts = shards(2, (r, i) => {
      if (i === 2) r.scenario = 'burst-oom';
    });
    expect(refusal(parts)).toBe('merge: shards of different scenarios: shard-1/report.json is nofile-oom, shard-2/report.json is burst-oom — merge the shards of one scenario');
  });

  it('shards of two versions of the scenario file', () => {
    const parts = shards(2, (r, i) => {
      if (i === 2) r.scenarioSha256 = 'b'.repeat(64);
    });
    expect(refusal(parts)).toBe(
      'merge: shards of different versions of nofile-oom: shard-1/report.json ran aaaaaaaaaaaa, shard-2/report.json ran bbbbbbbbbbbb (sha256 of the scenario file) — rerun every shard from one version',
    );
  });

  it('shards of two report schema versions', () => {
    const parts = shards(2, (r, i) => {
      if (i === 2) r.schemaVersion = 0;
    });
    expect(refusal(parts)).toBe('merge: shards of different report schema versions: shard-1/report.json is 1, shard-2/report.json is 0 — rerun every shard with one oomlab version');
  });

  it('shards of two splits', () => {
    const [a] = shards(2);
    const [, b] = shards(3);
    expect(refusal([a!, b!])).toBe('merge: shards of different splits of nofile-oom: shard-1/report.json is 1/2, shard-2/report.json is 2/3 — merge the shards of one --shard I/N split');
  });

  it('shards of two matrices', () => {
    const parts = shards(2, (r, i) => {
      if (i === 2) r.shard!.matrixIds = ids.slice(1);
    });
    expect(refusal(parts)).toBe(
      `merge: shards of different matrices of nofile-oom: shard-1/report.json has ${ids.length} configurations, shard-2/report.json has ${ids.length - 1} (--set or --only differ) — run every shard with the same options`,
    );
  });

  it('a report of a whole run', () => {
    expect(refusal([...shards(2), { report: whole(), file: 'whole/report.json' }])).toBe(
      'merge: whole/report.json is not a shard report (it has no shard) — merge the report folders of `oomlab run --shard I/N`',
    );
  });
});
