import { describe, expect, it } from 'vitest';
import { saturationOf, type SecondLoad } from '../../src/5-workload/storm/saturation.ts';

const second = (n: number, fields: Partial<SecondLoad> = {}): SecondLoad => ({
  second: n,
  intended: 100 * (n + 1),
  started: 100 * (n + 1),
  dropped: 0,
  lagP99Ms: 1,
  serverConnectP99Ms: 5,
  refused: 0,
  ...fields,
});

describe('saturationOf', () => {
  it('is undefined while both sides keep up (seconds without arrivals are skipped)', () => {
    expect(saturationOf([second(0), second(1), second(2, { intended: 0, started: 0, serverConnectP99Ms: undefined })])).toBeUndefined();
  });

  it('names the driver when it started under 98% of the intended arrivals with room to start them', () => {
    expect(saturationOf([second(0), second(1, { started: 195 })])).toEqual({ side: 'driver', second: 1, intendedPerSecond: 200, why: 'started 195 of 200 intended sessions' });
  });

  it('names the driver when it started sessions over 100 ms late, even at the full rate', () => {
    expect(saturationOf([second(0, { lagP99Ms: 140.4 })])).toEqual({ side: 'driver', second: 0, intendedPerSecond: 100, why: 'started sessions 140 ms late (p99)' });
  });

  it('names the server when arrivals hit the in-flight cap, its logins take over a second, or it refuses them', () => {
    expect(saturationOf([second(0), second(1), second(2, { started: 250, dropped: 50, serverConnectP99Ms: 1_500, refused: 4 })])).toEqual({
      side: 'server',
      second: 2,
      intendedPerSecond: 300,
      why: '50 arrivals dropped at the in-flight cap, connect p99 1500 ms from the actual start, 4 logins refused',
    });
  });

  it('gives a tie to the driver: its lag makes the later figures unreliable', () => {
    expect(saturationOf([second(0, { lagP99Ms: 200, refused: 1 })])?.side).toBe('driver');
  });
});
