import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBytes } from '../../src/0-model/units.ts';
import { loadScenario, type HttpBurstWorkload, type Scenario } from '../../src/1-scenario/index.ts';
import { arrivalsOf, formatLoadPeak, planRun, predictConfigInstance, predictMemory, type MemoryPrediction, type PlannedConfig } from '../../src/2-plan/index.ts';
import { intendedStartTimes } from '../../src/5-workload/arrival.ts';
import { INCIDENT_ERA_BUFFERS, SIZED_BUFFERS } from '../../scenarios/lib/buffers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** This project's machines: Docker's default nofile is the host ceiling 20000, and 2 CPUs. */
const HOST = { defaultNofile: 20_000, cpus: 2 };

const scenarios: Record<string, Scenario> = {};
beforeAll(async () => {
  for (const name of ['nofile-oom', 'burst-oom', 'scraping-burst']) {
    scenarios[name] = await loadScenario(fileURLToPath(new URL(`../../scenarios/${name}.ts`, import.meta.url)));
  }
});

function planned(name: string): PlannedConfig[] {
  const configs = planRun(scenarios[name]!, {}, undefined, { numaNodes: 2 });
  predictMemory(configs, HOST);
  return configs;
}

function predictionOf(config: PlannedConfig, instance: string): MemoryPrediction {
  const prediction = config.predictions?.[instance];
  if (!prediction) throw new Error(`no prediction for ${instance} in ${config.id}`);
  return prediction;
}

/** What one connection may hold on MariaDB 10.11 with these buffers, term by term as the model counts it. */
function perConnectionBytes(buffers: typeof INCIDENT_ERA_BUFFERS): number {
  const mrr = 256 * KiB;
  const threadStack = 299_008;
  const netBuffers = 2 * 16 * KiB;
  const buffersBytes = ['sort_buffer_size', 'join_buffer_size', 'read_buffer_size', 'read_rnd_buffer_size'].reduce((sum, k) => sum + parseBytes(buffers[k as keyof typeof buffers]), 0);
  return buffersBytes + mrr + threadStack + netBuffers + Math.min(parseBytes(buffers.tmp_table_size), parseBytes(buffers.max_heap_table_size));
}

/** innodb_buffer_pool_size 256M + log buffer 16M + key buffer 128M + query cache 1M + Aria page cache 128M, and the file table of nofile 20000. */
const FIXED_BYTES = 256 * MiB + 16 * MiB + 128 * MiB + 1 * MiB + 128 * MiB + 20_000 * 16;

describe('arrivalsOf', () => {
  it('counts what the drivers schedule, for every stage profile of the scenarios', () => {
    const profiles = [
      {
        startPerSecond: 10,
        stages: [
          { targetPerSecond: 150, durationMs: 3_000 },
          { targetPerSecond: 150, durationMs: 9_000 },
        ],
      },
      {
        startPerSecond: 20,
        stages: [
          { targetPerSecond: 150, durationMs: 5_000 },
          { targetPerSecond: 200, durationMs: 10_000 },
        ],
      },
      { startPerSecond: 0.5, stages: [{ targetPerSecond: 2.25, durationMs: 4_000 }] },
    ];
    expect(profiles.map((p) => arrivalsOf(p.stages, p.startPerSecond))).toEqual([1590, 2175, 5]);
    for (const p of profiles) expect(arrivalsOf(p.stages, p.startPerSecond)).toBe(intendedStartTimes(p.stages, p.startPerSecond).length);
  });
});

describe('the load peak of nofile-oom: no workload, no load peak', () => {
  it('predicts the worst case alone', () => {
    for (const config of planned('nofile-oom')) expect(predictionOf(config, 'db').load).toBeUndefined();
  });
});

describe('the load peak of burst-oom (a storm of 1590 sessions on one replica, 1 GiB)', () => {
  const configOf = (buffers: string, maxConnections: number) =>
    planned('burst-oom').find((c) => c.axes.buffers === buffers && c.axes.max_connections === maxConnections && c.axes.allocator === 'glibc' && c.axes.innodb_thread_concurrency === 0)!;

  it("with max_connections 2000, the storm's 1590 sessions bound the connections: the limit must cover the load peak", () => {
    const prediction = predictionOf(configOf('incident-era', 2000), 'replica');
    expect(prediction.load).toMatchObject({
      connections: 1590,
      boundBy: 'arrivals',
      formula: 'min(1590 sessions arrive, maxInFlight 4000, max_connections 2000 + 1 admin) = 1590',
      peakBytes: FIXED_BYTES + 1590 * perConnectionBytes(INCIDENT_ERA_BUFFERS),
      fits: false,
      limitMustCover: 'load',
    });
    expect(prediction.load!.headroomBytes).toBe(GiB - prediction.load!.peakBytes);
    expect(prediction.predictedPeakBytes).toBe(FIXED_BYTES + 2001 * perConnectionBytes(INCIDENT_ERA_BUFFERS));
  });

  it('with max_connections 300, the server stops the storm first: both figures are the worst case', () => {
    const prediction = predictionOf(configOf('sized', 300), 'replica');
    expect(prediction.load).toMatchObject({ connections: 301, boundBy: 'max_connections', limitMustCover: 'worst-case', peakBytes: prediction.predictedPeakBytes });
    expect(prediction.load!.peakBytes).toBe(FIXED_BYTES + 301 * perConnectionBytes(SIZED_BUFFERS));
    // 1 GiB holds 143 sized connections beside the buffers the server reserves once.
    expect(prediction.connectionsWithinLimit).toBe(Math.floor((GiB - FIXED_BYTES) / perConnectionBytes(SIZED_BUFFERS)));
    expect(prediction.connectionsWithinLimit).toBe(143);
    expect(formatLoadPeak(prediction)).toBe(
      "load peak 1.5 GiB for 301 connections (min(1590 sessions arrive, maxInFlight 4000, max_connections 300 + 1 admin) = 301) > limit 1 GiB, which holds 143 connections at their buffers' maximum; the load reaches max_connections, so the limit must cover the worst case",
    );
  });

  it('orders the load peaks as the runs ended: the killed three above 1 GiB, sized+300 the lowest', () => {
    const peaks = (['incident-era', 'sized'] as const).flatMap((b) => [2000, 300].map((mc) => predictionOf(configOf(b, mc), 'replica').load!.peakBytes));
    const [incident2000, incident300, sized2000, sized300] = peaks as [number, number, number, number];
    expect(incident2000).toBeGreaterThan(incident300);
    expect(incident300).toBeGreaterThan(sized2000);
    expect(sized2000).toBeGreaterThan(sized300);
    for (const killed of [incident2000, incident300, sized2000]) expect(killed).toBeGreaterThan(GiB);
  });
});

describe('the load peak of scraping-burst (an HTTP burst through the app tier over A and B)', () => {
  const baseline = () =>
    planned('scraping-burst').find(
      (c) => c.axes.headroom === 'tight' && c.axes.allocator === 'glibc' && c.axes.thp === 'always' && c.axes.numa === 'default' && c.axes.innodb_thread_concurrency === 0,
    )!;
  const PER_CONNECTION = perConnectionBytes(INCIDENT_ERA_BUFFERS);

  it('takes the side budgets as the limits: A has 1.25 GiB with the neighbour, B 12 GiB', () => {
    const config = baseline();
    expect(predictionOf(config, 'a').limitBytes).toBe(1280 * MiB);
    expect(predictionOf(config, 'b').limitBytes).toBe(12 * GiB);
    expect(predictionOf(config, 'a').assumptions).toContain("the limit is side `host-a`'s budget 1.3 GiB, shared with neighbour: what they hold is not modelled");
    expect(predictionOf(config, 'b').assumptions).toContain("the limit is side `host-b`'s budget 12 GiB");
    expect(config.predictions?.neighbour).toBeUndefined();
  });

  it("bounds each replica by the burst's 600 requests in flight, far below max_connections: the limit must cover the load peak", () => {
    const a = predictionOf(baseline(), 'a');
    expect(a.load).toMatchObject({
      connections: 600,
      boundBy: 'maxInFlight',
      formula: 'min(2175 requests arrive, maxInFlight 600, max_connections 2000 + 1 admin) = 600',
      peakBytes: FIXED_BYTES + 600 * PER_CONNECTION,
      fits: false,
      limitMustCover: 'load',
    });
    // The worst case is the "154 GiB" the reports printed: 2001 connections of 78.6 MiB.
    expect(a.predictedPeakBytes).toBe(FIXED_BYTES + 2001 * PER_CONNECTION);
    expect(a.connectionsWithinLimit).toBe(9);
    expect(predictionOf(baseline(), 'b').connectionsWithinLimit).toBe(149);
    expect(formatLoadPeak(a)).toBe(
      "load peak 46.6 GiB for 600 connections (min(2175 requests arrive, maxInFlight 600, max_connections 2000 + 1 admin) = 600) > limit 1.3 GiB, which holds 9 connections at their buffers' maximum; to survive this load the limit must cover the load peak, not the worst case 154 GiB",
    );
  });

  it('is the same for every configuration of the scenario: the fixes change neither buffers nor the burst', () => {
    const peaks = new Set(planned('scraping-burst').map((c) => predictionOf(c, 'a').load!.peakBytes));
    expect([...peaks]).toEqual([FIXED_BYTES + 600 * PER_CONNECTION]);
  });

  it('bounds a pooled burst by its pool on each replica: a pool of 8 fits where A holds 9', () => {
    const config = baseline();
    const pooled: HttpBurstWorkload = { ...(config.workload as HttpBurstWorkload), connectionMode: 'pool', poolSize: 8 };
    const a = predictConfigInstance({ ...config, workload: pooled }, config.instances.find((i) => i.name === 'a')!, HOST);
    expect(a.load).toMatchObject({
      connections: 8,
      boundBy: 'poolSize',
      formula: 'min(2175 requests arrive, maxInFlight 600, poolSize 8 per replica, max_connections 2000 + 1 admin) = 8',
      peakBytes: FIXED_BYTES + 8 * PER_CONNECTION,
      fits: true,
      limitMustCover: 'load',
    });
  });

  it('gives no load peak to a server the workload does not reach', () => {
    const config = baseline();
    const onlyB: HttpBurstWorkload = { ...(config.workload as HttpBurstWorkload), targets: ['b'] };
    expect(predictConfigInstance({ ...config, workload: onlyB }, config.instances.find((i) => i.name === 'a')!, HOST).load).toBeUndefined();
  });
});

describe('the worst case under load, counted before a run', () => {
  // A newcomer's neighbours scenario (no workload) opened with "3 server instance(s) exceed their limit in the worst
  // case under load": it drives no connections, so there is no such load to warn of.
  it('counts only configurations that drive a load', async () => {
    const count = async (name: string) => {
      const scenario = (await import(`../../scenarios/${name}.ts`)).default;
      const configs = planRun({ ...scenario, file: `scenarios/${name}.ts` }, {}, undefined, { numaNodes: 2 });
      return predictMemory(configs, HOST).overLimitUnderLoad;
    };
    expect(await count('neighbour-oom')).toBe(0);
    expect(await count('burst-oom')).toBeGreaterThan(0);
  });
});
