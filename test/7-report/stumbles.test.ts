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
