import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/0-model/report.ts';
import { parseReport } from '../../src/0-model/parse-report.ts';
import { renderMarkdown } from '../../src/7-report/index.ts';

describe('a run with --set', () => {
  it('says in report.md what was set from the command line and what the file lists, and reads back', () => {
    const report = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/report-nofile-oom.json'), 'utf8')) as RunReport;
    report.overrides = [
      { axis: 'image', values: ['oomlab/mysql:9.7'], scenarioValues: ['mysql:5.7', 'mysql:5.5', 'oomlab/mariadb:10.11'] },
      { axis: 'memory', values: ['1g'], scenarioValues: ['4g'] },
    ];
    expect(renderMarkdown(report).split('\n')).toContain(
      'Set from the command line: `--set image=oomlab/mysql:9.7` (the file lists mysql:5.7, mysql:5.5, oomlab/mariadb:10.11); `--set memory=1g` (the file lists 4g).',
    );
    expect(parseReport(JSON.stringify(report), 'report.json').overrides).toEqual(report.overrides);
  });
});
