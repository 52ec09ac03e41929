import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireHostLease } from '../../src/3-runtime/docker/host-lease.ts';
import type { HostLeaseHolder } from '../../src/3-runtime/runtime.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oomlab-lease-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the host-settings lease', () => {
  it('makes a second run wait with one line, then refuses in one line naming the holder', async () => {
    const path = join(dir, 'host-settings.lease');
    const first = await acquireHostLease({ path, runId: 'run-a', scenario: 'thp-a' });
    const waiting: HostLeaseHolder[] = [];
    const second = await acquireHostLease({ path, runId: 'run-b', scenario: 'thp-b', waitMs: 50, pollMs: 10, onWaiting: (holder) => waiting.push(holder) }).catch(
      (e: unknown) => e as Error & { code: string },
    );
    expect(waiting).toEqual([first.holder]);
    expect((second as { code: string }).code).toBe('HOST_LEASE_BUSY');
    expect((second as Error).message).toBe(
      `host settings (THP, drop_caches) are held by run run-a of thp-a (pid ${process.pid}, since ${first.holder.since}) after waiting 0 s — let it finish or stop it; two runs on one host switch each other's THP`,
    );
    await first.release();
    const third = await acquireHostLease({ path, runId: 'run-b', scenario: 'thp-b', waitMs: 50, pollMs: 10 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ runId: 'run-b', pid: process.pid });
    await third.release();
  });

  it('takes over a lease whose run died', async () => {
    const path = join(dir, 'host-settings.lease');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(path, JSON.stringify({ pid: dead, runId: 'run-dead', scenario: 'x', since: '2026-12-06T20:00:00.000Z' }));
    const lease = await acquireHostLease({ path, runId: 'run-c', scenario: 'thp-c', waitMs: 50, pollMs: 10, onWaiting: () => expect.fail('a dead run holds nothing') });
    expect(lease.holder.runId).toBe('run-c');
    await lease.release();
  });
});
