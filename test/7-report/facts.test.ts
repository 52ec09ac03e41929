// Facts decided once and carried as data: the limit in force after a `limit` step, and whether and when an
// instance was OOM-killed. The judge decides each; report.json, report.md and report.html render the same.
// The observations are laid out by hand around a real kernel line (test/fixtures/dmesg-memcg-oom-*.txt).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planRun, type PlannedConfig } from '../../src/2-plan/index.ts';
import { parseKernelOomKills, Timeline, type Observation, type UntimedObservation } from '../../src/4-observe/index.ts';
import { judgeConfig } from '../../src/6-judge/index.ts';
import { renderHtml, renderJson, renderMarkdown } from '../../src/7-report/index.ts';
import { summarize, type ConfigResult, type RunReport } from '../../src/0-model/report.ts';
import type { ChartData } from '../../src/7-report/html/chart-data.ts';
import degradedReplica from '../../scenarios/degraded-replica.ts';
import limitLowered from '../../scenarios/limit-lowered.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const KILL = parseKernelOomKills(readFileSync(new URL('../fixtures/dmesg-memcg-oom-mariadbd-16GiB.txt', import.meta.url), 'utf8'))[0]!;
const NOFILE = JSON.parse(readFileSync(new URL('../fixtures/report-nofile-oom.json', import.meta.url), 'utf8')) as RunReport;

function timelineOf(observations: readonly UntimedObservation[]): Timeline {
  const timeline = new Timeline(() => 0);
  for (const o of observations) timeline.add(o);
  return timeline;
}

function judged(config: PlannedConfig, observations: readonly UntimedObservation[]): ConfigResult {
  return judgeConfig(config, timelineOf(observations), { endedBy: 'done', emulated: [], startedAt: 0, logTail: '' }, () => 30_000);
}

function reportOf(scenario: string, configs: ConfigResult[]): RunReport {
  return { ...structuredClone(NOFILE), scenario, configs, summary: summarize(configs), emulated: [] };
}

function chartData(html: string): ChartData {
  const block = /<script type="application\/json" id="oomlab-chart-data">([\s\S]*?)<\/script>/.exec(html);
  if (!block) throw new Error('no chart data block');
  return JSON.parse(block[1]!) as ChartData;
}

const kernelOom = (t: number, instance: string): UntimedObservation => ({
  kind: 'kernel-oom',
  t,
  instance,
  process: KILL.process,
  pid: KILL.pid,
  totalVmKb: KILL.totalVmKb,
  anonRssKb: KILL.anonRssKb,
  constraint: KILL.constraint,
  memcg: KILL.memcg,
  line: KILL.line,
});
const event = (t: number, instance: string, action: string, exitCode?: number): UntimedObservation => ({ kind: 'docker-event', t, instance, action, ...(exitCode !== undefined ? { exitCode } : {}) });
const state = (t: number, instance: string, status: string, oomKilled: boolean, exitCode: number): UntimedObservation => ({ kind: 'container-state', t, instance, status, oomKilled, exitCode });
const ready = (t: number, instance: string): UntimedObservation => ({ kind: 'readiness', t, instance, ready: true, afterMs: t, why: 'ping' });
const usage = (t: number, instance: string, value: number): UntimedObservation => ({ kind: 'sample', t, instance, source: 'cgroup', metric: 'memoryUsageBytes', value });

describe("degraded-replica tight: A's limit lowered from 8 GiB to 1400m by the limit-a step, then killed", () => {
  const [config] = planRun({ ...degradedReplica, file: 'scenarios/degraded-replica.ts' }, { only: ['lowered=tight', 'allocator=glibc'] });
  const lowered = 1400 * MiB;
  const observations: UntimedObservation[] = [
    { kind: 'limit', t: 100, instance: 'a', limitBytes: 8 * GiB, phase: 'start' },
    { kind: 'limit', t: 200, instance: 'b', limitBytes: 12 * GiB, side: 'host-b', phase: 'start' },
    ready(3_000, 'a'),
    ready(3_100, 'b'),
    usage(3_500, 'a', 600 * MiB),
    usage(3_500, 'b', 600 * MiB),
    { kind: 'sample', t: 4_000, instance: 'a', source: 'workload', metric: 'requestsPerSecond', value: 10 },
    { kind: 'step', t: 9_000, step: 'limit-a', action: 'limit', instance: 'a', phase: 'start', detail: 'limit a memory 1.4 GiB' },
    { kind: 'step', t: 9_050, step: 'limit-a', action: 'limit', instance: 'a', phase: 'done', detail: 'memory limit 8 GiB → 1.4 GiB' },
    { kind: 'limit', t: 9_050, instance: 'a', limitBytes: lowered, phase: 'step', step: 'limit-a' },
    usage(10_000, 'a', 1_390 * MiB),
    usage(10_000, 'b', 900 * MiB),
    kernelOom(10_200, 'a'),
    event(10_300, 'a', 'oom'),
    event(10_350, 'a', 'die', 137),
    usage(12_000, 'b', 1_200 * MiB),
    state(20_000, 'a', 'exited', true, 137),
    state(20_000, 'b', 'running', false, 0),
    { kind: 'memory-peak', t: 20_100, instance: 'a', peakBytes: lowered, limitBytes: lowered, source: 'cgroup', anonPeakBytes: KILL.anonRssKb * 1024 },
    { kind: 'memory-peak', t: 20_100, instance: 'b', peakBytes: 1_200 * MiB, limitBytes: 12 * GiB, source: 'cgroup' },
    { kind: 'step', t: 21_000, step: 'limit-a', action: 'limit', instance: 'a', phase: 'undo', detail: 'undone: memory limit 1.4 GiB → 8 GiB' },
    { kind: 'limit', t: 21_000, instance: 'a', limitBytes: 8 * GiB, phase: 'undo', step: 'limit-a' },
  ];
  const result = judged(config!, observations);
  const report = reportOf('degraded-replica', [result]);

  it('plans the limit each instance starts with once: its own, or its side budget where that is lower', () => {
    expect(config!.limits).toEqual({ a: { limitBytes: 8 * GiB }, b: { limitBytes: 12 * GiB, side: 'host-b' } });
  });

  it('judges A at the limit in force when it was killed, not the one it started with or the one the undo put back', () => {
    expect(result.oomKills).toEqual([{ instance: 'a', t: 10_200, seenBy: ['kernel', 'oom-event', 'oom-killed-state'], limitBytes: lowered, anonRssBytes: KILL.anonRssKb * 1024 }]);
    expect(result.instances.find((i) => i.instance === 'a')!.memoryLimitBytes).toBe(lowered);
    expect(result.margins!.find((m) => m.what === 'a kill into the load')!.line).toBe('a killed at 1.4 GiB, 6.2 s into the 20 s load: 13.8 s before its end');
  });

  it('report.json carries the lowered limit and the kill record', () => {
    const json = JSON.parse(renderJson(report)) as RunReport;
    const config = json.configs[0]!;
    expect(config.instances.find((i) => i.instance === 'a')!.memoryLimitBytes).toBe(lowered);
    expect(config.oomKills![0]!.limitBytes).toBe(lowered);
    expect(config.observations.filter((o): o is Extract<Observation, { kind: 'limit' }> => o.kind === 'limit' && o.instance === 'a').map((o) => [o.phase, o.limitBytes])).toEqual([
      ['start', 8 * GiB],
      ['step', lowered],
      ['undo', 8 * GiB],
    ]);
  });

  it('report.md reads "killed at 1.4 GiB" and the undo in the direction it went', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('a killed at 1.4 GiB, 6.2 s into the 20 s load');
    expect(md).not.toMatch(/killed at 8 GiB|of 8 GiB limit/);
    expect(md).toContain('undone: memory limit 1.4 GiB → 8 GiB');
  });

  it("report.html's limit line steps down to 1.4 GiB at the step and back at the undo, and its kill marker is at the kernel's time", () => {
    const html = renderHtml(report);
    expect(html).toContain('a killed at 1.4 GiB, 6.2 s into the 20 s load');
    // One memory chart per role: A's.
    const memory = chartData(html).charts.find((c) => c.id === 'memory-a')!;
    const limitA = memory.series.find((s) => s.limit && s.label.startsWith('limit 8 GiB → 1.4 GiB'))!;
    expect(limitA.label).toBe('limit 8 GiB → 1.4 GiB → 8 GiB');
    expect(limitA.points.slice(0, 4)).toEqual([
      [0, 8 * GiB],
      [9.05, 8 * GiB],
      [9.05, lowered],
      [21, lowered],
    ]);
    expect(memory.markers.filter((m) => m.label.startsWith('OOM')).map((m) => [m.label, m.t])).toEqual([['OOM #1', 10.2]]);
  });
});

describe('limit-lowered pool-shrunk: the 2 GiB limit lowered to 1 GiB as the server answers, and it survives', () => {
  const [config] = planRun({ ...limitLowered, file: 'scenarios/limit-lowered.ts' }, { only: ['change=pool-shrunk'] });
  const result = judged(config!, [
    { kind: 'limit', t: 100, instance: 'db', limitBytes: 2 * GiB, phase: 'start' },
    ready(2_000, 'db'),
    { kind: 'step', t: 2_010, step: 'lower-limit', action: 'limit', instance: 'db', phase: 'done', detail: 'memory limit 2 GiB → 1 GiB' },
    { kind: 'limit', t: 2_010, instance: 'db', limitBytes: GiB, phase: 'step', step: 'lower-limit' },
    usage(10_000, 'db', 800 * MiB),
    state(25_000, 'db', 'running', false, 0),
    { kind: 'memory-peak', t: 25_100, instance: 'db', peakBytes: 800 * MiB, limitBytes: GiB, source: 'cgroup', anonPeakBytes: 700 * MiB, cacheBytes: 100 * MiB },
    { kind: 'limit', t: 26_000, instance: 'db', limitBytes: 2 * GiB, phase: 'undo', step: 'lower-limit' },
  ]);
  const report = reportOf('limit-lowered', [result]);

  it('holds the peak against the lowered 1 GiB in every format, never "/ 2 GiB"', () => {
    expect(result.outcome).toBe('survived');
    expect(result.metrics.memoryLimitBytes).toBe(GiB);
    const md = renderMarkdown(report);
    expect(md).toContain('700 MiB anon / 1 GiB');
    expect(md).not.toContain('/ 2 GiB');
    expect(renderHtml(report)).not.toContain('/ 2 GiB');
  });
});

describe('one OOM-kill record feeds the verdict, the margins and the chart', () => {
  const [config] = planRun({ ...limitLowered, file: 'scenarios/limit-lowered.ts' }, { only: ['change=production'] });
  const base: UntimedObservation[] = [{ kind: 'limit', t: 100, instance: 'db', limitBytes: GiB, phase: 'start' }, ready(2_000, 'db'), usage(3_000, 'db', 900 * MiB)];

  const cases: { name: string; observations: UntimedObservation[]; seenBy: string[]; t: number }[] = [
    {
      // The engine's event stream missed it (or the engine never sent one): the kernel's line alone tells the kill.
      name: "the kernel's line, and no `oom` event",
      observations: [...base, kernelOom(7_400, 'db'), event(7_600, 'db', 'die', 137), state(20_000, 'db', 'exited', false, 137)],
      seenBy: ['kernel'],
      t: 7_400,
    },
    {
      // dmesg was not readable: the engine's `oom` event, with the container gone after it, tells the kill.
      name: "the engine's `oom` event, and no kernel line",
      observations: [
        ...base,
        { kind: 'observer-unavailable', t: 19_000, observer: 'kernel-log', reason: 'dmesg is not readable (run as root or set kernel.dmesg_restrict=0)' },
        event(7_500, 'db', 'oom'),
        event(7_600, 'db', 'die', 137),
        state(20_000, 'db', 'exited', false, 137),
      ],
      seenBy: ['oom-event'],
      t: 7_500,
    },
  ];

  it("puts the kill at the kernel's time when the engine's `oom` event came first (the times of degraded-replica's tight glibc run here)", () => {
    const result = judged(config!, [
      ...base,
      event(10_279, 'db', 'oom'),
      kernelOom(10_340, 'db'),
      event(10_356, 'db', 'oom'),
      event(11_105, 'db', 'die', 137),
      state(30_000, 'db', 'exited', true, 137),
    ]);
    expect(result.oomKills![0]!.t).toBe(10_340);
  });

  it("keeps the engine's time for a kernel line read without its own, after the death (a report from before kills carried it)", () => {
    const result = judged(config!, [...base, event(20_653, 'db', 'oom'), event(20_978, 'db', 'die', 137), state(21_870, 'db', 'exited', true, 137), kernelOom(21_871, 'db')]);
    expect(result.oomKills![0]!.t).toBe(20_653);
  });

  for (const { name, observations, seenBy, t } of cases) {
    it(`${name}: the judge, report.json, report.md and report.html agree`, () => {
      const result = judged(config!, observations);
      expect(result.outcome).toBe('oom-killed-under-load');
      expect(result.oomKills).toEqual([expect.objectContaining({ instance: 'db', t, seenBy, limitBytes: GiB })]);
      const report = reportOf('limit-lowered', [result]);
      expect((JSON.parse(renderJson(report)) as RunReport).configs[0]!.oomKills).toEqual(result.oomKills);
      expect(renderMarkdown(report)).toContain('OOM-killed under load');
      const html = renderHtml(report);
      expect(html).toContain('OOM-killed under load');
      const markers = chartData(html)
        .charts.find((c) => c.id === 'memory')!
        .markers.filter((m) => m.label.startsWith('OOM'));
      expect(markers.map((m) => m.t)).toEqual([t / 1000]);
    });
  }
});
