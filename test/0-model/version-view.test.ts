import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/0-model/report.ts';
import { cellText, versionView } from '../../src/0-model/version-view.ts';
import { renderHtml, renderMarkdown } from '../../src/7-report/index.ts';

// A real nofile-oom run of today's main (samples left out): the offline MariaDB ran, mysql:5.7 and 5.5 were not here (skipped).
const report = JSON.parse(readFileSync(new URL('../fixtures/report-nofile-oom-33.json', import.meta.url), 'utf8')) as RunReport;
const mariadb = 'oomlab/mariadb:10.11';

describe('versionView', () => {
  it('has one row per image and one column per combination of the other varying axes', () => {
    const view = versionView(report)!;
    expect(view.rows.map((r) => r.image)).toEqual(['mysql:5.7', 'mysql:5.5', mariadb]);
    const combos = new Set(report.configs.map((c) => `nofile=${c.axes.nofile},fix=${c.axes.fix},open_files_limit=${c.axes.open_files_limit}`));
    expect(view.columns.map((c) => c.key).sort()).toEqual([...combos].sort());
    const row = view.rows.find((r) => r.image === mariadb)!;
    expect(row.cells.filter(Boolean)).toHaveLength(report.configs.filter((c) => c.axes.image === mariadb).length);
  });

  it('says in one line per image what a change ticket needs', () => {
    const lines = versionView(report)!.rows.map((r) => r.line);
    expect(lines[0]).toMatch(/^mysql:5\.7: not run here \(image mysql:5\.7 is not here/);
    const killed = report.configs.filter((c) => c.axes.image === mariadb && c.outcome?.startsWith('oom-killed')).length;
    const ran = report.configs.filter((c) => c.axes.image === mariadb && c.verdict !== 'skipped').length;
    expect(lines[2]).toContain(
      `${mariadb}: OOM-killed in ${killed} of ${ran} configurations (nofile=1073741816 fix=none open_files_limit=explicit; nofile=1073741816 fix=tuned-my.cnf open_files_limit=explicit), survives the rest (every outcome as expected)`,
    );
  });

  it('is absent when the run has one image', () => {
    expect(versionView({ ...report, configs: report.configs.filter((c) => c.axes.image === mariadb) })).toBeUndefined();
  });

  it('shows each cell as its outcome and peak, in md and html', () => {
    const killed = report.configs.find((c) => c.outcome === 'oom-killed-at-startup')!;
    expect(cellText(killed)).toMatch(/^OOM at start-up \d/);
    expect(renderMarkdown(report)).toContain('## Upgrade view');
    expect(renderHtml(report)).toContain('<section id="upgrade-view"><h2>Upgrade view</h2>');
  });
});
