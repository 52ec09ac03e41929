// report.json version 2 keeps samples in columns; version 1 (every report before it, as the captured
// fixtures are) listed each sample as an observation. Both read back to the same report.
import { messageOf } from '../0-model/parse-message.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/0-model/parse-report.ts';
import { encodeSamples } from '../../src/0-model/report-file.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import { renderHtml, renderJson, renderJunit, renderMarkdown } from '../../src/7-report/index.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const V1_FIXTURES = readdirSync(FIXTURES).filter((f) => /^report-.*\.json$/.test(f) && JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')).schemaVersion === 1);
const read = (file: string): RunReport => parseReport(readFileSync(join(FIXTURES, file), 'utf8'), file);

/** A report's observations as version 2 groups them: the other observations in order, and each series in order (series by name). */
const grouped = (report: RunReport) =>
  report.configs.map((c) => {
    const { observations, samples } = encodeSamples(c.observations);
    const name = (s: (typeof samples)[number]) => `${s.instance} ${s.source} ${s.metric}`;
    return { observations, samples: samples.sort((a, b) => name(a).localeCompare(name(b))) };
  });
const withoutObservations = (report: RunReport) => ({ ...report, schemaVersion: 0, configs: report.configs.map((c) => ({ ...c, observations: [] })) });

describe('report.json versions', () => {
  it('keeps real version-1 reports among the fixtures', () => {
    expect(V1_FIXTURES).toContain('report-scraping-burst.json');
  });

  it.each(V1_FIXTURES)('reads %s (version 1), writes it as version 2 and reads that back to the same report', (file) => {
    const v1 = read(file);
    const text = renderJson(v1);
    const written = JSON.parse(text) as { schemaVersion: number; configs: { observations: { kind: string }[]; samples: { t: number[] }[] }[] };
    expect(written.schemaVersion).toBe(2);
    expect(written.configs.flatMap((c) => c.observations).filter((o) => o.kind === 'sample')).toEqual([]);
    const samples = v1.configs.flatMap((c) => c.observations).filter((o) => o.kind === 'sample').length;
    expect(written.configs.flatMap((c) => c.samples).reduce((n, s) => n + s.t.length, 0)).toBe(samples);

    const v2 = parseReport(text, file);
    expect(v2.schemaVersion).toBe(2);
    expect(withoutObservations(v2)).toEqual(withoutObservations(v1));
    expect(grouped(v2)).toEqual(grouped(v1));
    // A run whose observations were in time order reads back in time order.
    const inOrder = (r: RunReport) => r.configs.every((c) => c.observations.every((o, i) => i === 0 || c.observations[i - 1]!.t <= o.t));
    if (inOrder(v1)) expect(inOrder(v2)).toBe(true);
  });

  it.each(V1_FIXTURES)('renders %s the same from either version', (file) => {
    const v1 = read(file);
    const v2 = { ...parseReport(renderJson(v1), file), schemaVersion: v1.schemaVersion };
    expect(renderMarkdown(v2)).toBe(renderMarkdown(v1));
    expect(renderJunit(v2)).toBe(renderJunit(v1));
    expect(renderHtml(v2)).toBe(renderHtml(v1));
  });

  it('reads a real version-2 report (a cold first run of nofile-oom) with its samples back among the observations', () => {
    const file = 'report-nofile-oom-v2.json';
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    const written = JSON.parse(text) as { schemaVersion: number; configs: { samples: { instance: string; source: string; metric: string; t: number[]; value: number[] }[] }[] };
    expect(written.schemaVersion).toBe(2);
    const report = read(file);
    const samples = report.configs.flatMap((c) => c.observations).filter((o) => o.kind === 'sample');
    expect(samples.length).toBe(written.configs.flatMap((c) => c.samples).reduce((n, s) => n + s.t.length, 0));
    expect(samples.length).toBeGreaterThan(0);
    // Written again, it is the same file.
    expect(renderJson(report)).toBe(text);
    expect(renderMarkdown(report)).toContain('# oomlab: nofile-oom');
  });

  it('writes each sampled series on one line', () => {
    const report = read('report-scraping-burst.json');
    const series = grouped(report).reduce((n, c) => n + c.samples.length, 0);
    expect(
      renderJson(report)
        .split('\n')
        .filter((line) => /^ {8}\{"instance":.*"t":\[.*\],"value":\[.*\]\},?$/.test(line)),
    ).toHaveLength(series);
  });

  it('says in one line what is wrong with a version-2 report', () => {
    const v2 = () => JSON.parse(renderJson(read('report-burst-oom.json'))) as Record<string, any>;
    const withSampleAmongObservations = v2();
    withSampleAmongObservations.configs[1].observations.unshift({ kind: 'sample', t: 1, instance: 'db', source: 'cgroup', metric: 'memoryUsageBytes', value: 1 });
    expect(messageOf(JSON.stringify(withSampleAmongObservations))).toBe(
      'run/report.json is not a valid oomlab report: configs[1].observations[0].kind: expected one of docker-event, container-state, kernel-oom, limit, memory-peak, server-variables, readiness, syscall, server-log, nofile, observer-unavailable, innodb-status, workload, warm-up, step, got "sample" — give the report.json an oomlab run wrote, unedited',
    );
    const short = v2();
    const series = short.configs[1].samples[0];
    series.value.pop();
    expect(messageOf(JSON.stringify(short))).toBe(
      `run/report.json is not a valid oomlab report: configs[1].samples[0]: ${series.t.length} times and ${series.t.length - 1} values for ${series.instance} ${series.metric} — give the report.json an oomlab run wrote, unedited`,
    );
    const noSamples = v2();
    delete noSamples.configs[0].samples;
    expect(messageOf(JSON.stringify(noSamples))).toBe(
      'run/report.json is not a valid oomlab report: configs[0].samples: expected array, got nothing — give the report.json an oomlab run wrote, unedited',
    );
  });
});

describe('a version-2 report whose series hold nulls', () => {
  // Lab runs on cgroup v2 before 27fb76e sampled v1's memoryFailcnt as undefined; report.json wrote null, and
  // `oomlab report` refused the whole report. The fixture is such a run's, as written.
  it('reads, without the null points, and renders the rest', () => {
    const file = 'report-numa-v2-null-samples.json';
    const written = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as { configs: { samples: { metric: string; value: (number | null)[] }[] }[] };
    expect(written.configs[0]!.samples.filter((s) => s.value.includes(null)).map((s) => s.metric)).toEqual(['memoryFailcnt', 'memoryFailcnt']);
    const report = read(file);
    const samples = report.configs[0]!.observations.filter((o) => o.kind === 'sample');
    expect(samples.every((o) => o.kind === 'sample' && Number.isFinite(o.value))).toBe(true);
    expect(samples.some((o) => o.kind === 'sample' && o.metric === 'memoryFailcnt')).toBe(false);
    expect(renderMarkdown(report)).toContain('Lowest free memory per NUMA node over the run (host-wide MemFree): node 0 1.8 GiB, node 1 25.1 MiB.');
  });
});
