import { describe, expect, it } from 'vitest';
import { ScenarioInvalidError } from '../../src/0-model/errors.ts';
import { weightedPicker } from '../../src/0-model/pick.ts';

/** Returns the given draws in turn. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('weightedPicker', () => {
  const items = [
    { name: 'feed', weight: 3 },
    { name: 'popular', weight: 2 },
    { name: 'user', weight: 1 },
  ];

  it('maps a draw onto the weights laid end to end: [0, 3) feed, [3, 5) popular, [5, 6) user', () => {
    const pick = weightedPicker(items, draws(0, 0.49, 0.5, 0.8, 0.84, 0.99));
    expect(Array.from({ length: 6 }, () => pick().name)).toEqual(['feed', 'feed', 'popular', 'popular', 'user', 'user']);
  });

  it('draws one number per pick, so a seeded caller keeps its sequence', () => {
    let calls = 0;
    const pick = weightedPicker(items, () => (calls++, 0.5));
    pick();
    pick();
    expect(calls).toBe(2);
  });

  it('returns the last item when rounding leaves the draw past every weight', () => {
    expect(weightedPicker([{ weight: 0.1 }, { weight: 0.2 }], () => 0.9999999999999999)()).toEqual({ weight: 0.2 });
  });

  it('refuses no items and weights that are not positive numbers, quoting them', () => {
    expect(() => weightedPicker([])).toThrow(ScenarioInvalidError);
    expect(() => weightedPicker([])).toThrow('a weighted pick needs at least one item, got none');
    expect(() => weightedPicker([{ weight: 1 }, { weight: 0 }])).toThrow('every weight of a weighted pick must be a positive number, got `0`');
    expect(() => weightedPicker([{ weight: Number.NaN }])).toThrow('every weight of a weighted pick must be a positive number, got `NaN`');
  });
});
