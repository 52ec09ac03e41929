import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScenarioInvalidError } from '../../src/0-model/errors.ts';
import { planRun } from '../../src/2-plan/index.ts';
import { loadScenario, validateScenario, type Scenario, type StormWorkload } from '../../src/1-scenario/index.ts';
import { stormMix } from '../../src/5-workload/index.ts';

const SCRAPING_BURST = fileURLToPath(new URL('../../scenarios/scraping-burst.ts', import.meta.url));
let scenario: Scenario;
beforeAll(async () => {
  scenario = await loadScenario(SCRAPING_BURST);
});

const ONE_NODE = { numaNodes: 1 };

describe('planRun on scenarios/scraping-burst.ts', () => {
  it('plans the baseline and each fix alone', () => {
    const configs = planRun(scenario, {}, undefined, ONE_NODE);
    expect(configs).toHaveLength(6);
    const baseline = configs.find(
      (c) => c.axes.allocator === 'glibc' && c.axes.thp === 'always' && c.axes.headroom === 'tight' && c.axes.numa === 'default' && c.axes.innodb_thread_concurrency === 0,
    )!;
    expect(baseline.expect).toMatchObject({ a: { outcome: 'oom-killed-under-load' }, b: { outcome: 'survived' } });
    expect(baseline.host).toEqual({ thp: 'always', sides: { 'host-a': { memory: 1280 * 1024 ** 2 }, 'host-b': { memory: 12 * 1024 ** 3 } } });
    expect(baseline.instances.map((i) => `${i.name}:${i.role ?? 'server'}@${i.side}`)).toEqual(['a:server@host-a', 'neighbour:neighbour@host-a', 'b:server@host-b']);
    expect(baseline.workload).toMatchObject({ kind: 'http-burst', targets: ['a', 'b'], balancer: 'fastest' });
  });

  it("carries the incident's claims: B:A ≥ 2 where A has room, ≥ 1.25 where it is killed early, and the thresholds parsed", () => {
    for (const config of planRun(scenario, {}, undefined, ONE_NODE)) {
      expect(config.workload).toMatchObject({
        expect: { ratio: { of: 'b', to: 'a', atLeast: config.axes.headroom === 'roomy' ? 2 : 1.25 } },
        thresholds: [
          { metric: 'http_req_duration', expression: 'p(99)>2000', aggregate: 'p(99)', operator: '>', value: 2000 },
          { metric: 'http_req_failed', expression: 'rate>0.05', aggregate: 'rate', operator: '>', value: 0.05 },
        ],
      });
    }
  });

  it('skips NUMA interleave on a one-node host with the reason doctor prints, and runs it on two', () => {
    const numa = (nodes: number) => planRun(scenario, { only: ['numa=interleave'] }, undefined, { numaNodes: nodes })[0]!;
    expect(numa(1).skip).toBe('1 NUMA node');
    expect(numa(2).skip).toBeUndefined();
  });

  it('skips configurations that switch THP where the host does not let it change', () => {
    const configs = planRun(scenario, {}, undefined, { numaNodes: 2, thpUnswitchable: 'THP mode cannot be changed (EROFS)' });
    expect(configs.every((c) => c.skip === 'THP mode cannot be changed (EROFS)')).toBe(true);
  });
});

// Per server, from scenarios/lib/servers.ts: --set image reruns the scenario on MySQL without an edit.
describe('planRun on scenarios/scraping-burst.ts with --set image=…', () => {
  const baseline = (image: string) =>
    planRun(scenario, { set: [`image=${image}`], only: ['allocator=glibc', 'innodb_thread_concurrency=0', 'thp=always', 'numa=default', 'headroom=tight'] }, undefined, ONE_NODE)[0]!;

  it('gives MySQL its own statement timeout and budgets 350 MiB larger for what it holds idle', () => {
    const mysql = baseline('oomlab/mysql:9.7');
    const a = mysql.instances.find((i) => i.name === 'a')!;
    expect(a.mycnf).toMatchObject({ max_execution_time: 10_000 });
    expect(a.mycnf).not.toHaveProperty('max_statement_time');
    expect(mysql.host?.sides?.['host-a']).toEqual({ memory: 1630 * 1024 ** 2 });
    expect(mysql.expect.a).toMatchObject({ outcome: 'oom-killed-under-load', because: expect.stringContaining('(allocator=glibc: no preload, so its own tcmalloc)') });
  });

  it('gives the official MySQL images glibc and the timeout their release has (none before 5.7)', () => {
    const mycnf = (image: string) => baseline(image).instances.find((i) => i.name === 'a')!.mycnf;
    expect(mycnf('mysql:5.7')).toMatchObject({ max_execution_time: 10_000 });
    expect(mycnf('mysql:5.5')).not.toHaveProperty('max_execution_time');
    expect(mycnf('mysql:5.5')).not.toHaveProperty('max_statement_time');
    expect(baseline('mysql:5.7').expect.a?.because).not.toContain('tcmalloc');
  });

  it('keeps MariaDB as the file has it, whatever the release', () => {
    for (const image of ['oomlab/mariadb:10.5', 'oomlab/mariadb:11.8']) {
      const mariadb = baseline(image);
      expect(mariadb.instances.find((i) => i.name === 'a')!.mycnf).toMatchObject({ max_statement_time: 10 });
      expect(mariadb.host?.sides?.['host-a']).toEqual({ memory: 1280 * 1024 ** 2 });
      expect(mariadb.expect.a?.because).not.toContain('tcmalloc');
    }
  });
});

describe('planRun on scenarios/scraping-burst-versions.ts', () => {
  it('plans the baseline at both headrooms on each offline server, with its budget', async () => {
    const versions = await loadScenario(fileURLToPath(new URL('../../scenarios/scraping-burst-versions.ts', import.meta.url)));
    const configs = planRun(versions, {}, undefined, ONE_NODE);
    expect(versions.name).toBe('scraping-burst-versions');
    expect(configs.map((c) => `${c.axes.image} ${c.axes.headroom} ${(c.host!.sides!['host-a']!.memory / 1024 ** 2).toFixed(0)} MiB`)).toEqual([
      'oomlab/mariadb:10.5 tight 1280 MiB',
      'oomlab/mariadb:10.5 roomy 9216 MiB',
      'oomlab/mariadb:10.11 tight 1280 MiB',
      'oomlab/mariadb:10.11 roomy 9216 MiB',
      'oomlab/mariadb:11.8 tight 1280 MiB',
      'oomlab/mariadb:11.8 roomy 9216 MiB',
      'oomlab/mysql:9.7 tight 1630 MiB',
      'oomlab/mysql:9.7 roomy 9566 MiB',
    ]);
  });
});

describe('http-burst and host settings are validated before anything runs', () => {
  const base = () => ({
    name: 'shape',
    incident: 'test',
    matrix: { x: [1] },
    instances: () => ({
      a: { image: 'img', side: 'left' },
      b: { image: 'img' },
      hog: { image: 'img', role: 'neighbour', side: 'left' },
    }),
    expect: () => ({ a: { outcome: 'survived' } }),
    host: () => ({ sides: { left: { memory: '1g' } } }),
    workload: () => ({ kind: 'http-burst', targets: ['a', 'b'], balancer: 'fastest', connectionMode: 'pool', stages: [{ targetPerSecond: 1, durationMs: 1000 }] }),
  });
  const plan = (over: Record<string, unknown>) => () => planRun(validateScenario({ ...base(), ...over }, 'scenarios/shape.ts'));

  it('accepts a well-formed burst', () => {
    expect(plan({})()).toHaveLength(1);
  });

  it('names a misspelt burst field and suggests the right one', () => {
    const run = plan({ workload: () => ({ ...base().workload(), balancr: 'fastest' }) });
    expect(run).toThrow(ScenarioInvalidError);
    expect(run).toThrow(/unknown field `workload.balancr` \(did you mean `balancer`\?\)/);
  });

  it('rejects an unknown balancer with the allowed ones', () => {
    expect(plan({ workload: () => ({ ...base().workload(), balancer: 'random' }) })).toThrow(/workload.balancer` must be one of round-robin, least-connections, fastest/);
  });

  it('rejects a target that is not a server', () => {
    expect(plan({ workload: () => ({ ...base().workload(), targets: ['a', 'hog'] }) })).toThrow(/target `hog` is a neighbour/);
    expect(plan({ workload: () => ({ ...base().workload(), targets: ['a', 'c'] }) })).toThrow(/target `c` is not an instance/);
  });

  it('rejects a ratio between instances that are not servers of this configuration', () => {
    const withRatio = (ratio: object) => plan({ workload: () => ({ ...base().workload(), expect: { ratio } }) });
    expect(withRatio({ of: 'b', to: 'c', atLeast: 2 })).toThrow('scenarios/shape.ts (x=1): workload.expect.ratio.to `c` is not an instance; instances are: a, b, hog');
    expect(withRatio({ of: 'hog', to: 'a', atLeast: 2 })).toThrow('scenarios/shape.ts (x=1): workload.expect.ratio.of `hog` is a neighbour; load goes to servers');
    expect(withRatio({ of: 'b', to: 'a' })).toThrow('scenarios/shape.ts (x=1): `workload.expect.ratio`: give at least one of below, above, atLeast, atMost');
  });

  it('names a misspelt load claim among the claims a workload may make', () => {
    expect(plan({ workload: () => ({ ...base().workload(), expect: { p99ms: { below: 2000 } } }) })).toThrow(
      'scenarios/shape.ts (x=1): unknown field `workload.expect.p99ms` (did you mean `p99Ms`?); allowed: because, after, p50Ms, p90Ms, p99Ms, p999Ms, maxMs, errorRate, errors, ratio',
    );
  });

  it("reads thresholds in k6's grammar, and says what oomlab measures when it cannot", () => {
    const withThresholds = (thresholds: object) => plan({ workload: () => ({ ...base().workload(), thresholds }) });
    expect(withThresholds({ http_req_duration: ['p(99) < 2000'] })()[0]!.workload?.thresholds).toEqual([
      { metric: 'http_req_duration', expression: 'p(99) < 2000', aggregate: 'p(99)', operator: '<', value: 2000 },
    ]);
    expect(withThresholds({ http_req_duration: ['p(95)<2000'] })).toThrow(
      'scenarios/shape.ts (x=1): `workload.thresholds`: `http_req_duration` has `p(95)<2000`: oomlab measures p(50), p(90), p(99), p(99.9), med, max of http_req_duration, not p(95)',
    );
    expect(withThresholds({ http_req_waiting: ['p(99)<2000'] })).toThrow(
      'scenarios/shape.ts (x=1): `workload.thresholds`: `http_req_waiting` is not a figure oomlab measures for a http-burst workload; it measures http_req_duration, iteration_duration, http_req_failed, http_reqs, dropped_iterations',
    );
    expect(withThresholds({ http_req_failed: ['rate less than 0.05'] })).toThrow(
      'scenarios/shape.ts (x=1): `workload.thresholds`: `http_req_failed` has `rate less than 0.05`, which is not a k6 threshold; write it like p(99)<2000 or rate<0.05',
    );
  });

  it("takes a storm's own query mix, naming its statements by position", () => {
    const storm = {
      kind: 'storm',
      target: 'a',
      stages: [{ targetPerSecond: 1, durationMs: 1000 }],
      session: { queries: 1, thinkMs: 0, holdMs: 0 },
      mix: [
        { sql: 'SELECT 1', weight: 3 },
        { name: 'sleep', sql: 'SELECT SLEEP(?)', weight: 1, params: () => [0.1] },
      ],
    };
    const [config] = plan({ workload: () => storm })();
    const mix = stormMix(config!.workload as StormWorkload);
    expect(mix.map((q) => [q.name, q.sql, q.weight, q.params?.(Math.random)])).toEqual([
      ['query 1', 'SELECT 1', 3, undefined],
      ['sleep', 'SELECT SLEEP(?)', 1, [0.1]],
    ]);
    expect(plan({ workload: () => ({ ...storm, mix: [{ sql: 'SELECT 1', wieght: 1 }] }) })).toThrow(/unknown field `workload.mix\[0\].wieght`/);
  });

  it('rejects a side without a budget, and a misspelt host setting', () => {
    expect(plan({ host: () => ({ sides: {} }) })).toThrow(/instance `a` is on side `left`, which host\(config\).sides does not budget/);
    expect(plan({ host: () => ({ thp: 'sometimes' }) })).toThrow(/host.thp` must be one of always, madvise, never/);
    expect(plan({ host: () => ({ thpp: 'never', sides: { left: { memory: '1g' } } }) })).toThrow(/unknown field `host.thpp` \(did you mean `thp`\?\)/);
  });
});
