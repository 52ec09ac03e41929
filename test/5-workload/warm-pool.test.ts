import { describe, expect, it } from 'vitest';
import { padLength, rowsToTarget } from '../../src/5-workload/warm-pool.ts';
import { warmUpText } from '../../src/0-model/evidence.ts';
import { instanceSchema } from '../../src/1-scenario/schema.ts';

describe('buffer pool warm-up', () => {
  it('writes rows of under half a page, so two fill a page inline whatever innodb_page_size', () => {
    for (const page of [4_096, 8_192, 16_384, 32_768, 65_536]) {
      expect(padLength(page) * 2).toBeLessThan(page);
      expect(padLength(page) * 2).toBeGreaterThan(page * 0.8);
    }
    expect(padLength(16_384)).toBe(6_881);
  });

  it('asks for two rows per page still missing to the target, and none once it is reached', () => {
    // MariaDB 10.11 with innodb_buffer_pool_size=1536M: 97 344 pages, 301 holding data once started.
    expect(rowsToTarget({ total: 97_344, data: 301, pageSizeBytes: 16_384 }, 0.95)).toBe((92_477 - 301) * 2);
    expect(rowsToTarget({ total: 97_344, data: 92_477, pageSizeBytes: 16_384 }, 0.95)).toBe(0);
    expect(rowsToTarget({ total: 97_344, data: 97_000, pageSizeBytes: 16_384 }, 0.5)).toBe(0);
  });

  it('says what the pool reached by the server`s own counts, and when it filled before the target', () => {
    const observed = {
      kind: 'warm-up' as const,
      t: 22_306,
      instance: 'db',
      targetFraction: 0.95,
      pagesTotal: 97_344,
      pagesDataBefore: 301,
      pagesDataAfter: 92_477,
      pageSizeBytes: 16_384,
      durationMs: 21_276,
    };
    expect(warmUpText({ ...observed, full: false })).toBe('buffer pool 95% full (92477 of 97344 pages, 1.4 GiB; 0% before) in 21.3 s, 95% asked');
    expect(warmUpText({ ...observed, targetFraction: 1, pagesDataAfter: 95_100, full: true })).toBe(
      'buffer pool 98% full (95100 of 97344 pages, 1.5 GiB; 0% before) in 21.3 s, stopped filling before the 100% asked: reads evict pages instead of growing the pool',
    );
    // A newcomer's 32M pool (t1.micro, MariaDB 10.11): 926 of 2028 pages, which read as "46% full … full before the 95% asked".
    expect(warmUpText({ ...observed, pagesTotal: 2028, pagesDataBefore: 0, pagesDataAfter: 926, full: true })).toBe(
      'buffer pool 46% full (926 of 2028 pages, 14.5 MiB; 0% before) in 21.3 s, stopped filling before the 95% asked: reads evict pages instead of growing the pool, as InnoDB keeps part of a pool this small free (up to innodb_lru_scan_depth pages)',
    );
  });

  it('takes a fraction of the pool above 0 and at most 1', () => {
    const base = { image: 'oomlab/mariadb:10.11' };
    expect(instanceSchema.safeParse({ ...base, warmup: { bufferPoolFraction: 0.9 } }).success).toBe(true);
    expect(instanceSchema.safeParse({ ...base, warmup: { bufferPoolFraction: 0 } }).success).toBe(false);
    expect(instanceSchema.safeParse({ ...base, warmup: { bufferPoolFraction: 1.5 } }).success).toBe(false);
    expect(instanceSchema.safeParse({ ...base, warmup: { bufferPoolPages: 10 } }).success).toBe(false);
  });
});
