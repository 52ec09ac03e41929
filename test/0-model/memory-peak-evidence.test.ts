// The cgroup's evidence line: anon and page cache at the anonymous peak, and the usage peak beside them.
import { describe, expect, it } from 'vitest';
import { EVIDENCE } from '../../src/0-model/evidence.ts';

const line = (o: { peakBytes: number; anonPeakBytes: number; cacheBytes: number; limitBytes?: number }) =>
  EVIDENCE['memory-peak']({ kind: 'memory-peak', t: 0, instance: 'db', source: 'cgroup', ...o })!.text;

describe("a memory peak's evidence", () => {
  it('says what a usage peak well above anon + page cache holds (a newcomer read 262 MiB beside 104 + 85.7 MiB as wrong)', () => {
    // The newcomer's t1.micro survivor: anon 104 MiB, page cache 85.7 MiB, usage peak 262 MiB.
    expect(line({ peakBytes: 262 * 1024 ** 2, anonPeakBytes: 104 * 1024 ** 2, cacheBytes: 85.7 * 1024 ** 2 })).toBe(
      'peak anon 104 MiB (+ 85.7 MiB page cache), cgroup usage peak 262 MiB (all that was charged to it, kernel memory too, at its own highest moment)',
    );
  });

  it('adds nothing where they agree', () => {
    expect(line({ peakBytes: 1024 * 1024 ** 2, anonPeakBytes: 1022 * 1024 ** 2, cacheBytes: 27 * 1024 ** 2, limitBytes: 1024 ** 3 })).toBe(
      'peak anon 1022 MiB of 1 GiB limit (+ 27 MiB page cache), cgroup usage peak 1 GiB',
    );
  });
});
