import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScenarioInvalidError } from '../../src/0-model/errors.ts';
import { planRun } from '../../src/2-plan/index.ts';
import { loadScenario, validateScenario, type Scenario } from '../../src/1-scenario/index.ts';

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
    const baseline = configs.find((c) => c.axes.allocator === 'glibc' && c.axes.thp === 'always' && c.axes.headroom === 'tight' && c.axes.numa === 'default' && c.axes.innodb_thread_concurrency === 0)!;
    expect(baseline.expect).toMatchObject({ a: { outcome: 'oom-killed-under-load' }, b: { outcome: 'survived' } });
    expect(baseline.host).toEqual({ thp: 'always', sides: { 'host-a': { memory: 1536 * 1024 ** 2 }, 'host-b': { memory: 12 * 1024 ** 3 } } });
    expect(baseline.instances.map((i) => `${i.name}:${i.role ?? 'server'}@${i.side}`)).toEqual(['a:server@host-a', 'neighbour:neighbour@host-a', 'b:server@host-b']);
    expect(baseline.workload).toMatchObject({ kind: 'http-burst', targets: ['a', 'b'], balancer: 'fastest' });
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

  it('rejects a side without a budget, and a misspelt host setting', () => {
    expect(plan({ host: () => ({ sides: {} }) })).toThrow(/instance `a` is on side `left`, which host\(config\).sides does not budget/);
    expect(plan({ host: () => ({ thp: 'sometimes' }) })).toThrow(/host.thp` must be one of always, madvise, never/);
    expect(plan({ host: () => ({ thpp: 'never', sides: { left: { memory: '1g' } } }) })).toThrow(/unknown field `host.thpp` \(did you mean `thp`\?\)/);
  });
});
