import { describe, expect, it } from 'vitest';
import { latestSample } from '../../src/8-run/config-steps.ts';
import type { Observation } from '../../src/4-observe/index.ts';

const sample = (t: number, instance: string, source: 'cgroup' | 'status', metric: string, value: number): Observation => ({ kind: 'sample', t, instance, source, metric, value });

describe('what a `when` reads', () => {
  const observations = [
    sample(1_000, 'a', 'cgroup', 'memoryUsageBytes', 100),
    sample(1_000, 'a', 'status', 'Threads_connected', 5),
    sample(1_200, 'b', 'cgroup', 'memoryUsageBytes', 900),
    sample(2_000, 'a', 'cgroup', 'memoryUsageBytes', 300),
    sample(2_000, 'a', 'cgroup', 'memoryRssBytes', 999),
  ];

  it("reads an instance's latest cgroup memory and Threads_connected samples", () => {
    expect(latestSample({ observations }, 'a', 'memory')).toBe(300);
    expect(latestSample({ observations }, 'a', 'connections')).toBe(5);
    expect(latestSample({ observations }, 'b', 'memory')).toBe(900);
  });

  it('has nothing to read before the first sample', () => {
    expect(latestSample({ observations }, 'b', 'connections')).toBeUndefined();
  });
});
