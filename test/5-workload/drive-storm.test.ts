import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { StartedInstance } from '../../src/3-runtime/index.ts';
import type { Timeline } from '../../src/4-observe/index.ts';
import type { StormWorkload } from '../../src/1-scenario/index.ts';

const runStorm = vi.hoisted(() => vi.fn());
vi.mock('../../src/5-workload/storm/storm.ts', () => ({ runStorm }));
vi.mock('../../src/5-workload/feed.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/5-workload/feed.ts')>()),
  seedFeed: vi.fn(async () => {}),
}));
vi.mock('../../src/4-observe/index.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/4-observe/index.ts')>()),
  startLoadSampler: vi.fn(async () => ({ stop: async () => {} })),
}));

const { driveStorm } = await import('../../src/5-workload/drive/storm.ts');

const target = {
  spec: { name: 'a' },
  endpoint: () => ({ host: '127.0.0.1', port: 3306, user: 'root', password: '' }),
  exited: new Promise(() => {}),
  hasExited: () => false,
} as unknown as StartedInstance;
const timeline = { add: () => {}, elapsed: () => 0 } as unknown as Timeline;
const workload = { kind: 'storm', target: 'a', stages: [{ targetPerSecond: 1, durationMs: 1_000 }], session: { queries: 1, thinkMs: 0, holdMs: 0 } } as StormWorkload;

describe('driveStorm', () => {
  beforeEach(() => {
    runStorm.mockReset();
    runStorm.mockResolvedValue({ driver: 'storm', perSecond: [] });
  });

  // Under TCG (×4) 60 statements holding 8 MiB each all timed out at 30 s before the server held the memory (docs/lab.md, NUMA).
  it("stretches the storm's query and connect timeouts by a slow host's time scale", async () => {
    await driveStorm(workload, { instances: [target], timeline, signal: new AbortController().signal, onPhase: () => {}, k6: false, timeScale: 4 });
    expect(runStorm).toHaveBeenCalledWith(expect.objectContaining({ queryTimeoutMs: 120_000, connectTimeoutMs: 40_000 }));
  });

  it('keeps 30 s and 10 s on this host', async () => {
    await driveStorm(workload, { instances: [target], timeline, signal: new AbortController().signal, onPhase: () => {}, k6: false });
    expect(runStorm).toHaveBeenCalledWith(expect.objectContaining({ queryTimeoutMs: 30_000, connectTimeoutMs: 10_000 }));
  });

  // Steps timed `after: 'workload.seeded'` count from here: a full-text seed's index build takes longer on a slow host.
  it('says the seed is in once seeding is done, before the storm starts', async () => {
    const order: string[] = [];
    runStorm.mockImplementation(async () => {
      order.push('storm');
      return { driver: 'storm', perSecond: [] };
    });
    await driveStorm(workload, { instances: [target], timeline, signal: new AbortController().signal, onPhase: (p) => order.push(p), onSeeded: () => order.push('seeded'), k6: false });
    expect(order).toEqual(['seeding 40000 posts', 'seeded', 'storm']);
  });
});
