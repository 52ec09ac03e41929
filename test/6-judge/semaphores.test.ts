import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInnodbStatus } from '../../src/4-observe/innodb-status.ts';
import { judgeInstance, semaphoreEvidence, summariseSemaphores } from '../../src/6-judge/index.ts';
import { formatWith, type Observation } from '../../src/0-model/observation.ts';
import { EVIDENCE } from '../../src/0-model/evidence.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** A sample as the load sampler records it, from a captured status and the server's @@version. */
function sample(name: string, version: string | undefined, t: number, instance = 'a'): Observation {
  const status = parseInnodbStatus(fixture(name));
  return { kind: 'innodb-status', t, instance, semaphoreWaits: status.semaphoreWaits, excerpt: status.semaphoresExcerpt, ...(version ? { version } : {}) };
}

const MARIADB_105 = '10.5.23-MariaDB-0+deb11u1';
const MARIADB_118 = '11.8.9-MariaDB-0+deb13u1 from Debian';
const MYSQL_97 = '9.7.4-2';

describe('summariseSemaphores', () => {
  it('counts waits by place over the samples, most waits first, with the longest wait in ms', () => {
    const summary = summariseSemaphores([
      sample('innodb-status-mariadb-10.5-under-storm.txt', MARIADB_105, 1_000),
      sample('innodb-status-mariadb-10.11-under-storm.txt', MARIADB_105, 2_000),
      sample('innodb-status-mariadb-10.5-under-storm.txt', MARIADB_105, 3_000),
      sample('innodb-status-incident2-mysql55-reconstructed.txt', MARIADB_105, 4_000),
    ])!;
    expect(summary).toMatchObject({ version: MARIADB_105, samples: 4, samplesWithWaits: 3, waits: 2 * 47 + 3 });
    expect(summary.unavailable).toBeUndefined();
    expect(summary.sites).toHaveLength(10);
    expect(summary.sites[0]).toEqual({ file: 'row0sel.cc', line: 3597, request: 'S-lock', lock: 'RW-latch created in buf0buf.cc line 1046', waits: 28, samples: 2, longestMs: 0, waitersFlag: 1 });
    const waits = summary.sites.map((s) => s.waits);
    expect(waits).toEqual([...waits].sort((a, b) => b - a));
  });

  it('turns the seconds the server printed into ms: the 1.00 s wait on kernel_mutex of incident 2', () => {
    const summary = summariseSemaphores([sample('innodb-status-incident2-mysql55-reconstructed.txt', '5.5.12-log', 1_000)])!;
    expect(summary.sites).toEqual([
      { file: 'trx0trx.c', line: 1622, request: 'Mutex', lock: '&kernel_mutex', waits: 2, samples: 1, longestMs: 1000, waitersFlag: 1 },
      { file: 'buf0buf.c', line: 2766, request: 'Mutex', lock: '&buf_pool->mutex', waits: 1, samples: 1, longestMs: 0, waitersFlag: 1 },
    ]);
  });

  it('marks a MariaDB 10.6+ server from its @@version, whatever its image was called', () => {
    const summary = summariseSemaphores([sample('innodb-status-mariadb-11.8-under-storm.txt', MARIADB_118, 1_000)])!;
    expect(summary).toEqual({
      version: MARIADB_118,
      samples: 1,
      samplesWithWaits: 0,
      waits: 0,
      sites: [],
      unavailable: `MariaDB 10.6+ prints no semaphore waits in SHOW ENGINE INNODB STATUS (the wait array was removed): none can be shown here (${MARIADB_118})`,
    });
  });

  it('is undefined where no status was read', () => {
    expect(summariseSemaphores([{ kind: 'readiness', t: 1, instance: 'a', ready: true, afterMs: 1, why: 'ping' }])).toBeUndefined();
  });
});

describe('semaphoreEvidence', () => {
  it('names the top three places with file:line, count, longest wait and latch', () => {
    const line = semaphoreEvidence(summariseSemaphores([sample('innodb-status-mysql-9.7-trx-pool-mutex.txt', MYSQL_97, 1_000)]));
    expect(line).toEqual({ source: 'innodb-status', text: '84 semaphore waits in 1 of 1 sample of SHOW ENGINE INNODB STATUS (9.7.4-2): trx0trx.cc:391 ×84 in 1 sample, up to 0 ms (mutex TRX_POOL)' });
  });

  it('says that none were seen on a server that would list them', () => {
    const empty: Observation = { kind: 'innodb-status', t: 1, instance: 'a', semaphoreWaits: [], excerpt: 'OS WAIT ARRAY INFO: reservation count 1', version: MYSQL_97 };
    expect(semaphoreEvidence(summariseSemaphores([empty, { ...empty, t: 2 }]))?.text).toBe('no semaphore wait in 2 samples of SHOW ENGINE INNODB STATUS (9.7.4-2)');
  });
});

describe('judgeInstance', () => {
  it('carries one InnoDB line for all samples: why a MariaDB 10.6+ server shows none', () => {
    const observations: Observation[] = [
      { kind: 'readiness', t: 100, instance: 'a', ready: true, afterMs: 100, why: 'ping' },
      sample('innodb-status-mariadb-11.8-under-storm.txt', MARIADB_118, 1_000),
      sample('innodb-status-mariadb-11.8-under-storm.txt', MARIADB_118, 2_000),
      { kind: 'container-state', t: 3_000, instance: 'a', status: 'running', oomKilled: false, exitCode: 0 },
    ];
    const evidence = judgeInstance('a', { outcome: 'survived' }, observations).evidence.filter((e) => e.source === 'innodb-status');
    expect(evidence).toEqual([
      { source: 'innodb-status', text: expect.stringMatching(/^MariaDB 10\.6\+ prints no semaphore waits in SHOW ENGINE INNODB STATUS \(the wait array was removed\): none can be shown here/) },
    ]);
  });
});

describe("a sample's line in the timeline", () => {
  it('gives each of the first three waits as file:line, the wait in ms and the latch', () => {
    expect(formatWith(EVIDENCE, sample('innodb-status-incident2-mysql55-reconstructed.txt', '5.5.12-log', 1_000))).toEqual({
      source: 'innodb-status',
      text: '3 semaphore wait(s): buf0buf.c:2766 waited 0 ms (mutex &buf_pool->mutex, waiters flag 1); trx0trx.c:1622 waited 0 ms (mutex &kernel_mutex, waiters flag 1); trx0trx.c:1622 waited 1000 ms (mutex &kernel_mutex, waiters flag 1)',
    });
  });
});
