import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memorySplitOf } from '../../src/4-observe/index.ts';

// Read from oomlab/mariadb:10.11 12 s after its start in a 512 MiB container (cgroup v1, this project's host);
// its memory.max_usage_in_bytes then read 198995968 (190 MiB): page cache counted, which the headline peak is not.
const stat = readFileSync(new URL('../fixtures/cgroup/memory.stat-v1-mariadb-10.11-idle.txt', import.meta.url), 'utf8');

describe("a cgroup's memory split", () => {
  it('reads the anonymous memory and the page cache from a real v1 memory.stat (total_ counts the cgroup and its children)', () => {
    expect(memorySplitOf(stat)).toEqual({ anonBytes: 79335424, cacheBytes: 113872896 });
  });

  it('is undefined where memory.stat is missing or names neither', () => {
    expect(memorySplitOf(undefined)).toBeUndefined();
    expect(memorySplitOf('pgfault 22532\n')).toBeUndefined();
  });
});
