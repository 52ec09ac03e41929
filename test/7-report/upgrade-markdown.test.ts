import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/0-model/report.ts';
import { renderMarkdown } from '../../src/7-report/index.ts';

// A real run of scenarios/upgrade-nofile.ts (8 configurations on mariadb:10.11, mysql:5.7 not here).
const report = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/report-upgrade-nofile.json'), 'utf8')) as RunReport;

describe("report.md's upgrade view", () => {
  const section = renderMarkdown(report).split('## Upgrade view')[1]!.split('<details>')[0]!;
  const table = section.split('\n').filter((line) => line.startsWith('|'));

  it('gives the ticket lines before the table', () => {
    expect(section.indexOf('For a change ticket:')).toBeLessThan(section.indexOf('| configuration |'));
  });

  it('is one row per configuration and one column per server that ran, so it stays narrow', () => {
    expect(table[0]).toBe('| configuration | oomlab/mariadb:10.11 |');
    expect(table).toHaveLength(2 + 1 + 8);
    expect(table).toContain('| nofile=1073741816 fix=none open_files_limit=explicit | ✅ OOM at start-up 4 GiB |');
    expect(Math.max(...table.map((line) => line.length))).toBeLessThan(120);
  });
});
