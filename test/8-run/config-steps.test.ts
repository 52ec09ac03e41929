import { describe, expect, it } from 'vitest';
import { configSteps, latestSample, type ConfigStepsContext } from '../../src/8-run/config-steps.ts';
import { TIME_ZERO } from '../../src/8-run/steps.ts';
import { Teardown } from '../../src/8-run/teardown.ts';
import { limitAfterStep, planRun, type PlannedConfig } from '../../src/2-plan/index.ts';
import { Timeline, type Observation } from '../../src/4-observe/index.ts';
import type { AppliedFault, FaultTarget, RuntimeConnection } from '../../src/3-runtime/index.ts';
import degradedReplica from '../../scenarios/degraded-replica.ts';

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

/** Runs a configuration's one step against a connection whose fault returns `applied`, then its undo; the timeline it wrote. */
async function runOneStep(config: PlannedConfig, applied: AppliedFault, onStarted?: ConfigStepsContext['onStarted'], targets: FaultTarget[] = []): Promise<Timeline> {
  const timeline = new Timeline(() => 0);
  const teardown = new Teardown();
  const applyFault = async (_action: unknown, target: FaultTarget) => {
    targets.push(target);
    return applied;
  };
  const steps = configSteps({
    config,
    connection: { applyFault } as unknown as RuntimeConnection,
    run: { runId: 'r', scenario: 'degraded-replica' },
    timeline,
    instances: new Map(),
    cgroupParents: new Map(),
    signal: new AbortController().signal,
    log: () => {},
    cwd: '.',
    defer: (undo) => teardown.defer(undo),
    onFailure: () => {},
    ...(onStarted ? { onStarted } : {}),
  })!;
  steps.start();
  steps.fire(TIME_ZERO);
  while (!timeline.of('step').some((s) => s.phase === 'done')) await new Promise((resolve) => setTimeout(resolve, 1));
  await teardown.run();
  return timeline;
}

describe('a `limit` step as data', () => {
  it('writes the limit in force when the step is done and when it is undone, and its undo reads in the direction it went', async () => {
    const [config] = planRun({ ...degradedReplica, file: 'scenarios/degraded-replica.ts' }, { only: ['lowered=tight', 'allocator=glibc'] });
    const lowered = 1400 * 2 ** 20;
    const applied: AppliedFault = {
      detail: 'memory limit 8 GiB → 1.4 GiB',
      undoDetail: 'memory limit 1.4 GiB → 8 GiB',
      memoryLimit: { instance: 'a', ownBytes: lowered, undoneOwnBytes: 8 * 2 ** 30 },
      undo: async () => {},
    };
    const timeline = await runOneStep({ ...config!, steps: [{ name: 'limit-a', action: { action: 'limit', instance: 'a', memory: lowered } }] }, applied);
    expect(timeline.of('limit').map(({ t: _, ...o }) => o)).toEqual([
      { kind: 'limit', instance: 'a', limitBytes: lowered, phase: 'step', step: 'limit-a' },
      { kind: 'limit', instance: 'a', limitBytes: 8 * 2 ** 30, phase: 'undo', step: 'limit-a' },
    ]);
    expect(timeline.of('step').find((s) => s.phase === 'undo')!.detail).toBe('undone: memory limit 1.4 GiB → 8 GiB');
  });

  it("takes the side's budget where a step raises an instance's own limit above it", () => {
    const [config] = planRun({ ...degradedReplica, file: 'scenarios/degraded-replica.ts' }, { only: ['lowered=tight', 'allocator=glibc'] });
    expect(limitAfterStep(config!, 'a', 10 * 2 ** 30)).toEqual({ limitBytes: 9 * 2 ** 30, side: 'host-a' });
    expect(limitAfterStep(config!, 'a', 1400 * 2 ** 20)).toEqual({ limitBytes: 1400 * 2 ** 20 });
    expect(limitAfterStep(config!, 'b', undefined)).toEqual({ limitBytes: 12 * 2 ** 30, side: 'host-b' });
  });
});

describe('a step that starts a container', () => {
  it("hands the container to the post-mortem with the step's name", async () => {
    const [config] = planRun({ ...degradedReplica, file: 'scenarios/degraded-replica.ts' }, { only: ['lowered=tight', 'allocator=glibc'] });
    const applied: AppliedFault = { detail: 'neighbour neighbour-15 holding 148 MiB in side host-a', started: { instance: 'neighbour-15', containerId: 'c'.repeat(64) }, undo: async () => {} };
    const started: unknown[] = [];
    const targets: FaultTarget[] = [];
    const neighbour = { name: 'neighbour-3', action: { action: 'neighbour' as const, memory: 148 * 2 ** 20, image: 'oomlab/mariadb:10.11', side: 'host-a' } };
    await runOneStep({ ...config!, steps: [neighbour] }, applied, (container) => started.push(container), targets);
    // The fault is told its step, whose name its container takes (a newcomer saw step neighbour-1 start neighbour-7).
    expect(targets.map((t) => t.step)).toEqual(['neighbour-3']);
    expect(started).toEqual([{ step: 'neighbour-3', instance: 'neighbour-15', containerId: 'c'.repeat(64) }]);
  });
});
