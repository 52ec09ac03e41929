import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseInnodbStatus } from '../../src/4-observe/innodb-status.ts';

const fixture = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

// Reconstructed from incident 2's write-up (docs/incidents.md): MySQL 5.5's format, with the
// buf0buf.c line 2766 and trx0trx.c line 1622 (kernel_mutex) waits it quotes. Not captured here.
describe('parseInnodbStatus on incident 2 (MySQL 5.5.12, reconstructed)', () => {
  it('finds each semaphore wait with its file, line, seconds, lock and waiters flag', async () => {
    const status = parseInnodbStatus(await fixture('innodb-status-incident2-mysql55-reconstructed.txt'));
    expect(status.semaphoreWaits).toEqual([
      { thread: '1183124800', file: 'buf0buf.c', line: 2766, seconds: 0, lock: '&buf_pool->mutex', waitersFlag: 1 },
      { thread: '1246636352', file: 'trx0trx.c', line: 1622, seconds: 0, lock: '&kernel_mutex', waitersFlag: 1 },
      { thread: '1253283136', file: 'trx0trx.c', line: 1622, seconds: 1, lock: '&kernel_mutex', waitersFlag: 1 },
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

describe('parseInnodbStatus on other text', () => {
  it('returns no wait and an empty excerpt for text without a SEMAPHORES section', () => {
    expect(parseInnodbStatus('nothing here')).toEqual({ semaphoreWaits: [], semaphoresExcerpt: '' });
  });
});
