import { describe, expect, it } from 'vitest';
import { dispatchArrivals, intendedStartTimes, totalDurationMs } from '../../src/5-workload/arrival.ts';

const perSecond = (times: number[]) => {
  const counts: number[] = [];
  for (const t of times) counts[Math.floor(t / 1000)] = (counts[Math.floor(t / 1000)] ?? 0) + 1;
  return counts;
};

describe('intendedStartTimes (ramping arrival rate, like k6)', () => {
  it('holds a constant rate exactly', () => {
    const times = intendedStartTimes([{ targetPerSecond: 100, durationMs: 3_000 }], 100);
    expect(times).toHaveLength(300);
    // Arrival k is at k/rate: the 100th lands at exactly 1.000 s, so it counts in second 1.
    expect(perSecond(times)).toEqual([99, 100, 100, 1]);
    expect(times[0]).toBeCloseTo(10, 6);
    expect(times.at(-1)).toBeCloseTo(3_000, 6);
  });

  it('ramps linearly: 0 → 100/s over 1s gives 50 arrivals, the first at √(2/100) s', () => {
    const times = intendedStartTimes([{ targetPerSecond: 100, durationMs: 1_000 }]);
    expect(times).toHaveLength(50);
    expect(times[0]).toBeCloseTo(Math.sqrt(2 / 100) * 1000, 6);
    // Arrivals get denser as the rate climbs.
    expect(times[1]! - times[0]!).toBeGreaterThan(times[49]! - times[48]!);
  });

  it('chains stages from where the previous one ended', () => {
    const times = intendedStartTimes([
      { targetPerSecond: 100, durationMs: 1_000 },
      { targetPerSecond: 100, durationMs: 2_000 },
      { targetPerSecond: 0, durationMs: 1_000 },
    ]);
    expect(times).toHaveLength(50 + 200 + 50);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('gives no arrival for a zero rate', () => {
    expect(intendedStartTimes([{ targetPerSecond: 0, durationMs: 5_000 }])).toEqual([]);
  });

  it("adds up the stages' durations", () => {
    expect(
      totalDurationMs([
        { targetPerSecond: 1, durationMs: 1_500 },
        { targetPerSecond: 2, durationMs: 2_500 },
      ]),
    ).toBe(4_000);
  });
});

describe('dispatchArrivals', () => {
  it('starts every arrival at or after its time, drops at the cap, and waits for room when asked', async () => {
    const started: number[] = [];
    const dropped: number[] = [];
    let running = 0;
    const t0 = performance.now();
    const elapsed = () => performance.now() - t0;
    // Three arrivals at once, room for two: the third is dropped.
    await dispatchArrivals([0, 0, 0, 30], {
      elapsed,
      signal: new AbortController().signal,
      maxInFlight: 2,
      inFlight: () => running,
      start: (intended, now) => {
        expect(now).toBeGreaterThanOrEqual(intended);
        started.push(intended);
        running++;
        setTimeout(() => running--, 10);
      },
      drop: (intended) => dropped.push(intended),
    });
    expect(started).toEqual([0, 0, 30]);
    expect(dropped).toEqual([0]);

    // With `wait`, nothing is dropped: the third waits for room.
    const held: number[] = [];
    running = 0;
    let release: () => void = () => {};
    await dispatchArrivals([0, 0, 0], {
      elapsed,
      signal: new AbortController().signal,
      maxInFlight: 2,
      inFlight: () => running,
      whenFull: 'wait',
      room: () => new Promise<void>((resolve) => (release = resolve)),
      start: (intended) => {
        held.push(intended);
        running++;
        if (running === 2)
          setTimeout(() => {
            running--;
            release();
          }, 5);
      },
      drop: () => expect.unreachable('nothing is dropped in wait mode'),
    });
    expect(held).toHaveLength(3);
  });

  it('stops at once when the signal aborts', async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const t0 = performance.now();
    setTimeout(() => controller.abort(), 20);
    await dispatchArrivals([0, 10_000], { elapsed: () => performance.now() - t0, signal: controller.signal, maxInFlight: 10, inFlight: () => 0, start: (i) => started.push(i), drop: () => {} });
    expect(started).toEqual([0]);
  });
});
