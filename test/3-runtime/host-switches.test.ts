import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restoreAbandonedHostSettings, selectedMode, switchHostSetting, THP_ENABLED_PATH, thpUnswitchableReason } from '../../src/3-runtime/docker/host-switches.ts';

// A plain file stands in for the sysfs selector here: the real one is switched by the scraping-burst
// integration test, which checks that the host's THP mode is back afterwards.
let dir: string;
let selector: string;
let records: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oomlab-switch-'));
  selector = join(dir, 'enabled');
  records = join(dir, 'restore.json');
  await writeFile(selector, 'always [madvise] never\n');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('host switches', () => {
  it('reads the bracketed choice', () => {
    expect(selectedMode('always [madvise] never')).toBe('madvise');
    expect(selectedMode('always defer defer+madvise [defer+madvise] never')).toBe('defer+madvise');
    expect(selectedMode('always madvise never')).toBeUndefined();
  });

  it('records the original before switching and forgets it once restored', async () => {
    const change = await switchHostSetting(selector, 'never', { recordFile: records });
    expect(await readFile(selector, 'utf8')).toBe('never');
    expect(JSON.parse(await readFile(records, 'utf8'))).toEqual([{ path: selector, original: 'madvise', ownerPid: process.pid }]);
    await change.restore();
    expect(await readFile(selector, 'utf8')).toBe('madvise');
    await expect(readFile(records, 'utf8')).rejects.toThrow();
  });

  it('restores what a dead run left switched, and keeps what a live run holds', async () => {
    await writeFile(selector, 'always madvise [never]');
    await writeFile(records, JSON.stringify([{ path: selector, original: 'always', ownerPid: 2 ** 22 + 12345 }]));
    expect(await restoreAbandonedHostSettings({ recordFile: records })).toEqual([{ path: selector, value: 'always' }]);
    expect(await readFile(selector, 'utf8')).toBe('always');

    await writeFile(records, JSON.stringify([{ path: selector, original: 'always', ownerPid: process.ppid }]));
    expect(await restoreAbandonedHostSettings({ recordFile: records })).toEqual([]);
  });

  it('says whether this host lets THP be switched', async () => {
    const reason = await thpUnswitchableReason(THP_ENABLED_PATH);
    const writable = await writeFile(THP_ENABLED_PATH, selectedMode(await readFile(THP_ENABLED_PATH, 'utf8').catch(() => '')) ?? '').then(
      () => true,
      () => false,
    );
    expect(reason === undefined).toBe(writable);
    expect(await thpUnswitchableReason(join(dir, 'missing'))).toMatch(/kernel without transparent hugepages/);
  });
});
