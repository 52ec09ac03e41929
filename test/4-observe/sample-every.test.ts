import { describe, expect, it } from 'vitest';
import { sampleEvery } from '../../src/4-observe/sample-every.ts';

describe('sampleEvery', () => {
  it('samples until stopped, and stop resolves only once the call in flight is over', async () => {
    let calls = 0;
    let inFlight = false;
    const loop = sampleEvery(5, async () => {
      inFlight = true;
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight = false;
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await loop.stop();
    expect(inFlight).toBe(false);
    const stoppedAt = calls;
    expect(stoppedAt).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(stoppedAt);
  });
});
