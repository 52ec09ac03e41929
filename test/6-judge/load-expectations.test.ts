import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { check, judgeConfig, judgeLoad } from '../../src/6-judge/index.ts';
import { Timeline, type Observation } from '../../src/4-observe/index.ts';
import { k6ThresholdsOf, parseK6Summary } from '../../src/5-workload/index.ts';
import { planRun, type PlannedConfig } from '../../src/2-plan/index.ts';
import { validateScenario, type Scenario, type Workload } from '../../src/1-scenario/index.ts';
import type { ConfigMetrics, RunReport } from '../../src/0-model/report.ts';
import burstOom from '../../scenarios/burst-oom.ts';
import nofileOom from '../../scenarios/nofile-oom.ts';
import scrapingBurst from '../../scenarios/scraping-burst.ts';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
const timelineOf = (observations: readonly Observation[]): Timeline => {
  const timeline = new Timeline(() => 0);
  for (const o of observations) timeline.add(o);
  return timeline;
};
const plannedById = (scenario: Scenario, file: string): Map<string, PlannedConfig> => new Map(planRun({ ...scenario, file }, {}, undefined, { numaNodes: 2 }).map((c) => [c.id, c]));
/** The configuration a recorded run had (its axes, `--set memory=1g` included), as planned now. */
const plannedAs = (scenario: Scenario, file: string, axes: Record<string, string | number>): PlannedConfig =>
  planRun({ ...scenario, file }, { set: Object.entries(axes).map(([axis, value]) => `${axis}=${value}`) }, undefined, { numaNodes: 2 })[0]!;

describe('check: one claim, one line saying what was expected, what was measured and by how much it missed', () => {
  const ratio = { label: 'B:A connection ratio', source: 'connections' } as const;

  it('says by how much a lower bound was missed', () => {
    expect(check({ ...ratio, operator: '>=', bound: 2 }, 1.4)).toEqual({
      expected: 'B:A connection ratio ≥ 2',
      measured: 1.4,
      met: false,
      missedBy: 0.6,
      source: 'connections',
      line: 'B:A connection ratio 1.4 < 2 (short by 0.6)',
      margin: { what: 'B:A connection ratio', measured: 1.4, bound: 2, unit: '', held: false, distance: 0.6, relative: 0.3, line: 'B:A connection ratio 1.4 < 2: 0.6 below the bound' },
    });
  });

  it('says the figure and the bound it kept', () => {
    expect(check({ ...ratio, operator: '>=', bound: 2 }, 15).line).toBe('B:A connection ratio 15 ≥ 2');
  });

  it('says by how much an upper bound was passed, with the unit', () => {
    expect(check({ label: 'p99 latency', unit: ' ms', operator: '<', bound: 2_000, source: 'k6' }, 11_804.671).line).toBe('p99 latency 11805 ms ≥ 2000 ms (over by 9805 ms)');
  });

  it('quotes a threshold as declared', () => {
    const claim = { label: 'http_req_failed rate', declared: 'http_req_failed rate<0.05', operator: '<', bound: 0.05, source: 'http-stand-in' } as const;
    expect(check(claim, 0.6436)).toMatchObject({ expected: 'http_req_failed rate<0.05', line: 'http_req_failed rate 0.64 ≥ 0.05 (over by 0.59)', met: false });
  });

  it('fails a claim nothing measured, saying so', () => {
    expect(check({ ...ratio, operator: '>=', bound: 2 }, undefined, 'not measured (the load did not run)')).toEqual({
      expected: 'B:A connection ratio ≥ 2',
      met: false,
      source: 'connections',
      line: 'B:A connection ratio not measured (the load did not run), expected ≥ 2',
    });
  });

  it('reads equality and inequality', () => {
    expect(check({ label: 'sessions count', operator: '==', bound: 10, source: 'storm' }, 12).line).toBe('sessions count 12 ≠ 10 (off by 2)');
    expect(check({ label: 'sessions count', operator: '!=', bound: 10, source: 'storm' }, 10).line).toBe('sessions count 10 = 10');
  });
});

// The stand-in run of scenarios/scraping-burst.ts recorded before the expectations existed (fixture trimmed
// to what the load is judged on): the claims the scenario now states hold on every configuration.
describe('scraping-burst expectations on recorded figures', () => {
  const recorded = fixture<{ configs: { id: string; verdict: string; metrics: ConfigMetrics; observations: Observation[] }[] }>('load-scraping-burst.json');
  const planned = plannedById(scrapingBurst, 'scenarios/scraping-burst.ts');
  const judged = recorded.configs.map((c) => ({ ...c, checks: judgeLoad(planned.get(c.id)!.workload!, { metrics: c.metrics, timeline: timelineOf(c.observations) }) }));

  it('holds B:A ≥ 2, p(99)>2000 and rate>0.05 on each of the five configurations the run decided', () => {
    expect(judged).toHaveLength(5);
    for (const config of judged)
      expect(
        config.checks.filter((c) => !c.met),
        config.id,
      ).toEqual([]);
  });

  it("writes the baseline's lines from its figures, the ratio as the report's metric", () => {
    const baseline = judged.find((c) => c.id.includes('allocator=glibc,innodb_thread_concurrency=0,thp=always,headroom=tight'))!;
    expect(baseline.metrics.connectionRatio).toBe(15);
    expect(baseline.checks.map((c) => c.line)).toEqual(['B:A connection ratio 15 ≥ 1.25', 'http_req_duration p(99) 11805 ms > 2000 ms', 'http_req_failed rate 0.64 > 0.05']);
    expect(baseline.checks[0]).toMatchObject({ source: 'connections', because: 'the shift to B is under way when A is killed, early in the burst' });
    expect(baseline.checks[1]).toMatchObject({ source: 'http-stand-in', expected: 'http_req_duration p(99)>2000', measured: 11804.671 });
  });

  it('fails a scenario that asks for more than the run gave, naming the shortfall', () => {
    const baseline = judged[0]!;
    const workload = planned.get(baseline.id)!.workload as Extract<Workload, { kind: 'http-burst' }>;
    const greedy = { ...workload, expect: { ratio: { of: 'b', to: 'a', atLeast: 1000 } }, thresholds: [] };
    expect(judgeLoad(greedy, { metrics: baseline.metrics, timeline: timelineOf(baseline.observations) })).toEqual([
      {
        expected: 'B:A connection ratio ≥ 1000',
        measured: 15,
        met: false,
        missedBy: 985,
        source: 'connections',
        line: 'B:A connection ratio 15 < 1000 (short by 985)',
        margin: { what: 'B:A connection ratio', measured: 15, bound: 1000, unit: '', held: false, distance: 985, relative: 0.985, line: 'B:A connection ratio 15 < 1000: 985 below the bound' },
      },
    ]);
  });

  it('says what did not run when the load never started', () => {
    const workload = planned.get(judged[0]!.id)!.workload!;
    expect(judgeLoad(workload, { metrics: {}, timeline: timelineOf([]) }).map((c) => c.line)).toEqual([
      'B:A connection ratio not measured (no second where a held a client connection before a kill), expected ≥ 1.25',
      'http_req_duration p(99) not measured (the load did not run), expected > 2000',
      'http_req_failed rate not measured (the load did not run), expected > 0.05',
    ]);
  });
});

// Real runs kept as fixtures, judged again now.
describe('report-nofile-oom.json judged again', () => {
  const report = fixture<RunReport>('report-nofile-oom.json');
  const decided = report.configs.filter((c) => c.verdict === 'pass' || c.verdict === 'fail');

  it.each(decided.map((c) => [c.id, c] as const))('%s is decided as it was', (_id, recorded) => {
    const config = plannedAs(nofileOom, 'scenarios/nofile-oom.ts', recorded.axes);
    expect(config.id).toBe(recorded.id);
    const result = judgeConfig(config, timelineOf(recorded.observations), { endedBy: 'done', emulated: recorded.emulated, startedAt: 0, logTail: '' }, () => 0);
    expect([result.verdict, result.outcome, result.reason]).toEqual([recorded.verdict, recorded.outcome, recorded.reason]);
    expect(result.expectations).toBeUndefined();
  });
});

describe('report-burst-oom.json judged again', () => {
  const report = fixture<RunReport>('report-burst-oom.json');

  it('claims 1040 errors only where buffers × max_connections fit, and the run had them', () => {
    const lines = report.configs.map((c) => {
      const config = plannedAs(burstOom, 'scenarios/burst-oom.ts', c.axes);
      return [c.axes.buffers, c.axes.max_connections, judgeLoad(config.workload!, { metrics: c.metrics, timeline: timelineOf(c.observations) }).map((e) => `${e.met} ${e.line}`)];
    });
    expect(lines).toEqual([
      ['incident-era', 2000, []],
      ['incident-era', 300, []],
      ['sized', 2000, []],
      ['sized', 300, ['true 1040 ER_CON_COUNT_ERROR errors 1176 ≥ 1']],
    ]);
  });
});

describe('thresholds with k6', () => {
  const summary = fixture<unknown>('k6-v0.48-summary-export.json');
  const scenario = validateScenario(
    {
      name: 'k6',
      incident: 'test',
      matrix: { x: [1] },
      instances: () => ({ a: { image: 'img' }, b: { image: 'img' } }),
      expect: () => ({}),
      workload: () => ({
        kind: 'http-burst',
        targets: ['a', 'b'],
        balancer: 'fastest',
        connectionMode: 'pool',
        stages: [{ targetPerSecond: 15, durationMs: 5_000 }],
        thresholds: { http_req_duration: ['p(99)<2000', 'max<2'], http_req_failed: ['rate<0.01'], http_reqs: ['count>=75'] },
      }),
    },
    'scenarios/k6.ts',
  );
  const workload = planRun(scenario)[0]!.workload!;

  it('hands k6 the thresholds its script can take', () => {
    expect(k6ThresholdsOf(workload.thresholds!)).toEqual({ p99LatencyMs: 2000, maxErrorRate: 0.01 });
  });

  it("judges every threshold on the figures of k6's summary, and k6's own crossings as lines of their own", () => {
    const result = parseK6Summary(summary, 75);
    result.k6 = { exitCode: 99, thresholdsCrossed: ['http_req_duration: p(99)<2000'] };
    const timeline = timelineOf([{ kind: 'workload', t: 0, instance: 'a', driver: 'k6', result }]);
    expect(judgeLoad(workload, { metrics: { latencyMs: result.latencyMs }, timeline }).map((c) => `${c.met ? 'met' : 'missed'} [${c.source}] ${c.line}`)).toEqual([
      // The summary has no p(99): parseK6Summary reports the max, an upper bound (3.098 ms).
      'met [k6] http_req_duration p(99) 3.1 ms < 2000 ms',
      'missed [k6] http_req_duration max 3.1 ms ≥ 2 ms (over by 1.1 ms)',
      'met [k6] http_req_failed rate 0 < 0.01',
      'met [k6] http_reqs count 75 ≥ 75',
      'missed [k6] k6: threshold http_req_duration: p(99)<2000 crossed',
    ]);
  });
});
