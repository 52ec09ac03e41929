import { describe, expect, it } from 'vitest';
import { hostSettingChanges, switchesHostSettings } from '../../src/8-run/index.ts';
import { renderMarkdown } from '../../src/7-report/index.ts';
import type { PlannedConfig } from '../../src/2-plan/index.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import { readFileSync } from 'node:fs';

const config = (extra: Partial<PlannedConfig>): PlannedConfig => ({ id: 'x=1', index: 0, axes: { x: 1 }, instances: [{ name: 'a', image: 'oomlab/mariadb:10.11' }], expect: {}, limits: {}, ...extra });

describe('host-wide settings', () => {
  it('a configuration switches them by its THP, or by a thp or drop-caches step', () => {
    expect(switchesHostSettings(config({}))).toBe(false);
    expect(switchesHostSettings(config({ host: { thp: 'never' } }))).toBe(true);
    expect(switchesHostSettings(config({ steps: [{ name: 'drop', at: 1_000, action: { action: 'drop-caches' } }] }))).toBe(true);
    expect(switchesHostSettings(config({ host: { thp: 'never' }, skip: 'image missing' }))).toBe(false);
  });

  it('the report says when THP was not the same at the end of the run as at its start', () => {
    expect(hostSettingChanges('madvise', 'madvise')).toEqual([]);
    const changes = hostSettingChanges('madvise', 'always');
    expect(changes).toEqual([{ setting: 'THP', atStart: 'madvise', atEnd: 'always' }]);
    const report = JSON.parse(readFileSync(new URL('../fixtures/report-burst-oom.json', import.meta.url), 'utf8')) as RunReport;
    expect(renderMarkdown({ ...report, hostChanges: changes })).toContain(
      '**THP changed during the run**: madvise at its start, always at its end — another run or a person switched it, so configurations on either side of the switch ran on different hosts.',
    );
  });
});
