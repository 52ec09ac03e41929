import { ScenarioInvalidError } from './errors.ts';

/** Anything chosen with probability weight / sum of weights: a query of the mix, a path of a burst. */
export interface Weighted {
  readonly weight: number;
}

/**
 * A picker over `items`: each call draws one number from `random` (in [0, 1)) and returns an item
 * with probability weight / sum of weights. The weights are checked once, here.
 */
export function weightedPicker<T extends Weighted>(items: readonly T[], random: () => number = Math.random): () => T {
  if (items.length === 0) throw new ScenarioInvalidError('a weighted pick needs at least one item, got none');
  for (const { weight } of items) {
    if (!Number.isFinite(weight) || weight <= 0) throw new ScenarioInvalidError(`every weight of a weighted pick must be a positive number, got \`${weight}\``);
  }
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  const last = items[items.length - 1]!;
  return () => {
    let r = random() * total;
    for (const item of items) if ((r -= item.weight) < 0) return item;
    // Rounding can leave r a hair above zero after the last weight.
    return last;
  };
}
