// What a newcomer stumbled on reading the report of their own incident (issue 22's trial, second pass).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/0-model/parse-report.ts';
import type { RunReport } from '../../src/0-model/report.ts';
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
    expect(lines.find((l) => l.includes('| fix=default-buffers (but'))).toContain(
      'fix=default-buffers (but not a clean pass: only 3 of 1,500 sessions the load asked for completed: 1,247 waited at the in-flight cap and never started, 250 still running at the drain deadline; query p99 20.1 s)',
    );
  });

  it('says so in report.html beside the configuration', () => {
    expect(renderHtml(report)).toContain(
      '<small class="caveat">but not a clean pass: only 34 of 1,500 sessions the load asked for completed; the server refused 1,466 of 1,500 sessions (1040 ER_CON_COUNT_ERROR ×1,466)</small>',
    );
  });
});
