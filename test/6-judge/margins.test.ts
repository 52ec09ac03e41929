import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { judgeConfig, judgeLoad, killsOf, loadWindowOf, marginsOf, sidePeak } from '../../src/6-judge/index.ts';
import { Timeline, type Observation } from '../../src/4-observe/index.ts';
import { planRun, predictMemory } from '../../src/2-plan/index.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import scrapingBurst from '../../scenarios/scraping-burst.ts';
import nofileOom from '../../scenarios/nofile-oom.ts';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
const timelineOf = (observations: readonly Observation[]): Timeline => {
  const timeline = new Timeline(() => 0);
  for (const o of observations) timeline.add(o);
  return timeline;
};
/** What the judge decides once before the margins: the kills and the load's span. */
const decided = (config: { instances: readonly { name: string }[] }, observations: readonly Observation[]) => ({ kills: killsOf(config, observations), load: loadWindowOf(observations) });
/** The configuration a recorded run had, as planned now with its axes set (the budgets of scenarios/lib as they are today). */
const plannedAs = (scenario: typeof scrapingBurst, file: string, axes: Record<string, string | number>) =>
  planRun({ ...scenario, file }, { set: Object.entries(axes).map(([axis, value]) => `${axis}=${value}`) }, undefined, { numaNodes: 2 })[0]!;

// A real run of scenarios/scraping-burst.ts: A and the neighbour share host-a (1.5 GiB then), B has 12 GiB.
describe('margins on the recorded scraping-burst run', () => {
  const report = fixture<RunReport>('report-scraping-burst.json');
  const byId = new Map(report.configs.map((c) => [c.id, c]));
  const roomy = byId.get('image=oomlab/mariadb:10.11,balancer=fastest,allocator=glibc,innodb_thread_concurrency=0,thp=always,headroom=roomy,numa=default')!;
  const killed = byId.get('image=oomlab/mariadb:10.11,balancer=fastest,allocator=jemalloc,innodb_thread_concurrency=0,thp=always,headroom=tight,numa=default')!;

  it("sums a side's members at each sample: A's own peak hides the neighbour's 640 MiB beside it", () => {
    const peak = sidePeak(timelineOf(roomy.observations), ['a', 'neighbour'])!;
    expect(peak.byMember.neighbour).toBeGreaterThan(600 * 2 ** 20);
    expect(peak.peakBytes).toBe(peak.byMember.a! + peak.byMember.neighbour!);
    expect(peak.peakBytes).toBeGreaterThan(roomy.instances.find((i) => i.instance === 'a')!.peakMemoryBytes! * 0.99 + 600 * 2 ** 20);
  });

  it("says a kill past the planned stages came while the sessions still ran, not '0 s before its end' (a newcomer's kill 19.1 s into a 12 s storm)", () => {
    const config = plannedAs(scrapingBurst, 'scenarios/scraping-burst.ts', killed.axes);
    const kill = killed.observations.find((o) => o.kind === 'kernel-oom' && o.instance === 'a')!;
    // A's kill and what came with it moved 20 s later, past the 15 s planned; the load's end after it.
    const shift = (o: Observation): Observation =>
      (o.kind === 'kernel-oom' || o.kind === 'docker-event' || o.kind === 'container-state' || o.kind === 'memory-peak') && 'instance' in o && o.instance === 'a'
        ? { ...o, t: o.t + 20_000 }
        : o.kind === 'workload'
          ? { ...o, t: Math.max(o.t, kill.t + 21_000) }
          : o;
    const timeline = timelineOf(killed.observations.map(shift));
    const checks = judgeLoad(config.workload!, { metrics: killed.metrics, timeline });
    const line = marginsOf(config, timeline, killed.instances, checks, decided(config, killed.observations.map(shift)))[0]!.line;
    expect(line).toMatch(/^a killed at 1.5 GiB, \d+(\.\d+)? s into the load: after its 15 s of arrivals, while the sessions they started still ran \(the load ended \d+(\.\d+)? s in\)$/);
  });

  it('says how far each judgement was from its bound: the side budget, the kill time, the load claims', () => {
    const config = plannedAs(scrapingBurst, 'scenarios/scraping-burst.ts', killed.axes);
    const timeline = timelineOf(killed.observations);
    const checks = judgeLoad(config.workload!, { metrics: killed.metrics, timeline });
    const lines = marginsOf(config, timeline, killed.instances, checks, decided(config, killed.observations)).map((m) => m.line);
    expect(lines[0]).toMatch(/^a killed at 1.5 GiB, \d+(\.\d+)? s into the 15 s load: \d+(\.\d+)? s before its end$/);
    expect(lines[1]).toMatch(/^host-b peak [\d.]+ GiB of 12 GiB \(b [\d.]+ GiB\): [\d.]+ GiB short of the limit$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^B:A connection ratio [\d.]+ ≥ 1.25: [\d.]+ above the bound$/),
      expect.stringMatching(/^http_req_duration p\(99\) \d+ ms > 2000 ms: \d+ ms above the bound$/),
      expect.stringMatching(/^http_req_failed rate [\d.]+ > 0.05: [\d.]+ above the bound$/),
    ]);
  });

  it('writes the margins into the judged result', () => {
    const config = plannedAs(scrapingBurst, 'scenarios/scraping-burst.ts', roomy.axes);
    const result = judgeConfig(config, timelineOf(roomy.observations), { endedBy: 'done', emulated: [], startedAt: 0, logTail: '' }, () => 1);
    const side = result.margins!.find((m) => m.what === 'host-a peak memory')!;
    expect(side).toMatchObject({ bound: 9 * 2 ** 30, unit: 'bytes', held: true });
    expect(side.distance).toBe(side.bound - side.measured);
    expect(side.line).toMatch(/^host-a peak [\d.]+ GiB of 9 GiB \(a [\d.]+ [GM]iB \+ neighbour [\d.]+ MiB\): [\d.]+ GiB short of the limit$/);
  });
});

describe('margins on the recorded nofile-oom run', () => {
  const report = fixture<RunReport>('report-nofile-oom.json');

  it('puts open_files_limit against the bound the scenario set, and a peak against its own limit', () => {
    // The ulimit-4096 fix is the survivor whose expectation bounds open_files_limit (atMost 4096).
    const fixed = report.configs.find((c) => c.verdict === 'pass' && c.outcome === 'survived' && c.axes.fix === 'ulimit-4096' && c.axes.nofile === 1_048_576)!;
    const config = planRun({ ...nofileOom, file: 'scenarios/nofile-oom.ts' }, { set: Object.entries(fixed.axes).map(([a, v]) => `${a}=${v}`) }, undefined, { numaNodes: 1 })[0]!;
    const margins = marginsOf(config, timelineOf(fixed.observations), fixed.instances, [], decided(config, fixed.observations));
    const peak = margins.find((m) => m.what.endsWith('peak memory'))!;
    expect(peak.line).toMatch(/^\w+ peak [\d.]+ [MG]iB of [\d.]+ [MG]iB: [\d.]+ [MG]iB short of the limit$/);
    expect(peak.held).toBe(true);
    expect(config.expect.db?.openFilesLimit).toEqual({ atMost: 4096 });
    const ofl = margins.find((m) => m.what === 'db open_files_limit');
    expect(ofl).toMatchObject({ measured: 4096, bound: 4096, held: true, line: 'db open_files_limit 4096 ≤ 4096: 0 below the bound' });
  });
});

describe('the margin of a kill at start-up', () => {
  it("puts the memory model's start-up figure against the limit: 16 GiB of file table against 1 GiB is no coin toss", () => {
    const killed = fixture<RunReport>('report-nofile-oom.json').configs.find((c) => c.outcome === 'oom-killed-at-startup')!;
    const configs = planRun({ ...nofileOom, file: 'scenarios/nofile-oom.ts' }, { set: Object.entries(killed.axes).map(([a, v]) => `${a}=${v}`) }, undefined, { numaNodes: 1 });
    predictMemory(configs, { defaultNofile: 20_000, cpus: 2 });
    const config = configs[0]!;
    const [memory] = marginsOf(config, timelineOf(killed.observations), killed.instances, [], decided(config, killed.observations));
    expect(memory).toMatchObject({ what: 'db start-up memory', held: false, unit: 'bytes' });
    expect(memory!.measured).toBeGreaterThan(16 * 2 ** 30);
    expect(memory!.line).toMatch(/^db killed at \d+(\.\d)? GiB, its limit: the memory model puts its start-up at 16(\.\d)? GiB, \d+(\.\d)? GiB over$/);
  });
});

describe('margins on the recorded burst-oom run', () => {
  const report = fixture<RunReport>('report-burst-oom.json');

  it('reads a survivor at its limit by its anonymous memory: the kernel reclaimed page cache instead of killing', async () => {
    const burstOom = (await import('../../scenarios/burst-oom.ts')).default;
    const survivors = report.configs.filter((c) => c.outcome === 'survived' && c.metrics.peakMemoryBytes === c.metrics.memoryLimitBytes);
    if (survivors.length === 0) return expect.fail('the fixture has no survivor at its limit');
    for (const survivor of survivors) {
      const config = planRun({ ...burstOom, file: 'scenarios/burst-oom.ts' }, { set: Object.entries(survivor.axes).map(([a, v]) => `${a}=${v}`) }, undefined, { numaNodes: 1 })[0]!;
      const memory = marginsOf(config, timelineOf(survivor.observations), survivor.instances, [], decided(config, survivor.observations))[0]!;
      expect(memory.what).toBe('replica anon memory');
      expect(memory.line).toMatch(/^replica peak 1 GiB of 1 GiB with page cache, anon \(rss\) \d+ MiB: \d+ MiB short of the limit$/);
      expect(memory.measured).toBeLessThan(memory.bound);
    }
  });
});

describe('a kill after the load has ended', () => {
  // The recorded burst-oom kill (its storm ended at 21.1 s, 0.1 s after the die), its engine events moved 65 s past the load's end.
  const report = fixture<RunReport>('report-burst-oom.json');
  const killed = report.configs.filter((c) => c.outcome === 'oom-killed-under-load').find((c) => c.axes.memory === '1g' && c.axes.buffers === 'sized')!;
  const endedAt = killed.observations.find((o) => o.kind === 'workload')!.t;
  const later = (o: Observation): Observation =>
    o.kind === 'docker-event' || o.kind === 'container-state' || o.kind === 'kernel-oom' || o.kind === 'memory-peak' ? { ...o, t: o.t - 20_653 + endedAt + 65_000 } : o;

  it('is its own phase, with a margin that says how long after the load it came', async () => {
    const burstOom = (await import('../../scenarios/burst-oom.ts')).default;
    const config = planRun({ ...burstOom, file: 'scenarios/burst-oom.ts' }, { set: Object.entries(killed.axes).map(([a, v]) => `${a}=${v}`) }, undefined, { numaNodes: 1 })[0]!;
    const instance = killed.instances[0]!.instance;
    const result = judgeConfig(config, timelineOf(killed.observations.map(later)), { endedBy: 'done', emulated: [], startedAt: 0, logTail: '' }, () => 1);
    expect(result.outcome).toBe('oom-killed-after-load');
    const kill = result.margins!.find((m) => m.what === `${instance} kill after the load`)!;
    expect(kill.line).toBe(`${instance} killed at 1 GiB 65 s after the load ended: not under the load`);
    expect(kill.distance).toBe(65_000);
    expect(result.margins!.map((m) => m.line).filter((line) => line.includes('before its end'))).toEqual([]);
  });

  it('a kill before the load ended stays under the load', async () => {
    const burstOom = (await import('../../scenarios/burst-oom.ts')).default;
    const config = planRun({ ...burstOom, file: 'scenarios/burst-oom.ts' }, { set: Object.entries(killed.axes).map(([a, v]) => `${a}=${v}`) }, undefined, { numaNodes: 1 })[0]!;
    const result = judgeConfig(config, timelineOf(killed.observations), { endedBy: 'done', emulated: [], startedAt: 0, logTail: '' }, () => 1);
    expect(result.outcome).toBe('oom-killed-under-load');
  });
});
