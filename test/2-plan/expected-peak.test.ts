import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { observe, predict } from '../../bench/memory-model-table.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import { loadScenario, type Workload } from '../../src/1-scenario/index.ts';
import { allocatorOf, expectedConnections, IMAGE_FOOTPRINTS, planRun, predictConfigInstance, predictInstance, retainedShare, seededRows, workCycles } from '../../src/2-plan/index.ts';

const MiB = 1024 ** 2;
const MARIADB = 'oomlab/mariadb:10.11';
const fixture = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8')) as RunReport;
const scenarioFile = (name: string) => fileURLToPath(new URL(`../../scenarios/${name}.ts`, import.meta.url));

/** Each survived server of a recorded report: the model's expected peak now against the anon peak its cgroup reached (the bench's table). */
async function survivors(report: RunReport) {
  const { rows } = await predict(await observe(report, 2));
  return rows.map((r) => ({ id: r.config, instance: r.instance, expected: r.expected, observed: r.observedBytes }));
}

const storm = (over: Partial<Extract<Workload, { kind: 'storm' }>> = {}): Workload => ({
  kind: 'storm',
  target: 'db',
  startPerSecond: 10,
  stages: [
    { targetPerSecond: 150, durationMs: 3_000 },
    { targetPerSecond: 150, durationMs: 9_000 },
  ],
  session: { queries: 5, thinkMs: 20, holdMs: 0 },
  ...over,
});

describe('expectedConnections', () => {
  it('holds what the storm can: the fewest of its arrivals, its maxInFlight and max_connections + 1', () => {
    expect(expectedConnections(storm(), 'db', 300)).toEqual({ connections: 301, formula: 'min(1590 sessions arrive, maxInFlight 4000, max_connections 300 + 1 admin) = 301', shared: false });
    expect(expectedConnections(storm({ maxInFlight: 40 }), 'db', 300).connections).toBe(40);
    expect(expectedConnections(storm(), 'other', 300)).toEqual({ connections: 0, formula: 'the storm targets another server', shared: false });
    expect(expectedConnections(undefined, 'db', 300).connections).toBe(0);
  });

  it('gives each replica of a burst an even share of the requests in flight', () => {
    const burst: Workload = {
      kind: 'http-burst',
      targets: ['a', 'b'],
      balancer: 'fastest',
      connectionMode: 'new-connection',
      startPerSecond: 20,
      stages: [{ targetPerSecond: 200, durationMs: 10_000 }],
      maxInFlight: 600,
    } as Workload;
    expect(expectedConnections(burst, 'a', 2000)).toEqual({
      connections: 300,
      formula: 'min(1100 requests / 2 replicas, maxInFlight 600 / 2 replicas, max_connections 2000 + 1 admin) = 300',
      shared: true,
    });
  });
});

describe('seededRows', () => {
  it('counts the feed rows seeded on the servers the workload reaches', () => {
    expect(seededRows(storm(), 'db')).toBe(2_000 + 40_000 + 40_000);
    expect(seededRows(storm({ seed: { users: 10, posts: 100, followsPerUser: 2 } }), 'db')).toBe(130);
    expect(seededRows(storm(), 'other')).toBe(0);
  });
});

describe('the expected peak of one instance', () => {
  const footprint = IMAGE_FOOTPRINTS.find((f) => f.image === MARIADB)!;

  it('is the measured start-up footprint for a server without data or clients, moved by its pool size', () => {
    const at128 = predictInstance({ name: 'db', image: MARIADB, nofile: 20_000, mycnf: { innodb_buffer_pool_size: '128M', max_connections: 1000 } }).expected!;
    // open_files_limit 20000 at nofile 20000, as measured: the figure is the measured one.
    expect(at128.bytes).toBe(footprint.startUpBytes);
    expect(footprint.startUpAt.openFilesLimit).toBe(20_000);
    const at1g = predictInstance({ name: 'db', image: MARIADB, nofile: 20_000, mycnf: { innodb_buffer_pool_size: '1G', max_connections: 1000 } }).expected!;
    // Measured 98263040 B at 1G: the slope puts it within 1 %.
    expect(Math.abs(at1g.bytes - 98_263_040) / 98_263_040).toBeLessThan(0.01);
    expect(at1g.busyConnections).toBe(0);
  });

  it("moves the footprint by each setting's measured cost: nofile-oom's tuned my.cnf, measured at 38760448 B", () => {
    const tuned = {
      innodb_buffer_pool_size: '32M',
      innodb_log_buffer_size: '1M',
      key_buffer_size: '16k',
      max_connections: 50,
      open_files_limit: 4096,
      table_open_cache: 16,
      sort_buffer_size: '512k',
      tmp_table_size: '16M',
      performance_schema: 'OFF',
    };
    const expected = predictInstance({ name: 'db', image: MARIADB, nofile: 20_000, mycnf: tuned }).expected!;
    expect(Math.abs(expected.bytes - 38_760_448) / 38_760_448).toBeLessThan(0.01);
    expect(expected.terms.map((t) => t.name)).toEqual(['start-up footprint', 'open-file table']);
  });

  it('counts the open-file table an explicit open_files_limit allocates', () => {
    const explicit = predictInstance({ name: 'db', image: MARIADB, nofile: 1_048_576, mycnf: { open_files_limit: 1_048_576, max_connections: 1000 } }).expected!;
    expect(explicit.terms.find((t) => t.name === 'open-file table')).toMatchObject({ bytes: 16 * 1_048_576, phase: 'start-up' });
  });

  it('fills the pool to the warm-up fraction when the instance asks for one', () => {
    const spec = { name: 'db', image: MARIADB, nofile: 20_000, mycnf: { innodb_buffer_pool_size: '1G' }, warmup: { bufferPoolFraction: 0.9 } };
    const warm = predictInstance(spec as Parameters<typeof predictInstance>[0]).expected!;
    expect(warm.terms.find((t) => t.name === 'buffer pool, warm')).toMatchObject({ bytes: Math.round(0.9 * 1024 * MiB) });
  });

  it('says there is none for an image whose footprint was never measured', () => {
    const prediction = predictInstance({ name: 'db', image: 'mysql:5.7', nofile: 4096 });
    expect(prediction.expected).toBeUndefined();
    expect(prediction.assumptions).toContain('no measured footprint for MySQL 5.7 (image-footprints.ts): no expected peak, only the worst case');
  });
});

describe('the expected peak on recorded runs', () => {
  it('burst-oom: the survivor (sized buffers, max_connections 300) within ±25 % of its anon peak', async () => {
    const rows = await survivors(fixture('report-burst-oom.json'));
    expect(rows.map((r) => r.id)).toEqual(['image=oomlab/mariadb:10.11,allocator=glibc,innodb_thread_concurrency=0,buffers=sized,max_connections=300,memory=1g']);
    const [row] = rows;
    expect(row!.expected.busyConnections).toBe(301);
    expect(Math.abs(row!.expected.bytes - row!.observed) / row!.observed).toBeLessThan(0.25);
  });

  it("scraping-burst: 5 of 6 survivors within ±25 %; the miss is B where the balancer gave it fewer connections than the model's even share", async () => {
    const rows = await survivors(fixture('report-scraping-burst.json'));
    expect(rows).toHaveLength(6);
    const off = rows.filter((r) => Math.abs(r.expected.bytes - r.observed) / r.observed > 0.25);
    expect(off.map((r) => `${r.instance} ${r.id.includes('innodb_thread_concurrency=32') ? 'itc=32' : ''}`)).toEqual(['b itc=32']);
    // The model's 300 (600 in flight / 2 replicas) against the 223 B held, capped by its one CPU either way.
    expect(off[0]!.expected.busyConnections).toBe(300);
    expect(off[0]!.expected.terms.find((t) => t.name === 'busy connections')!.formula).toMatch(/^3\.6 GiB per CPU × 1 CPU, below 300 connections/);
    const a = rows.find((r) => r.instance === 'a')!;
    expect(a.expected.unknowns).toContain("the balancer's split between replicas: each is given an even share; a `fastest` balancer moves clients away from the slower one");
  });

  // Today's runs of bench:memory-model, slimmed to what the table reads (memory-model-*.json: the anon and connection samples).
  it('nofile-oom: all 13 MariaDB survivors within 1 % of their start-up anon; the two killed expected above the limit', async () => {
    const report = fixture('memory-model-nofile-oom.json');
    const rows = await survivors(report);
    expect(rows).toHaveLength(13);
    for (const row of rows) expect(Math.abs(row.expected.bytes - row.observed) / row.observed, row.id).toBeLessThan(0.01);
    const planned = planRun(await loadScenario(scenarioFile('nofile-oom')), {}, undefined, { numaNodes: 2 });
    const killed = report.configs.filter((c) => c.outcome === 'oom-killed-at-startup').map((c) => planned.find((p) => p.id === c.id)!);
    expect(killed).toHaveLength(2);
    for (const config of killed) {
      const prediction = predictConfigInstance(config, config.instances[0]!, { defaultNofile: report.host.nofileHardLimit, cpus: 2 });
      expect(prediction.expected!.bytes).toBeGreaterThan(prediction.limitBytes!);
    }
  });

  it('burst-oom: the four survivors (sized, max_connections 300) within ±25 %', async () => {
    const rows = await survivors(fixture('memory-model-burst-oom.json'));
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(Math.abs(row.expected.bytes - row.observed) / row.observed, row.id).toBeLessThan(0.25);
  });

  it('scraping-burst roomy: A within ±25 %; B +34.7 %, given 144 connections by the balancer where the model counts 300', async () => {
    const rows = await survivors(fixture('memory-model-scraping-burst.json'));
    const error = (r: (typeof rows)[number]) => Math.round(((r.expected.bytes - r.observed) / r.observed) * 1000) / 10;
    expect(rows.map((r) => `${r.instance} ${error(r)} %`)).toEqual(['a 2.9 %', 'b 34.7 %']);
  });
});

describe('expected peak of the cause families', () => {
  const expectedMiB = async (scenario: string) => {
    const planned = planRun(await loadScenario(scenarioFile(scenario)), {}, undefined, { numaNodes: 2 });
    return Object.fromEntries(
      planned.map((plan) => {
        const fix = plan.id
          .split(',')
          .filter((pair) => !/^(image|memory)=/.test(pair))
          .join(',');
        return [fix, Math.round(predictConfigInstance(plan, plan.instances.find((i) => i.name === 'db')!, { defaultNofile: 20_000, cpus: 2 }).expected!.bytes / MiB)];
      }),
    );
  };

  it("counts the buffers a storm's statements declare they fill, not the feed mix's share", async () => {
    // 250 busy connections × (63 KiB + the report's 2M sort buffer) beside the warm pool: measured 1.6–1.9 MiB a connection.
    expect(await expectedMiB('buffer-pool-oom')).toEqual({ 'pool=production': 2191, 'pool=half-limit': 1695, 'pool=before-deploy': 1199 });
  });

  it('counts only the statements the thread pool runs at once: 2 groups × (1 + 3 oversubscribed)', async () => {
    expect(await expectedMiB('connection-buffers-oom')).toEqual({ 'fix=none': 2552, 'fix=sized-buffers': 827, 'fix=max-connections-100': 1094, 'fix=thread-pool': 744 });
  });

  it('counts performance_schema: autosized from max_connections, and the instrument sizes a my.cnf sets (measured 642 MiB in all)', async () => {
    expect(await expectedMiB('performance-schema-oom')).toEqual({ 'change=production': 643, 'change=performance-schema-off': 77, 'change=autosized': 213 });
  });
});

describe('allocator retention over work cycles', () => {
  const footprint = IMAGE_FOOTPRINTS.find((f) => f.image === MARIADB)!;
  const cycle = [
    { targetPerSecond: 100, durationMs: 5_000 },
    { targetPerSecond: 0, durationMs: 12_000 },
  ];

  it('counts the bursts a storm drives, a quiet of at least a second between them', () => {
    expect(workCycles(storm({ stages: [...cycle, ...cycle, ...cycle] }), 'db')).toBe(3);
    expect(workCycles(storm(), 'db')).toBe(1);
    // A 500 ms pause at rate 0 is inside one burst.
    expect(workCycles(storm({ stages: [cycle[0]!, { targetPerSecond: 0, durationMs: 500 }, cycle[0]!] }), 'db')).toBe(1);
    expect(workCycles(storm({ stages: [...cycle, ...cycle] }), 'other')).toBe(0);
  });

  it('keeps the last measured share beyond the cycles measured', () => {
    const shares = footprint.cycleRetention.glibc!.peakShare;
    expect(retainedShare(footprint, 'glibc', 3)).toBe(shares[2]);
    expect(retainedShare(footprint, 'glibc', 40)).toBe(shares.at(-1));
    expect(retainedShare(footprint, 'tcmalloc', 3)).toBeUndefined();
  });

  it("tells the allocators apart from the instance's preload and MALLOC_ARENA_MAX", () => {
    expect(allocatorOf({})).toBe('glibc');
    expect(allocatorOf({ allocator: 'jemalloc' })).toBe('jemalloc');
    expect(allocatorOf({ allocator: 'glibc', env: { MALLOC_ARENA_MAX: '2' } })).toBe('glibc-arenas-2');
    expect(allocatorOf({ env: { MALLOC_ARENA_MAX: '8' } })).toBe('glibc');
  });

  it("allocator-retention: glibc's three cycles above its 1 GiB limit, jemalloc and two arenas below it", async () => {
    const planned = planRun(await loadScenario(scenarioFile('allocator-retention')), {}, undefined, { numaNodes: 2 });
    const of = (id: string) => {
      const plan = planned.find((p) => p.id === `image=${MARIADB},${id}`)!;
      return predictConfigInstance(plan, plan.instances[0]!, { defaultNofile: 20_000, cpus: 2 });
    };
    const glibc = of('allocator=glibc,memory=1g');
    const kept = glibc.expected!.terms.find((t) => t.name === 'allocator, kept across cycles')!;
    const busy = glibc.expected!.terms.find((t) => t.name === 'busy connections')!.bytes;
    expect(kept.bytes).toBe(Math.round(0.714 * busy));
    expect(kept.formula).toBe(`0.714 × busy connections 542 MiB: what glibc kept beyond them over 3 work cycles`);
    expect(Math.round(glibc.expected!.bytes / MiB)).toBe(1142);
    expect(glibc.expected!.fits).toBe(false);
    expect(Math.round(of('allocator=jemalloc,memory=1g').expected!.bytes / MiB)).toBe(829);
    expect(Math.round(of('allocator=glibc-arena-max-2,memory=1g').expected!.bytes / MiB)).toBe(911);
    for (const id of ['allocator=jemalloc,memory=1g', 'allocator=glibc-arena-max-2,memory=1g', 'allocator=glibc,memory=1536m']) expect(of(id).expected!.fits, id).toBe(true);
  });

  it('allocator-retention, run with --repeat 3 (2026-12-07): the three survivors within ±25 % of their anon peak', async () => {
    const report = fixture('memory-model-allocator-retention.json');
    const rows = await survivors(report);
    const error = (r: (typeof rows)[number]) => Math.round(((r.expected.bytes - r.observed) / r.observed) * 1000) / 10;
    expect(rows.map((r) => `${r.id.split(',').slice(1).join(',')} ${error(r)} %`)).toEqual([
      'allocator=glibc,memory=1536m 1.9 %',
      'allocator=jemalloc,memory=1g -10.2 %',
      'allocator=glibc-arena-max-2,memory=1g 5.4 %',
    ]);
    expect(report.configs.find((c) => c.id.includes('allocator=glibc,memory=1g'))!.outcome).toBe('oom-killed-under-load');
  });

  it('adds nothing to one burst (what the footprint measured), and says so where the allocator was not measured', () => {
    const once = predictInstance({ name: 'db', image: MARIADB, nofile: 20_000, allocator: 'jemalloc' }, {}, { workload: storm({ maxInFlight: 30 }) }).expected!;
    expect(once.terms.map((t) => t.name)).not.toContain('allocator, kept across cycles');
    const tcmalloc = predictInstance({ name: 'db', image: MARIADB, nofile: 20_000, allocator: 'tcmalloc' }, {}, { workload: storm({ maxInFlight: 30, stages: [...cycle, ...cycle] }) }).expected!;
    expect(tcmalloc.terms.map((t) => t.name)).not.toContain('allocator, kept across cycles');
    expect(tcmalloc.unknowns).toContain('what tcmalloc keeps over 2 work cycles: not measured for this allocator on this image, not counted');
  });
});
