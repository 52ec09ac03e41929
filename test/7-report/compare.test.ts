import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigResult, RunReport } from '../../src/0-model/report.ts';
import { compareRuns, imageAxes, renderCompareHtml, renderCompareMarkdown, summaryLine } from '../../src/7-report/index.ts';

const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures', `report-${name}.json`), 'utf8')) as RunReport;
const MiB = 1024 * 1024;

/** The nofile-oom fixture rerun on another server (`--set image=...`): same configurations, new image, ids that follow. */
function onImage(report: RunReport, image: string, change: (config: ConfigResult) => void = () => {}): RunReport {
  const configs = report.configs.map((c) => {
    const config = structuredClone(c);
    (config.axes as Record<string, string | number>).image = image;
    config.id = config.id.replace(/^image=[^,]+/, `image=${image}`);
    change(config);
    return config;
  });
  return { ...structuredClone(report), runId: `${report.runId}-on-${image}`, images: [{ name: image, available: true, source: 'local' }], configs };
}

describe('oomlab compare: the old server and the new one', () => {
  const old = fixture('nofile-oom');
  // MySQL 9.7's file table grows on demand: where MariaDB was killed at start-up, it survives (and fails the expectation).
  const next = onImage(old, 'oomlab/mysql:9.7', (c) => {
    if (c.outcome !== 'oom-killed-at-startup') return;
    c.outcome = 'survived';
    c.verdict = 'fail';
    c.metrics = { ...c.metrics, peakMemoryBytes: 210 * MiB, openFilesLimit: 1073741816 };
  });
  next.configs = next.configs.filter((c) => !c.id.includes('nofile=default,fix=ulimit-4096'));

  it('finds the server axis from the images the run needed', () => {
    expect(imageAxes(old)).toEqual(['image']);
    expect(imageAxes(fixture('burst-oom'))).toEqual(['image']);
  });

  it('pairs every configuration by its axes without the image, and names what changed', () => {
    const comparison = compareRuns(old, 'a/report.json', next, 'b/report.json');
    expect(comparison.pairs).toHaveLength(14);
    expect(comparison.pairs.every((p) => p.matchedBy === 'axes' && p.image?.a === 'oomlab/mariadb:10.11' && p.image.b === 'oomlab/mysql:9.7')).toBe(true);
    expect(comparison.onlyA.map((c) => c.id)).toEqual(['image=oomlab/mariadb:10.11,nofile=default,fix=ulimit-4096,open_files_limit=auto,memory=1g']);
    expect(comparison.onlyB).toEqual([]);
    expect(comparison.notes).toEqual(['14 configuration(s) matched by their axes without `image`.']);
    expect(summaryLine(comparison)).toBe('14 configuration(s) compared: 2 changed outcome, 2 changed verdict, 2 moved peak memory, 2 changed @@open_files_limit; 1 only in A.');
  });

  it('writes compare.md: both runs, the notes, one row per pair with changes in bold, then the unpaired', () => {
    const md = renderCompareMarkdown(compareRuns(old, 'a/report.json', next, 'b/report.json')).split('\n');
    expect(md.slice(0, 9)).toEqual([
      '# oomlab compare: nofile-oom ↔ nofile-oom',
      '',
      '- **A**: `nofile-oom` run `2026-11-22T02-33-58Z-d2efba` (2026-11-22T02:33:58.799Z) on oomlab/mariadb:10.11: 15 pass, 0 fail, 0 skipped, 0 error — a/report.json',
      '- **B**: `nofile-oom` run `2026-11-22T02-33-58Z-d2efba-on-oomlab/mysql:9.7` (2026-11-22T02:33:58.799Z) on oomlab/mysql:9.7: 15 pass, 0 fail, 0 skipped, 0 error — b/report.json',
      '',
      '> 14 configuration(s) matched by their axes without `image`.',
      '',
      '**14 configuration(s) compared: 2 changed outcome, 2 changed verdict, 2 moved peak memory, 2 changed @@open_files_limit; 1 only in A.**',
      '',
    ]);
    expect(md[9]).toBe('| configuration | image A → B | outcome | verdict | peak memory | @@open_files_limit |');
    expect(md).toContain(
      '| `nofile=1073741816,fix=none,open_files_limit=explicit,memory=1g` | oomlab/mariadb:10.11 → oomlab/mysql:9.7 | **oom-killed-at-startup → survived** | **✅ pass → ❌ fail** | **1 GiB → 210 MiB (−79%)** | **— → 1073741816** |',
    );
    expect(md).toContain('| `nofile=default,fix=none,open_files_limit=auto,memory=1g` | oomlab/mariadb:10.11 → oomlab/mysql:9.7 | survived | ✅ pass | 191 MiB | 20000 |');
    expect(md.slice(-4)).toEqual(['## Only in A (1)', '', '- `image=oomlab/mariadb:10.11,nofile=default,fix=ulimit-4096,open_files_limit=auto,memory=1g (✅ pass, survived)`', '']);
  });

  it('lines a run of one server up with a run that skipped every other server', () => {
    // A run of the full matrix here decides MariaDB and skips the 5.x images; the rerun has only the new server.
    const full = structuredClone(old);
    for (const image of ['mysql:5.7', 'mysql:5.5']) {
      full.configs.push(...onImage(old, image, (c) => Object.assign(c, { outcome: null, verdict: 'skipped', metrics: {}, reason: `image ${image} is not here` })).configs);
      full.images.push({ name: image, available: false, reason: `image ${image} is not here` });
    }
    const comparison = compareRuns(full, 'full.json', onImage(old, 'oomlab/mysql:9.7'), 'next.json');
    expect(comparison.pairs).toHaveLength(15);
    expect(comparison.pairs.every((p) => p.a.axes.image === 'oomlab/mariadb:10.11')).toBe(true);
    expect(comparison.onlyA).toHaveLength(30);
    expect(comparison.a.ranOn).toEqual(['oomlab/mariadb:10.11']);
  });

  it('pairs by id where ids are equal, and names an axis each run held at another value', () => {
    const same = compareRuns(old, 'a.json', old, 'b.json');
    expect(same.pairs.every((p) => p.matchedBy === 'id' && p.image === undefined)).toBe(true);
    expect(same.notes).toEqual([]);
    expect(summaryLine(same)).toBe('15 configuration(s) compared: 0 changed outcome, 0 changed verdict, 0 moved peak memory, 0 changed @@open_files_limit.');
    const bigger = structuredClone(old);
    for (const c of bigger.configs) {
      (c.axes as Record<string, string | number>).memory = '4g';
      c.id = c.id.replace('memory=1g', 'memory=4g');
    }
    expect(compareRuns(old, 'a.json', bigger, 'b.json').notes).toEqual(['15 configuration(s) matched by their axes without `memory` (A ran memory=1g, B memory=4g).']);
  });

  it('says in a line that the two runs are of different scenarios, and still compares', () => {
    const comparison = compareRuns(fixture('burst-oom'), 'burst.json', old, 'nofile.json');
    expect(comparison.notes[0]).toBe('A is a run of `burst-oom` and B of `nofile-oom`: configurations are matched by their axes all the same.');
    expect(comparison.pairs).toEqual([]);
    expect(comparison.onlyA).toHaveLength(4);
    expect(comparison.onlyB).toHaveLength(15);
  });

  it('marks a latency beyond run-to-run noise, not one within it', () => {
    const burst = fixture('burst-oom');
    const later = structuredClone(burst);
    later.configs[0]!.metrics.latencyMs!.p99 *= 1.2;
    later.configs[1]!.metrics.latencyMs!.p99 *= 3;
    const [first, second] = compareRuns(burst, 'a.json', later, 'b.json').pairs;
    expect([first!.p99LatencyMs.notable, second!.p99LatencyMs.notable]).toEqual([false, true]);
    expect(renderCompareMarkdown(compareRuns(burst, 'a.json', later, 'b.json'))).toContain('| 684 ms → 820 ms (+20%) |');
  });
});

describe('compare.html', () => {
  it('is one self-contained page whose every value is escaped', () => {
    const report = fixture('burst-oom');
    const hostile = structuredClone(report);
    hostile.scenario = '<script>alert(1)</script>';
    hostile.configs[0]!.outcome = 'survived';
    const html = renderCompareHtml(compareRuns(report, 'a&b.json', hostile, 'b".json'));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('a&amp;b.json');
    expect(html).toContain('<td class="changed">oom-killed-under-load → survived</td>');
    expect(html).not.toMatch(/<(link|img|iframe)\b|src=/);
  });
});
