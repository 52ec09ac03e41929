import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/7-report/index.ts';
import { parseReport } from '../../src/0-model/parse-report.ts';
import type { RunReport } from '../../src/8-run/index.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/report-nofile-oom.json');
const fixture = (): RunReport => JSON.parse(readFileSync(FIXTURE, 'utf8')) as RunReport;

describe('report.md and --jobs', () => {
  it('says once how many configurations ran at once, and why that many', () => {
    const report = fixture();
    report.jobs = { jobs: 4, source: 'default', why: '2 per core on 2 cores; memory limits up to 19.2 GiB at once (MemAvailable less 2.4 GiB)', memoryBudgetBytes: 20_615_843_020 };
    report.configs.forEach((c, i) => {
      if (c.verdict !== 'skipped') c.concurrency = { jobs: 4, slots: [(i % 4) + 1], runningAtMost: i === 0 ? 3 : 4 };
    });
    expect(renderMarkdown(report)).toContain('Up to 4 configurations ran at once (--jobs 4, the default: 2 per core on 2 cores; memory limits up to 19.2 GiB at once (MemAvailable less 2.4 GiB)).');
    // A report of --jobs reads back through the schema.
    expect(parseReport(JSON.stringify(report), 'report.json').jobs?.jobs).toBe(4);
  });

  it('says nothing of it when one ran at a time, or in a report written before --jobs', () => {
    expect(renderMarkdown(fixture())).not.toContain('ran at once');
  });
});
