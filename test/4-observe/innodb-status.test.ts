import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXCERPT_WAITS, parseInnodbStatus, semaphoreWaitsUnavailable } from '../../src/4-observe/innodb-status.ts';

const fixture = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

// Reconstructed from incident 2's write-up (docs/incidents.md): MySQL 5.5's format, with the
// buf0buf.c line 2766 and trx0trx.c line 1622 (kernel_mutex) waits it quotes. Not captured here.
describe('parseInnodbStatus on incident 2 (MySQL 5.5.12, reconstructed)', () => {
  it('finds each semaphore wait with its file, line, seconds, lock and waiters flag', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-incident2-mysql55-reconstructed.txt'));
    expect(status.semaphoreWaits).toEqual([
      { thread: '1183124800', file: 'buf0buf.c', line: 2766, seconds: 0, request: 'Mutex', lock: '&buf_pool->mutex', waitersFlag: 1 },
      { thread: '1246636352', file: 'trx0trx.c', line: 1622, seconds: 0, request: 'Mutex', lock: '&kernel_mutex', waitersFlag: 1 },
      { thread: '1253283136', file: 'trx0trx.c', line: 1622, seconds: 1, request: 'Mutex', lock: '&kernel_mutex', waitersFlag: 1 },
    ]);
  });

  it('reads the OS wait array counts and the history list length', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-incident2-mysql55-reconstructed.txt'));
    expect(status).toMatchObject({ osWaitReservations: 18_432_117, osWaitSignals: 17_012_221, historyListLength: 1822 });
  });

  it('keeps the SEMAPHORES section, and only it, as the excerpt', async () => {
    const { semaphoresExcerpt } = parseInnodbStatus(await fixture('innodb-status-incident2-mysql55-reconstructed.txt'));
    expect(semaphoresExcerpt.split('\n')[0]).toBe('OS WAIT ARRAY INFO: reservation count 18432117, signal count 17012221');
    expect(semaphoresExcerpt.split('\n').at(-1)).toBe('Spin rounds per wait: 4.69 mutex, 15.61 RW-shared, 27.80 RW-excl');
    expect(semaphoresExcerpt).not.toContain('TRANSACTIONS');
  });
});

// Captured here from the offline MariaDB 10.11 during a storm of 200 sessions/s: since 10.6 its
// SEMAPHORES section is empty (no sync array), so there is nothing to find but the history list.
describe('parseInnodbStatus on MariaDB 10.11 under a storm (captured)', () => {
  it('finds no wait, an empty SEMAPHORES excerpt, and the history list length', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-mariadb-10.11-under-storm.txt'));
    expect(status.semaphoreWaits).toEqual([]);
    expect(status.semaphoresExcerpt).toBe('');
    expect(status.osWaitReservations).toBeUndefined();
    expect(status.historyListLength).toBe(49);
  });
});

// Captured here with tools/capture-innodb-status.ts --new-connection (64 writers on a hot row and an
// append-only table, 32 readers, every statement on a connection of its own, the server on one core,
// a 16 MiB buffer pool): MariaDB 10.5 still prints the wait array's cells.
describe('parseInnodbStatus on MariaDB 10.5.23 under a storm (captured)', () => {
  const status = async () => parseInnodbStatus(await fixture('innodb-status-mariadb-10.5-under-storm.txt'));

  it('finds all 47 waits, each with its file, line, seconds, request, latch and waiters flag', async () => {
    const { semaphoreWaits } = await status();
    expect(semaphoreWaits).toHaveLength(47);
    expect(semaphoreWaits.slice(0, 2)).toEqual([
      { thread: '139621761918720', file: 'row0ins.cc', line: 3041, seconds: 0, request: 'S-lock', lock: 'RW-latch created in buf0buf.cc line 1046', waitersFlag: 1 },
      { thread: '139621776049920', file: 'row0ins.cc', line: 3041, seconds: 0, request: 'X-lock', lock: 'RW-latch created in buf0buf.cc line 1046', waitersFlag: 1 },
    ]);
    expect(new Set(semaphoreWaits.map((w) => w.request))).toEqual(new Set(['S-lock', 'X-lock', 'SX-lock', 'X-lock (wait_ex)']));
    // The index tree's latch (dict0dict.cc), taken in SX mode by a page split.
    expect(semaphoreWaits.filter((w) => w.lock === 'RW-latch created in dict0dict.cc line 2137').map((w) => w.request)).toEqual(Array(7).fill('SX-lock'));
  });

  it('marks the wait that ended while the status was printed', async () => {
    const ended = (await status()).semaphoreWaits.filter((w) => w.ended);
    expect(ended).toEqual([
      { thread: '139621775128320', file: 'row0ins.cc', line: 3041, seconds: 0, request: 'X-lock', lock: 'RW-latch created in buf0buf.cc line 1046', waitersFlag: 1, ended: true },
    ]);
  });

  it('reads the reservation and signal counts from their own lines', async () => {
    expect(await status()).toMatchObject({ osWaitReservations: 3371, osWaitSignals: 1172, historyListLength: 825 });
  });

  it('keeps the first waits in the excerpt, counts the rest, and keeps the counters after them', async () => {
    const lines = (await status()).semaphoresExcerpt.split('\n');
    expect(lines[0]).toBe('OS WAIT ARRAY INFO: reservation count 3371');
    expect(lines.filter((l) => l.startsWith('--Thread'))).toHaveLength(EXCERPT_WAITS);
    expect(lines.slice(-6)).toEqual([
      `… ${47 - EXCERPT_WAITS} more waits (47 in all)`,
      'OS WAIT ARRAY INFO: signal count 1172',
      'RW-shared spins 688, rounds 21098, OS waits 264',
      'RW-excl spins 1190, rounds 82305, OS waits 2306',
      'RW-sx spins 131, rounds 3717, OS waits 18',
      'Spin rounds per wait: 30.67 RW-shared, 69.16 RW-excl, 28.37 RW-sx',
    ]);
  });
});

// Captured the same way from Oracle MySQL 9.7.4: whole seconds (`for 0 seconds`), source paths in
// `Last time write locked`, `number of readers 1 (thread id …)`.
describe('parseInnodbStatus on MySQL 9.7.4 under a storm (captured)', () => {
  it('finds all 44 waits on page and index latches', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-mysql-9.7-under-storm.txt'));
    expect(status.semaphoreWaits).toHaveLength(44);
    expect(status.semaphoreWaits[0]).toEqual({
      thread: '139753124898496',
      file: 'btr0cur.cc',
      line: 210,
      seconds: 0,
      request: 'S-lock',
      lock: 'RW-latch created in buf0buf.cc line 853',
      waitersFlag: 1,
    });
    expect(status.semaphoreWaits.filter((w) => w.lock === 'RW-latch created in dict0dict.cc line 2677')).toEqual([expect.objectContaining({ file: 'btr0cur.cc', line: 832, request: 'SX-lock' })]);
    expect(status).toMatchObject({ osWaitReservations: 10130, osWaitSignals: 2717, historyListLength: 161 });
  });

  // Captured as 96 pooled connections began their first transactions at once: InnoDB hands out trx
  // objects from one pool under one mutex, and the 8.0+ format names the mutex by its latch id.
  it('names a mutex by its latch id, without a waiters flag (8.0+ prints none)', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-mysql-9.7-trx-pool-mutex.txt'));
    expect(status.semaphoreWaits).toHaveLength(84);
    expect(new Set(status.semaphoreWaits.map(({ thread: _, ...w }) => JSON.stringify(w)))).toEqual(
      new Set([JSON.stringify({ file: 'trx0trx.cc', line: 391, seconds: 0, request: 'Mutex', lock: 'TRX_POOL' })]),
    );
    expect(status).toMatchObject({ osWaitReservations: 98, osWaitSignals: 14 });
  });
});

// The same storm on MariaDB 11.8.9: 101 samples, none with a wait; the section stays empty.
describe('parseInnodbStatus on MariaDB 11.8 under the same storm (captured)', () => {
  it('finds no wait and an empty excerpt', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-mariadb-11.8-under-storm.txt'));
    expect(status.semaphoreWaits).toEqual([]);
    expect(status.semaphoresExcerpt).toBe('');
  });
});

describe('semaphoreWaitsUnavailable', () => {
  it('says so for MariaDB 10.6 and later, naming the version', () => {
    expect(semaphoreWaitsUnavailable('10.11.18-MariaDB-0+deb12u1')).toBe(
      'MariaDB 10.6+ prints no semaphore waits in SHOW ENGINE INNODB STATUS (the wait array was removed): none can be shown here (10.11.18-MariaDB-0+deb12u1)',
    );
    expect(semaphoreWaitsUnavailable('11.8.9-MariaDB-0+deb13u1 from Debian')).toMatch(/^MariaDB 10\.6\+ prints no semaphore waits/);
    expect(semaphoreWaitsUnavailable('10.6.0-MariaDB')).toBeDefined();
    expect(semaphoreWaitsUnavailable('5.5.5-10.6.12-MariaDB')).toBeDefined();
  });

  it('is undefined where the server prints the wait array: MariaDB to 10.5, MySQL, Percona', () => {
    for (const version of ['10.5.23-MariaDB-0+deb11u1', '10.4.32-MariaDB', '9.7.4-2', '8.0.36', '5.7.44', '5.5.12-log', '5.7.44-48']) {
      expect(semaphoreWaitsUnavailable(version), version).toBeUndefined();
    }
  });
});

describe('parseInnodbStatus on other text', () => {
  it('returns no wait and an empty excerpt for text without a SEMAPHORES section', () => {
    expect(parseInnodbStatus('nothing here')).toEqual({ semaphoreWaits: [], semaphoresExcerpt: '' });
  });
});
