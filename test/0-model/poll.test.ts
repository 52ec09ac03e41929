import { describe, expect, it } from 'vitest';
import { poll, type PollClock } from '../../src/0-model/poll.ts';

/** A clock that moves only when `poll` waits, or when an attempt says it took time: no real time passes. */
function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  const clock: PollClock & { advance(ms: number): void; waits: number[] } = {
    now: () => now,
    sleep: async (ms, signal) => {
      waits.push(ms);
      if (!signal.aborted) now += ms;
    },
    advance: (ms) => (now += ms),
    waits,
  };
  return clock;
}

describe('poll', () => {
  it('returns the first value that is neither undefined nor false, with the attempts it took', async () => {
    const clock = fakeClock();
    const answers = [undefined, false, 'ready'];
    const result = await poll((n) => answers[n - 1], { intervalMs: 250, clock });
    expect(result).toEqual({ done: true, value: 'ready', attempts: 3, afterMs: 500 });
    expect(clock.waits).toEqual([250, 250]);
  });

  it('waits only what an attempt left of the interval, and not at all after a slow one', async () => {
    const clock = fakeClock();
    const took = [100, 400, 0];
    await poll((n) => (clock.advance(took[n - 1]!), n === 3), { intervalMs: 250, clock });
    expect(clock.waits).toEqual([150, 0]);
  });

  it('gives up at the timeout, after a last attempt at the deadline', async () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const result = await poll(() => (seen.push(clock.now()), undefined), { intervalMs: 400, timeoutMs: 1_000, clock });
    expect(result).toEqual({ done: false, why: 'timeout', attempts: 4, afterMs: 1_000 });
    expect(seen).toEqual([0, 400, 800, 1_000]);
  });

  it('answers cancel before an attempt once the signal has aborted', async () => {
    const controller = new AbortController();
    const result = await poll((n) => (n === 2 && controller.abort(), undefined), { intervalMs: 10, signal: controller.signal, clock: fakeClock() });
    expect(result).toEqual({ done: false, why: 'cancel', attempts: 2, afterMs: 10 });
  });

  it('cuts a wait short when `wake` settles, with the real clock', async () => {
    let woken = false;
    const wake = Promise.resolve().then(() => (woken = true));
    // An hour between attempts: only the wake can bring the second one.
    const result = await poll((n) => n === 2 && woken, { intervalMs: 3_600_000, wake });
    expect(result).toMatchObject({ done: true, value: true, attempts: 2 });
  });

  it('ends a real wait when the signal aborts, as cancel', async () => {
    const controller = new AbortController();
    const result = await poll((n) => (n === 1 && queueMicrotask(() => controller.abort()), undefined), { intervalMs: 3_600_000, signal: controller.signal });
    expect(result).toMatchObject({ done: false, why: 'cancel', attempts: 1 });
  });

  it("lets an attempt's error through", async () => {
    await expect(poll(() => Promise.reject(new Error('engine gone')), { intervalMs: 10, clock: fakeClock() })).rejects.toThrow('engine gone');
  });
});
