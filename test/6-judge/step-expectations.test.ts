import { describe, expect, it } from 'vitest';
import { judgeConfig, judgeStepExpectations, judgeWindowedLatency, stepFailureEvidence } from '../../src/6-judge/index.ts';
import type { Observation, StepPhase } from '../../src/4-observe/index.ts';
import type { PlannedConfig } from '../../src/2-plan/index.ts';

const step = (name: string, phase: StepPhase, t: number, detail = 'ok', output?: string): Observation => ({
  kind: 'step',
  t,
  step: name,
  action: 'neighbour',
  phase,
  detail,
  ...(output ? { output } : {}),
});
const oomAt = (t: number): Observation => ({ kind: 'docker-event', t, instance: 'a', action: 'oom' });
const p99At = (t: number, value: number): Observation => ({ kind: 'sample', t, instance: 'a', source: 'workload', metric: 'latencyP99Ms', value });

describe('instance expectations that name a step', () => {
  it('afterStep holds when the step took effect before the outcome, and fails saying the step never ran', () => {
    const expectation = { outcome: 'survived' as const, afterStep: 'partition-a' };
    expect(judgeStepExpectations('b', expectation, 'survived', [step('partition-a', 'start', 20_000), step('partition-a', 'done', 20_400)])).toEqual([
      { expected: 'b survived after step "partition-a"', source: 'steps', step: 'partition-a', met: true, line: 'b survived with step "partition-a" in force since 20.4 s' },
    ]);
    expect(
      judgeStepExpectations('b', expectation, 'survived', [step('partition-a', 'skipped', 90_000, 'not run: the configuration ended before its trigger (when a.connections > 500)')])[0],
    ).toMatchObject({
      met: false,
      line: 'b survived after step "partition-a": step "partition-a" never took effect (skipped: not run: the configuration ended before its trigger (when a.connections > 500)), so the outcome does not show what the step does',
    });
    expect(judgeStepExpectations('b', expectation, 'survived', [])[0]!.line).toBe('b survived after step "partition-a": step "partition-a" never ran, so the outcome does not show what the step does');
  });

  it('afterStep fails when the kill came before the step took effect', () => {
    const [check] = judgeStepExpectations('a', { outcome: 'oom-killed-under-load', afterStep: 'neighbour' }, 'oom-killed-under-load', [oomAt(5_000), step('neighbour', 'done', 8_000)]);
    expect(check).toMatchObject({ met: false, line: 'a oom-killed-under-load after step "neighbour": a was oom-killed-under-load at 5 s, before the step took effect at 8 s' });
  });

  it('oomKilledWithin measures from the step start to the engine oom event', () => {
    const expectation = { outcome: 'oom-killed-under-load' as const, oomKilledWithin: { of: 'neighbour', ms: 10_000 } };
    const within = judgeStepExpectations('a', expectation, 'oom-killed-under-load', [step('neighbour', 'start', 20_000), oomAt(24_200)]);
    expect(within).toMatchObject([
      {
        expected: 'a OOM-killed within 10 s of step "neighbour"',
        measured: 4.2,
        met: true,
        source: 'steps',
        step: 'neighbour',
        line: 'a OOM-killed after step "neighbour" started 4.2 s ≤ 10 s',
      },
    ]);
    expect(within[0]?.margin?.line).toBe('a OOM-killed after step "neighbour" started 4.2 s ≤ 10 s: 5.8 s below the bound');
    const late = judgeStepExpectations('a', expectation, 'oom-killed-under-load', [step('neighbour', 'start', 20_000), oomAt(45_000)]);
    expect(late[0]).toMatchObject({ met: false, missedBy: 15, line: 'a OOM-killed after step "neighbour" started 25 s > 10 s (over by 15 s)' });
    expect(judgeStepExpectations('a', expectation, 'survived', [step('neighbour', 'start', 20_000)])[0]).toMatchObject({
      met: false,
      line: 'a OOM-killed within 10 s of step "neighbour": a was not OOM-killed (survived)',
    });
  });
});

describe('latency after a step', () => {
  it('judges p99 on the worst per-second p99 from the second the step started in, and says so', () => {
    const observations = [p99At(19_000, 5_000), step('limit-a', 'start', 19_500), p99At(20_000, 300), p99At(21_000, 2_400), p99At(22_000, 800)];
    expect(judgeWindowedLatency({ after: 'limit-a', p99Ms: { below: 2_000 } }, observations)).toMatchObject([
      {
        expected: 'p99 latency after "limit-a" (worst per-second p99 of 3) < 2000 ms',
        measured: 2_400,
        met: false,
        missedBy: 400,
        source: 'workload per second',
        step: 'limit-a',
        line: 'p99 latency after "limit-a" (worst per-second p99 of 3) 2400 ms ≥ 2000 ms (over by 400 ms)',
      },
    ]);
  });

  it('says when the step never ran', () => {
    expect(judgeWindowedLatency({ after: 'limit-a', p50Ms: { atMost: 100 } }, [p99At(20_000, 300)])[0]!.line).toBe(
      'p50 latency after "limit-a" (worst per-second p50 of 0) not measured (step "limit-a" never ran), expected ≤ 100 ms',
    );
  });
});

describe('a configuration ended by a step', () => {
  it('keeps the failed step and its output as the evidence of the error', () => {
    const observations = [step('run-x', 'start', 1_000), step('run-x', 'failed', 1_200, 'exit code 3', 'boom on stderr')];
    expect(stepFailureEvidence(observations)).toEqual([{ source: 'step', text: 'run-x (neighbour) failed: exit code 3\nboom on stderr' }]);
    const config: PlannedConfig = { id: 'x=1', index: 0, axes: { x: 1 }, instances: [{ name: 'a', image: 'oomlab/mariadb:10.11' }], expect: { a: { outcome: 'survived' } }, limits: {} };
    const result = judgeConfig(config, { observations, of: () => [] }, { endedBy: 'error', failure: 'step "run-x" (run) failed: exit code 3', emulated: [], startedAt: 0, logTail: '' }, () => 2_000);
    expect(result).toMatchObject({
      verdict: 'error',
      reason: 'a step of the timeline failed: step "run-x" (run) failed: exit code 3',
      evidence: [{ source: 'step', text: 'run-x (neighbour) failed: exit code 3\nboom on stderr' }],
    });
  });
});

describe("a server's death wins over a step's error", () => {
  // A real kill (test/fixtures/dmesg-memcg-oom-mariadbd-4g-16GiB.txt) while a `run` step's SQL ran: mysql2's own message for the cut connection.
  const killedLine = 'Memory cgroup out of memory: Killed process 3147 (mariadbd) total-vm:16827320kB, anon-rss:4185472kB, file-rss:16452kB, shmem-rss:0kB, UID:0 pgtables:8312kB oom_score_adj:0';
  const failure = 'step "fill-pool" (run) failed: run step failed: Connection lost: The server closed the connection.';
  const observations: Observation[] = [
    { kind: 'readiness', t: 4_000, instance: 'a', ready: true, afterMs: 4_000, why: 'ping' },
    { kind: 'step', t: 5_000, step: 'fill-pool', action: 'run', instance: 'a', phase: 'start', detail: 'run a' },
    { kind: 'docker-event', t: 30_000, instance: 'a', action: 'oom' },
    { kind: 'docker-event', t: 30_010, instance: 'a', action: 'die', exitCode: 137 },
    { kind: 'step', t: 30_020, step: 'fill-pool', action: 'run', instance: 'a', phase: 'failed', detail: 'run step failed: Connection lost: The server closed the connection.' },
    { kind: 'container-state', t: 32_000, instance: 'a', status: 'exited', oomKilled: true, exitCode: 137 },
    {
      kind: 'kernel-oom',
      t: 32_000,
      instance: 'a',
      process: 'mariadbd',
      pid: 3147,
      totalVmKb: 16827320,
      anonRssKb: 4185472,
      constraint: 'CONSTRAINT_MEMCG',
      memcg: '/docker/7063fd5b55a9',
      line: killedLine,
    },
    { kind: 'memory-peak', t: 32_000, instance: 'a', peakBytes: 4 * 2 ** 30, limitBytes: 4 * 2 ** 30, source: 'cgroup' },
  ];
  const config: PlannedConfig = {
    id: 'pool=3g',
    index: 0,
    axes: { pool: '3g' },
    instances: [{ name: 'a', image: 'oomlab/mariadb:10.11', memory: 4 * 2 ** 30 }],
    expect: { a: { outcome: 'oom-killed-under-load' } },
    limits: { a: { limitBytes: 4 * 2 ** 30 } },
  };

  it('judges the kill, with the kernel line and the peak first and the step after them', () => {
    const result = judgeConfig(config, { observations, of: () => [] }, { endedBy: 'error', failure, emulated: [], startedAt: 0, logTail: '' }, () => 40_000);
    expect(result.verdict).toBe('pass');
    expect(result.outcome).toBe('oom-killed-under-load');
    expect(result.reason).toBe(`oom-killed-under-load, as expected; a step failed as the server died (${failure})`);
    expect(result.evidence[0]).toEqual({ source: 'kernel', text: killedLine });
    expect(result.evidence.map((e) => e.source)).toContain('cgroup');
    expect(result.evidence.at(-1)).toEqual({ source: 'step', text: 'fill-pool (run on a) failed: run step failed: Connection lost: The server closed the connection.' });
    expect(result.metrics.peakMemoryBytes).toBe(4 * 2 ** 30);
  });

  it('stays an error when the server is alive after the step failed', () => {
    const alive: Observation[] = [
      ...observations.filter((o) => o.kind === 'readiness' || o.kind === 'step'),
      { kind: 'container-state', t: 32_000, instance: 'a', status: 'running', oomKilled: false, exitCode: 0 },
    ];
    const result = judgeConfig(config, { observations: alive, of: () => [] }, { endedBy: 'error', failure, emulated: [], startedAt: 0, logTail: '' }, () => 40_000);
    expect([result.verdict, result.reason]).toEqual(['error', `a step of the timeline failed: ${failure}`]);
  });
});

describe('a background step that failed', () => {
  it('is evidence of a judged configuration, not its verdict', () => {
    const observations: Observation[] = [
      { kind: 'readiness', t: 4_000, instance: 'a', ready: true, afterMs: 4_000, why: 'ping' },
      { kind: 'step', t: 5_000, step: 'load-data', action: 'run', instance: 'a', phase: 'start', detail: 'run a' },
      { kind: 'step', t: 9_000, step: 'load-data', action: 'run', instance: 'a', phase: 'failed', detail: 'run step failed: exit code 1' },
      { kind: 'container-state', t: 32_000, instance: 'a', status: 'running', oomKilled: false, exitCode: 0 },
    ];
    const config: PlannedConfig = { id: 'x=1', index: 0, axes: { x: 1 }, instances: [{ name: 'a', image: 'oomlab/mariadb:10.11' }], expect: { a: { outcome: 'survived' } }, limits: {} };
    const result = judgeConfig(config, { observations, of: () => [] }, { endedBy: 'done', emulated: [], startedAt: 0, logTail: '' }, () => 40_000);
    expect([result.verdict, result.reason]).toEqual(['pass', 'survived, as expected']);
    expect(result.evidence.at(-1)).toEqual({ source: 'step', text: 'load-data (run on a) failed: run step failed: exit code 1' });
  });
});
