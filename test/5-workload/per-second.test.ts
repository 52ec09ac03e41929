import { describe, expect, it } from 'vitest';
import { PerSecondPercentiles, percentilesOf } from '../../src/5-workload/storm/per-second.ts';

describe('PerSecondPercentiles', () => {
  it('gives each second the percentiles of its own values, whenever it was closed', () => {
    const perSecond = new PerSecondPercentiles();
    for (let v = 1; v <= 100; v++) perSecond.add(0, v);
    perSecond.add(1, 7);
    perSecond.closeBefore(1);
    perSecond.add(1, 9);
    expect(perSecond.of(0)).toEqual({ latencyP50Ms: 50, latencyP90Ms: 90, latencyP99Ms: 99 });
    expect(perSecond.of(1)).toEqual(percentilesOf([7, 9]));
    expect(perSecond.of(2)).toBeUndefined();
  });

  it('keeps a second open while a value is expected for it, and closes it when the last expected one settles', () => {
    const perSecond = new PerSecondPercentiles();
    perSecond.expect(0);
    perSecond.add(0, 5);
    perSecond.closeBefore(3);
    // Still open: the connecting session of second 0 may add its latency.
    expect(perSecond.openSeconds).toBe(1);
    perSecond.add(0, 500);
    perSecond.settle(0);
    expect(perSecond.openSeconds).toBe(0);
    // Closed by the settle: a value now would open it again and is not expected by design; `of` reads the closed figures.
    expect(perSecond.of(0)).toEqual(percentilesOf([5, 500]));
  });

  it('drops the values of a closed second (what keeps a long storm flat)', () => {
    const perSecond = new PerSecondPercentiles();
    for (let second = 0; second < 1_000; second++) {
      for (let v = 0; v < 100; v++) perSecond.add(second, v);
      perSecond.closeBefore(second);
    }
    // Only the last second is open: its values are the only ones kept.
    expect(perSecond.openSeconds).toBe(1);
    expect(perSecond.of(500)).toEqual({ latencyP50Ms: 49, latencyP90Ms: 89, latencyP99Ms: 98 });
  });
});
