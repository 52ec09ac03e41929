import { describe, expect, it } from 'vitest';
import { deltasPerSecond, readHostCounters, VMSTAT_COUNTERS } from '../../src/4-observe/resources.ts';

describe('deltasPerSecond', () => {
  it('turns counters into rates and keeps byte gauges', () => {
    expect(deltasPerSecond({ contextSwitches: 1_000, node0FreeBytes: 5 }, { contextSwitches: 3_000, node0FreeBytes: 7 }, 2)).toEqual({
      contextSwitchesPerSecond: 1_000,
      node0FreeBytes: 7,
    });
  });

  it('gives no rate for a counter it has not seen before', () => {
    expect(deltasPerSecond({}, { compact_stall: 4 }, 1)).toEqual({});
  });
});

describe('readHostCounters on this host', () => {
  it("reads every vmstat counter, context switches and CPU ticks (per-node free memory is the NUMA sampler's)", async () => {
    const counters = await readHostCounters();
    for (const name of VMSTAT_COUNTERS) expect(counters[name], name).toBeGreaterThanOrEqual(0);
    expect(counters.contextSwitches).toBeGreaterThan(0);
    expect(counters.cpuUserTicks).toBeGreaterThan(0);
    expect(counters.node0FreeBytes).toBeUndefined();
  });
});
