// What a newcomer stumbled on reading the report of their own incident (issue 22's trial, second pass).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/0-model/parse-report.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import { matchSignature } from '../../src/6-judge/index.ts';
import { renderHtml, renderMarkdown } from '../../src/7-report/index.ts';

const fixture = (name: string): RunReport => parseReport(readFileSync(join(import.meta.dirname, '..', 'fixtures', name), 'utf8'), name);

describe('the memory model’s figures in a report', () => {
  it('are defined under the table where "expected" first appears, with where the model is written down', () => {
    const lines = renderMarkdown(fixture('report-nofile-oom-v2.json')).split('\n');
    const first = lines.findIndex((l) => / expected \d/.test(l) || /<br>expected \d/.test(l));
    const legend = lines.findIndex((l) => l.startsWith('Peak memory: **expected**: '));
    expect(first).toBeGreaterThan(0);
    expect(legend).toBeGreaterThan(first);
    expect(lines.slice(0, first).some((l) => /expected \d/.test(l))).toBe(false);
    expect(lines[legend]).toBe(
      'Peak memory: **expected**: the memory model\'s prediction of the anonymous peak: the image\'s measured start-up footprint, the open-file table, the buffer pool as far as the data and the warm-up fill it, performance_schema, and the connections the workload holds at once, each with the buffers its statements fill; **worst case**: every connection max_connections allows, each with all its buffers at their maximum: a bound, not a forecast (docs/memory-model.md, "The expected peak" and "The formula").',
    );
  });

  it('are defined in report.html too', () => {
    expect(renderHtml(fixture('report-nofile-oom-v2.json'))).toContain('<p class="footnote legend">Peak memory: <strong>expected</strong>: the memory model&#39;s prediction of the anonymous peak');
  });
});

describe('a survivor whose load was not served (the DBA incident, a real run)', () => {
  const report = fixture('report-incident-dba.json');

  it('is not a clean pass in the answer: the headline says why, and the ranking says so beside it', () => {
    const lines = renderMarkdown(report).split('\n');
    expect(lines).toContain(
      '- 🔀 **Survived with fix=max-connections-10:** 1 of 1 configuration, peak anonymous memory 1.6 GiB of 2 GiB — as expected: the fix keeps the server inside its limit. But not a clean pass, the load was not served: only 34 of 1,500 sessions the load asked for completed; the server refused 1,466 of 1,500 sessions (1040 ER_CON_COUNT_ERROR ×1,466).',
    );
    expect(lines.find((l) => l.includes(' fix=default-buffers (but'))).toContain(
      'fix=default-buffers (but not a clean pass: only 3 of 1,500 sessions the load asked for completed: 1,247 waited at the in-flight cap and never started, 250 still running at the drain deadline; query p99 20.1 s)',
    );
  });

  it('says so in report.html beside the configuration', () => {
    expect(renderHtml(report)).toContain(
      '<small class="caveat">but not a clean pass: only 34 of 1,500 sessions the load asked for completed; the server refused 1,466 of 1,500 sessions (1040 ER_CON_COUNT_ERROR ×1,466)</small>',
    );
  });
});

describe('a stand-in image', () => {
  // The DBA incident's run, as if production had been MySQL 5.7 (the image here is MariaDB 10.11 either way).
  const report = fixture('report-incident-dba.json');
  const production = { ...report.signature!.production, server: { family: 'mysql' as const, version: '5.7' } };
  const signature = matchSignature(production, report.configs);
  const standIn = { ...report, signature };

  it("is named in the Reproduced line, in the signature's table and in the answer's headline", () => {
    expect(signature.standIn).toEqual({ image: 'oomlab/mariadb:10.11', production: 'MySQL 5.7' });
    const lines = renderMarkdown(standIn).split('\n');
    expect(lines).toContain(
      "Reproduced by image=oomlab/mariadb:10.11,fix=production,memory=2048m, with oomlab/mariadb:10.11 standing in for production's MySQL 5.7: scope, anon-rss as in production; total-vm differs (each server version reserves its own virtual space (MariaDB 10.11 terabytes of it): not decisive).",
    );
    expect(lines).toContain("| server (not decisive) | MySQL 5.7 | oomlab/mariadb:10.11 | differs | a stand-in: the image this host has; the scenario file's `Image:` comment says why |");
    expect(lines.find((l) => l.startsWith('- ✅ **Reproduced'))).toMatch(/^- ✅ \*\*Reproduced, with oomlab\/mariadb:10\.11 standing in for production's MySQL 5\.7:\*\* /);
    expect(renderHtml(standIn)).toContain('with oomlab/mariadb:10.11 standing in for production&#39;s MySQL 5.7');
  });

  it('is not claimed when the lab ran production’s own server', () => {
    const same = matchSignature({ ...production, server: { family: 'mariadb', version: '10.11', assumed: true } }, report.configs);
    expect(same.standIn).toBeUndefined();
    expect(same.summary).toMatch(/^Reproduced by image=oomlab\/mariadb:10\.11,fix=production,memory=2048m: /);
  });
});

describe('one numbering', () => {
  const report = fixture('report-incident-dba.json');

  it('report.md numbers each configuration #N as progress does, in the verdict table, the ranking and the evidence', () => {
    const lines = renderMarkdown(report).split('\n');
    // #3 is the third configuration the run started ([#3/4] on stderr): fix=max-connections-10, ranked first by headroom.
    expect(lines).toContain('| rank | configuration | outcome | verdict | peak / limit | headroom |');
    expect(lines.find((l) => l.startsWith('| 1 | '))).toMatch(/^\| 1 \| #3 fix=max-connections-10 /);
    expect(lines.find((l) => l.startsWith('| #3 | '))).toMatch(/^\| #3 \| max-connections-10 \| survived /);
    expect(lines).toContain('<details><summary>#3 <code>image=oomlab/mariadb:10.11,fix=max-connections-10,memory=2048m</code> — survived (pass)</summary>');
  });

  it('report.html heads its ranking column "rank", beside the same #N tags as its verdict table', () => {
    const page = renderHtml(report);
    expect(page).toContain('<thead><tr><th>rank</th><th>#</th><th>configuration');
    expect(page).toMatch(/<td class="num">1<\/td><td class="tag"><a href="#config-3">/);
  });
});

describe('a value set from the command line (--set memory=3g on the DBA scenario, whose file has 2048m)', () => {
  const base = fixture('report-incident-dba.json');
  const report: RunReport = {
    ...base,
    overrides: [{ axis: 'memory', values: ['3g'], scenarioValues: ['2048m'] }],
    configs: base.configs.map((c) => ({ ...c, axes: { ...c.axes, memory: '3g' } })),
  };
  const lines = renderMarkdown(report).split('\n');

  it('is said at the top, not only in the folded run details', () => {
    expect(lines.slice(0, 6)).toContain('**Set from the command line:** `--set memory=3g` (the file lists 2048m). Values the file does not list are marked (--set) wherever a configuration is named.');
  });

  it("never calls the configuration that ran at it the incident's own", () => {
    expect(lines.find((l) => l.startsWith('| 3 | '))).toMatch(/^\| 3 \| #1 the incident's configuration, but at memory=3g \(--set; the file has 2048m\) \| OOM-killed under load /);
    expect(lines).toContain("The lab's kill was at memory=3g (--set; the file has 2048m): production's configuration as the scenario file has it did not run.");
    expect(renderHtml(report)).toContain('<p class="set-values">Set from the command line: --set memory=3g (the file lists 2048m).');
  });

  it('leaves a report without --set as it was', () => {
    expect(renderMarkdown(base)).not.toContain('(--set');
    expect(renderMarkdown(base).split('\n')).toContain("| 3 | #1 the incident's configuration | OOM-killed under load | as expected | 2 GiB / 2 GiB anon | none: killed |");
  });
});

describe('a configuration cancelled by the user', () => {
  // nofile-oom's real report, with its first configuration as a SIGINT leaves it: an error ended by cancel.
  const base = fixture('report-nofile-oom-v2.json');
  const [first, ...rest] = base.configs;
  const cancelled = { ...first!, verdict: 'error' as const, endedBy: 'cancel' as const, outcome: null, reason: 'not decided: cancelled before it was decided' };
  const report = { ...base, endedBy: 'cancel' as const, configs: [cancelled, ...rest], summary: { ...base.summary, error: base.summary.error + 1 } };

  it('reads "cancelled, not decided" in the table and is counted apart from harness errors', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('cancelled, not decided');
    expect(md).toMatch(new RegExp(`, ${base.summary.error} could not decide \\(harness error\\), 1 cancelled, `));
    expect(renderHtml(report)).toContain('cancelled, not decided');
    expect(renderHtml(report)).toContain(`${base.summary.error} could not decide (harness error)</span> <span class="count error">1 cancelled</span>`);
  });
});
