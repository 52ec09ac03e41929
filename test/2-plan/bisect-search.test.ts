// The search logic of `oomlab bisect` alone: the prober here is a fake (a function of the value), not the
// engine — what is under test is which values the search asks for, how many, and what it concludes.
import { describe, expect, it } from 'vitest';
import { maxSearchProbes, searchBoundary, type ProbeRole, type SearchGrid } from '../../src/2-plan/bisect-search.ts';

/** A server that survives up to `threshold` and is killed above it; `flaky` values answer from a script. */
function fakeProber(threshold: number, flaky: Record<number, string[]> = {}) {
  const asked: { value: number; role: ProbeRole }[] = [];
  const probe = async (value: number, role: ProbeRole) => {
    asked.push({ value, role });
    const scripted = flaky[value]?.shift();
    const outcome = scripted ?? (value <= threshold ? 'survived' : 'oom-killed-under-load');
    return { outcome, result: value };
  };
  return { asked, probe };
}

describe('searchBoundary', () => {
  it('finds the boundary of every threshold in 2 + ceil(log2(range)) probes at most, before the repeats', async () => {
    for (const grid of [
      { lo: 300, hi: 2000, step: 1 },
      { lo: 300, hi: 2000, step: 50 },
      { lo: 1, hi: 2, step: 1 },
      { lo: 0, hi: 1000, step: 7 },
    ] satisfies SearchGrid[]) {
      const bound = 2 + Math.ceil(Math.log2(Math.ceil((grid.hi - grid.lo) / grid.step)));
      expect(maxSearchProbes(grid)).toBe(bound);
      const values = [...new Set([...Array(Math.ceil((grid.hi - grid.lo) / grid.step) + 1).keys()].map((i) => Math.min(grid.lo + i * grid.step, grid.hi)))];
      for (const threshold of values.slice(0, -1)) {
        const { asked, probe } = fakeProber(threshold);
        const found = await searchBoundary({ grid, repeat: 0, probe });
        expect(found.status).toBe('boundary');
        expect(found.boundary?.last).toEqual({ value: threshold, outcome: 'survived' });
        expect(found.boundary?.first).toEqual({ value: values[values.indexOf(threshold) + 1], outcome: 'oom-killed-under-load' });
        expect(asked.length).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('asks LO and HI first, then halves', async () => {
    const { asked, probe } = fakeProber(1234);
    await searchBoundary({ grid: { lo: 300, hi: 2000, step: 50 }, repeat: 0, probe });
    expect(asked.map((a) => `${a.role}:${a.value}`)).toEqual(['bound:300', 'bound:2000', 'search:1150', 'search:1550', 'search:1350', 'search:1250', 'search:1200']);
  });

  it('reaches HI when the step does not divide the range', async () => {
    const { probe } = fakeProber(95);
    const found = await searchBoundary({ grid: { lo: 0, hi: 100, step: 30 }, repeat: 0, probe });
    expect(found.boundary?.last.value).toBe(90);
    expect(found.boundary?.first.value).toBe(100);
  });

  it('says there is no boundary when LO and HI agree, after two probes', async () => {
    const { asked, probe } = fakeProber(5000);
    const found = await searchBoundary({ grid: { lo: 300, hi: 2000, step: 1 }, probe });
    expect(found).toMatchObject({ status: 'no-boundary', sameOutcome: 'survived' });
    expect(found.boundary).toBeUndefined();
    expect(asked).toHaveLength(2);
  });

  it('runs each side of the boundary K more times, and a stable one is not flaky', async () => {
    const { asked, probe } = fakeProber(640);
    const found = await searchBoundary({ grid: { lo: 300, hi: 2000, step: 10 }, repeat: 2, probe });
    expect(asked.filter((a) => a.role === 'repeat').map((a) => a.value)).toEqual([640, 650, 640, 650]);
    expect(found.boundary).toEqual({
      last: { value: 640, outcome: 'survived' },
      first: { value: 650, outcome: 'oom-killed-under-load' },
      outcomes: { last: ['survived', 'survived', 'survived'], first: ['oom-killed-under-load', 'oom-killed-under-load', 'oom-killed-under-load'] },
      flaky: false,
    });
  });

  it('hands the repeats over at once when it can run them together, and reads their answers in order', async () => {
    const { asked, probe } = fakeProber(640, { 650: ['oom-killed-under-load', 'oom-killed-under-load', 'survived'] });
    const batches: number[][] = [];
    const probeRepeats = async (values: number[]) => {
      batches.push(values);
      return Promise.all(values.map((value) => probe(value, 'repeat')));
    };
    const found = await searchBoundary({ grid: { lo: 300, hi: 2000, step: 10 }, repeat: 2, probe, probeRepeats });
    expect(batches).toEqual([[640, 650, 640, 650]]);
    expect(asked.filter((a) => a.role === 'repeat')).toHaveLength(4);
    expect(found.probes.filter((p) => p.role === 'repeat').map((p) => [p.value, p.outcome])).toEqual([
      [640, 'survived'],
      [650, 'oom-killed-under-load'],
      [640, 'survived'],
      [650, 'survived'],
    ]);
    expect(found.boundary?.flaky).toBe(true);
  });

  it('reports a flaky boundary with every outcome each side gave', async () => {
    // 650 is killed when the search asks, then survives one repeat of two.
    const { probe } = fakeProber(640, { 650: ['oom-killed-under-load', 'survived'] });
    const found = await searchBoundary({ grid: { lo: 300, hi: 2000, step: 10 }, repeat: 2, probe });
    expect(found.status).toBe('boundary');
    expect(found.boundary?.flaky).toBe(true);
    expect(found.boundary?.outcomes.first).toEqual(['oom-killed-under-load', 'survived', 'oom-killed-under-load']);
  });

  it('takes a third outcome as the other side: the boundary is where LO’s outcome ends', async () => {
    const probe = async (value: number) => ({ outcome: value < 10 ? 'oom-killed-at-startup' : value < 20 ? 'survived' : 'never-ready', result: value });
    const found = await searchBoundary({ grid: { lo: 0, hi: 30, step: 1 }, repeat: 0, probe });
    expect(found.boundary?.last).toEqual({ value: 9, outcome: 'oom-killed-at-startup' });
    expect(found.boundary?.first).toEqual({ value: 10, outcome: 'survived' });
  });

  it('stops at a probe that could not decide, with the probes so far', async () => {
    const probe = async (value: number) => ({ outcome: value === 1150 ? null : value <= 700 ? 'survived' : 'oom-killed-under-load', result: value });
    const found = await searchBoundary({ grid: { lo: 300, hi: 2000, step: 50 }, probe });
    expect(found.status).toBe('undecided');
    expect(found.probes.map((p) => p.value)).toEqual([300, 2000, 1150]);
  });

  it('stops when cancelled, after the probe under way', async () => {
    const controller = new AbortController();
    const probe = async (value: number) => {
      if (value === 1150) controller.abort();
      return { outcome: value <= 700 ? 'survived' : 'oom-killed-under-load', result: value };
    };
    const found = await searchBoundary({ grid: { lo: 300, hi: 2000, step: 50 }, probe, signal: controller.signal });
    expect(found.status).toBe('cancelled');
    expect(found.probes.map((p) => p.value)).toEqual([300, 2000, 1150]);
  });
});
