import { describe, expect, it } from 'vitest';
import { anonBytesOf } from '../../src/4-observe/index.ts';

describe('anonBytesOf', () => {
  it("reads a v1 container's total_rss (with its children), not its own rss", () => {
    expect(anonBytesOf('cache 4096\nrss 1000\nrss_huge 0\ntotal_cache 8192\ntotal_rss 80474112\n')).toBe(80_474_112);
  });

  it("reads a v2 cgroup's anon", () => {
    expect(anonBytesOf('anon 38760448\nfile 1048576\nkernel 0\nanon_thp 0\n')).toBe(38_760_448);
  });

  it('is undefined without the file or the line', () => {
    expect(anonBytesOf(undefined)).toBeUndefined();
    expect(anonBytesOf('file 1048576\n')).toBeUndefined();
  });
});
