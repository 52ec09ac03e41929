import { describe, expect, it } from 'vitest';
import { downsample } from '../../src/7-report/html/downsample.ts';

/** 30 minutes at 200 ms: a sawtooth with noise, one narrow spike and a kill marker. */
function longSeries(): [number, number][] {
  const points: [number, number][] = [];
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 9_000; i++) {
    const t = i * 0.2;
    points.push([t, 500 + (i % 600) + random() * 20]);
  }
  // One sample of a spike 10× the rest, as a burst's peak just before a kill looks.
  points[4_321] = [points[4_321]![0], 9_999];
  return points;
}

describe('downsample', () => {
  it('leaves a series that fits alone', () => {
    const points: [number, number][] = [
      [0, 1],
      [1, 5],
      [2, 3],
    ];
    expect(downsample(points, 10)).toEqual(points);
  });

  it('cuts 9000 points to at most the budget and keeps the highest and lowest of every column', () => {
    const points = longSeries();
    const reduced = downsample(points, 400);
    expect(reduced.length).toBeLessThanOrEqual(400);
    expect(reduced.length).toBeGreaterThan(100);
    // The peak and the trough survive exactly, with their times.
    const peak = points.reduce((a, b) => (b[1] > a[1] ? b : a));
    const trough = points.reduce((a, b) => (b[1] < a[1] ? b : a));
    expect(reduced).toContainEqual(peak);
    expect(reduced).toContainEqual(trough);
    expect(reduced[0]).toEqual(points[0]);
    expect(reduced.at(-1)).toEqual(points.at(-1));
    // Still in time order, and every point is one that was sampled.
    const sampled = new Set(points.map(([t, v]) => `${t}:${v}`));
    expect(reduced.every(([t, v], i) => sampled.has(`${t}:${v}`) && (i === 0 || reduced[i - 1]![0] < t))).toBe(true);
  });

  it('keeps the samples either side of a marker (an OOM kill) even where they are neither min nor max', () => {
    const points = longSeries();
    const killAt = points[6_150]![0] + 0.1;
    const reduced = downsample(points, 400, [killAt]);
    expect(reduced).toContainEqual(points[6_150]);
    expect(reduced).toContainEqual(points[6_151]);
    expect(reduced).toContainEqual(points[6_149]);
    // Without the marker the same point is not kept: the test above is not vacuous.
    expect(downsample(points, 400)).not.toContainEqual(points[6_150]);
  });
});
