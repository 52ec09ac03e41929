import { describe, expect, it } from 'vitest';
import { FULL_TEXT_VOCABULARY, postBodies } from '../../src/5-workload/feed.ts';

describe('postBodies', () => {
  it('writes p × length without full text, as every measured scenario seeded it', () => {
    expect(postBodies(false)(7)).toBe('ppppppp');
  });

  it('writes full-text bodies of exactly the length asked, in words of 4-9 letters from one vocabulary, the same on every run', () => {
    const lengths = [50, 123, 399, 50];
    const first = lengths.map(postBodies(true));
    expect(first.map((b) => b.length)).toEqual(lengths);
    expect(lengths.map(postBodies(true))).toEqual(first);
    // Every word but the last, cut at the length, is a whole vocabulary word.
    const whole = first.flatMap((b) => b.split(' ').slice(0, -1));
    expect(whole.every((w) => /^[a-z]{4,9}$/.test(w))).toBe(true);
    // Many distinct words: the prefixes of a search expand into thousands of them.
    const body = postBodies(true);
    const distinct = new Set(Array.from({ length: 2_000 }, () => body(300).split(' ')).flat());
    expect(distinct.size).toBeGreaterThan(FULL_TEXT_VOCABULARY / 2);
  });
});
