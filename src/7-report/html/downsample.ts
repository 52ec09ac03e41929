// A chart cannot show more points than it has pixel columns: long series are cut to a few points per
// column, keeping each column's first, lowest, highest and last point (M4), so every peak and every
// trough is drawn exactly as sampled and the line's shape does not change at the chart's width.

/** Points a chart keeps per series: four per column of a 1400 px plot, at most. */
export const MAX_CHART_POINTS = 4 * 1400;

/**
 * `points` sorted by time, reduced to at most about `maxPoints`: the time range is cut into
 * maxPoints/4 columns and each keeps its first, min, max and last point. A point at one of `keep`'s
 * times (an OOM kill, a step) and the points either side of it are always kept, so what happened
 * just before a marker is drawn as sampled.
 */
export function downsample(points: readonly [number, number][], maxPoints = MAX_CHART_POINTS, keep: readonly number[] = []): [number, number][] {
  if (points.length <= maxPoints) return points.slice();
  const columns = Math.max(1, Math.floor(maxPoints / 4));
  const first = points[0]![0];
  const span = points.at(-1)![0] - first || 1;
  const kept = new Set<number>([0, points.length - 1]);
  for (const t of keep) {
    const index = nearestIndex(points, t);
    for (const i of [index - 1, index, index + 1]) if (i >= 0 && i < points.length) kept.add(i);
  }
  let column = -1;
  let start = 0;
  const flush = (end: number) => {
    if (end <= start) return;
    let low = start;
    let high = start;
    for (let i = start; i < end; i++) {
      if (points[i]![1] < points[low]![1]) low = i;
      if (points[i]![1] > points[high]![1]) high = i;
    }
    kept
      .add(start)
      .add(low)
      .add(high)
      .add(end - 1);
  };
  for (let i = 0; i < points.length; i++) {
    const c = Math.min(columns - 1, Math.floor(((points[i]![0] - first) / span) * columns));
    if (c !== column) {
      flush(i);
      column = c;
      start = i;
    }
  }
  flush(points.length);
  return [...kept].sort((a, b) => a - b).map((i) => points[i]!);
}

/** Index of the last point at or before `t` (the first point when `t` is earlier than all). */
function nearestIndex(points: readonly [number, number][], t: number): number {
  let low = 0;
  let high = points.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (points[mid]![0] <= t) low = mid;
    else high = mid - 1;
  }
  return low;
}
