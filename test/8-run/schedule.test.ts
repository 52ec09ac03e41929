import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { PlannedConfig } from '../../src/2-plan/index.ts';
import { chargeOf, chooseJobs, parseJobs, placementOf, runScheduled, type Unit } from '../../src/8-run/schedule.ts';
import { parseMeminfo } from '../../src/4-observe/memory-headroom.ts';

const GiB = 1024 ** 3;
const config = (over: Partial<PlannedConfig> = {}): PlannedConfig =>
  ({
    id: 'c',
    index: 0,
    axes: {},
    instances: [{ name: 'db', image: 'oomlab/mariadb:10.11', memory: 4 * GiB } as PlannedConfig['instances'][number]],
    expect: {},
    limits: {},
    ...over,
  }) as PlannedConfig;
const HEADROOM = { totalBytes: 24 * GiB, availableBytes: 22 * GiB, overcommitMemory: 0 };

describe('placementOf: who may share the host', () => {
  it('a configuration that only starts and settles shares it, charged its memory limit', () => {
    expect(placementOf(config())).toEqual({ sharing: 'start-up', chargeBytes: 4 * GiB });
  });

  it('a load, a warm-up, timed steps or scenario hooks share it only when asked', () => {
    expect(placementOf(config({ workload: { kind: 'storm' } as PlannedConfig['workload'] }))).toMatchObject({ sharing: 'load', why: 'it drives a load, which competes for the cores' });
    expect(placementOf(config(), { before: () => {} })).toMatchObject({ sharing: 'load', why: 'the scenario runs its own code around it' });
  });

  it('THP, drop_caches, neighbours, side budgets and an unlimited instance run alone', () => {
    expect(placementOf(config({ host: { thp: 'always' } }))).toMatchObject({ sharing: 'alone', why: 'it switches THP, a host-wide setting' });
    const step = (action: object) => config({ steps: [{ action } as NonNullable<PlannedConfig['steps']>[number]] });
    expect(placementOf(step({ action: 'drop-caches' }))).toMatchObject({ sharing: 'alone', why: 'it drops the page cache, host-wide' });
    expect(placementOf(step({ action: 'neighbour', memory: GiB, image: 'x' }))).toMatchObject({ sharing: 'alone' });
    expect(placementOf(config({ host: { sides: { a: { memory: 2 * GiB } } } }))).toMatchObject({ sharing: 'alone', why: 'its side budgets stand for a host of their own' });
    expect(placementOf(config({ instances: [{ name: 'db', image: 'x' } as PlannedConfig['instances'][number]] }))).toEqual({
      sharing: 'alone',
      why: 'an instance has no memory limit, so its memory cannot be counted',
      chargeBytes: undefined,
    });
  });

  it('charges a side budget once for all its members, and a `limit` step that raises a limit at its highest', () => {
    const sideMembers = [
      { name: 'a', image: 'x', side: 's' },
      { name: 'b', image: 'x', side: 's' },
    ] as PlannedConfig['instances'];
    expect(chargeOf(config({ instances: sideMembers, host: { sides: { s: { memory: 3 * GiB } } } }))).toBe(3 * GiB);
    expect(chargeOf(config({ steps: [{ action: { action: 'limit', instance: 'db', memory: 6 * GiB } } as NonNullable<PlannedConfig['steps']>[number]] }))).toBe(6 * GiB);
  });
});

describe('chooseJobs: the default from the host and the matrix', () => {
  const startUp = (n: number, charge = 4 * GiB) => Array.from({ length: n }, () => ({ sharing: 'start-up' as const, chargeBytes: charge }));

  it('two per core, within what MemAvailable less the reserve can give to the limits', () => {
    expect(chooseJobs(startUp(15), { cpus: 2, headroom: HEADROOM })).toEqual({
      jobs: 4,
      source: 'default',
      why: '2 per core on 2 cores; memory limits up to 19.6 GiB at once (MemAvailable less 2.4 GiB)',
      memoryBudgetBytes: 22 * GiB - Math.round(2.4 * GiB),
    });
    expect(chooseJobs(startUp(15, 8 * GiB), { cpus: 8, headroom: HEADROOM })).toMatchObject({ jobs: 2, why: expect.stringMatching(/^2 × 8 GiB limits fit;/) });
    expect(chooseJobs(startUp(3), { cpus: 8, headroom: HEADROOM })).toMatchObject({ jobs: 3, why: expect.stringMatching(/^3 start-up configurations;/) });
  });

  it('one at a time for load, under strict overcommit, or without /proc/meminfo', () => {
    expect(chooseJobs([{ sharing: 'load', why: 'it drives a load, which competes for the cores', chargeBytes: GiB }], { cpus: 2, headroom: HEADROOM })).toEqual({
      jobs: 1,
      source: 'default',
      why: 'one at a time: it drives a load, which competes for the cores',
    });
    expect(chooseJobs(startUp(4), { cpus: 2, headroom: { ...HEADROOM, overcommitMemory: 2 } }).jobs).toBe(1);
    expect(chooseJobs(startUp(4), { cpus: 2, headroom: undefined }).jobs).toBe(1);
  });

  it('--jobs as given', () => {
    expect(chooseJobs(startUp(1), { cpus: 2, headroom: HEADROOM }, 3)).toMatchObject({ jobs: 3, source: 'option' });
    expect(parseJobs('4')).toBe(4);
    expect(() => parseJobs('0')).toThrow('--jobs takes how many configurations run at once, a whole number from 1 up, got `0` — e.g. --jobs 4');
  });
});

describe('runScheduled', () => {
  /** Runs the units, each taking `ms`, and returns the most that ran at once per unit and the order they started in. */
  async function schedule(units: Unit[], jobs: number, budget?: number, ms = 20) {
    let now = 0;
    let peak = 0;
    const started: number[] = [];
    const seen: number[][] = [];
    await runScheduled(units, { jobs, ...(budget !== undefined ? { memoryBudgetBytes: budget } : {}), signal: new AbortController().signal }, async (position, concurrency) => {
      started.push(position);
      peak = Math.max(peak, ++now);
      await sleep(ms);
      now--;
      seen[position] = [concurrency().runningAtMost, ...concurrency().slots];
    });
    return { peak, started, seen };
  }
  const unit = (limit: number, chargeBytes: number | undefined = GiB): Unit => ({ limit, chargeBytes });

  it('never runs more than jobs at once, and starts in order', async () => {
    const { peak, started } = await schedule([unit(4), unit(4), unit(4), unit(4), unit(4)], 2, 10 * GiB);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps the sum of the memory limits within the budget', async () => {
    const { peak } = await schedule([unit(4, 4 * GiB), unit(4, 4 * GiB), unit(4, 4 * GiB), unit(4, 4 * GiB)], 4, 9 * GiB);
    expect(peak).toBe(2);
  });

  it('runs a unit that must be alone with nothing beside it, and one over the budget alone rather than never', async () => {
    const { seen } = await schedule([unit(4), unit(4), unit(1), unit(4), unit(4, 64 * GiB), unit(4)], 4, 10 * GiB);
    expect(seen[2]).toEqual([1, 1]);
    expect(seen[4]).toEqual([1, 1]);
    expect(seen[0]![0]).toBe(2);
  });

  it('throws the first error once the running units have ended, and starts no further one', async () => {
    const started: number[] = [];
    const run = runScheduled([unit(2), unit(2), unit(2)], { jobs: 2, memoryBudgetBytes: 10 * GiB, signal: new AbortController().signal }, async (position) => {
      started.push(position);
      if (position === 0) throw new Error('boom');
      await sleep(20);
    });
    await expect(run).rejects.toThrow('boom');
    expect(started).toEqual([0, 1]);
  });
});

describe('parseMeminfo', () => {
  it('reads MemTotal and MemAvailable in bytes', () => {
    expect(parseMeminfo('MemTotal:       24683784 kB\nMemFree:  1 kB\nMemAvailable:   23449472 kB\n')).toEqual({ totalBytes: 24683784 * 1024, availableBytes: 23449472 * 1024 });
    expect(parseMeminfo('MemTotal: 1 kB\n')).toBeUndefined();
  });
});
