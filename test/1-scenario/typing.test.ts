// What tsc must reject in a scenario file: each `@ts-expect-error` below fails `npx tsc --noEmit` (which
// covers test/) as soon as the line it marks compiles, so these are type tests; vitest runs the rest.
import { describe, expect, it } from 'vitest';
import { defineScenario, memoryNeighbour, oneAtATime } from 'oomlab';
import { planRun } from '../../src/2-plan/index.ts';

const matrix = { memory: ['1g', '2g'], fix: ['none', 'ulimit'] } as const;
const instances = () => ({ a: { image: 'oomlab/mariadb:10.11' }, b: { image: 'oomlab/mariadb:10.11' } });

describe('a scenario names its instances once, in instances(config)', () => {
  it('accepts expectations, targets and a ratio that name instances', () => {
    const scenario = defineScenario({
      name: 'typed',
      incident: 'type test',
      matrix,
      instances,
      expect: (c) => (c.memory === '1g' ? { a: { outcome: 'oom-killed-under-load' } } : { a: { outcome: 'survived' }, b: { outcome: 'survived' } }),
      workload: () => ({
        kind: 'http-burst',
        targets: ['a', 'b'],
        balancer: 'fastest',
        connectionMode: 'pool',
        stages: [{ targetPerSecond: 1, durationMs: 1_000 }],
        expect: { ratio: { of: 'b', to: 'a', atLeast: 2 } },
      }),
    });
    expect(planRun(scenario).map((c) => Object.keys(c.expect))).toEqual([['a'], ['a'], ['a', 'b'], ['a', 'b']]);
  });

  it('rejects a mistyped instance name in expect', () => {
    defineScenario({
      name: 'typo',
      incident: 'type test',
      matrix,
      instances,
      // @ts-expect-error `c` is not an instance of this scenario
      expect: () => ({ a: { outcome: 'survived' }, c: { outcome: 'survived' } }),
    });
    defineScenario({
      name: 'typo-in-a-branch',
      incident: 'type test',
      matrix,
      instances,
      // @ts-expect-error `bb` (in one branch) is not an instance
      expect: (c) => {
        if (c.fix === 'none') return { a: { outcome: 'survived' } };
        return { bb: { outcome: 'survived' } };
      },
    });
  });

  it('rejects an outcome that is not one', () => {
    defineScenario({
      name: 'outcome',
      incident: 'type test',
      matrix,
      instances,
      // @ts-expect-error `oom-killed` is not an outcome
      expect: () => ({ a: { outcome: 'oom-killed' } }),
    });
  });

  it('rejects a mistyped instance in workload.target, workload.targets and the ratio', () => {
    const stages = [{ targetPerSecond: 1, durationMs: 1_000 }];
    const session = { queries: 1, thinkMs: 0, holdMs: 0 };
    const expectA = () => ({ a: { outcome: 'survived' as const } });
    // @ts-expect-error `replica` is not an instance
    defineScenario({ name: 't', incident: 'x', matrix, instances, expect: expectA, workload: () => ({ kind: 'storm', target: 'replica', stages, session }) });
    defineScenario({
      name: 't',
      incident: 'x',
      matrix,
      instances,
      expect: expectA,
      // @ts-expect-error `c` is not an instance
      workload: () => ({ kind: 'http-burst', targets: ['a', 'c'], balancer: 'fastest', connectionMode: 'pool', stages }),
    });
    defineScenario({
      name: 't',
      incident: 'x',
      matrix,
      instances,
      expect: expectA,
      // @ts-expect-error the ratio's `to` is not an instance
      workload: () => ({ kind: 'http-burst', targets: ['a', 'b'], balancer: 'fastest', connectionMode: 'pool', stages, expect: { ratio: { of: 'b', to: 'A', atLeast: 2 } } }),
    });
  });

  it('rejects a baseline axis the matrix does not have', () => {
    defineScenario({
      name: 't',
      incident: 'x',
      matrix,
      instances,
      expect: () => ({ a: { outcome: 'survived' } }),
      // @ts-expect-error `memroy` is not an axis
      exclude: oneAtATime({ memroy: '1g', fix: 'none' }),
    });
  });

  it('an instance that only some configurations have can be expected', () => {
    const scenario = defineScenario({
      name: 'neighbour',
      incident: 'type test',
      matrix,
      instances: (c) => (c.fix === 'none' ? { a: { image: 'img', side: 's' }, hog: memoryNeighbour({ memory: '640m', image: 'img', side: 's' }) } : { a: { image: 'img' } }),
      expect: (c) => (c.fix === 'none' ? { a: { outcome: 'survived' }, hog: { outcome: 'survived' } } : { a: { outcome: 'survived' } }),
      host: () => ({ sides: { s: { memory: '1536m' } } }),
    });
    const [first] = planRun(scenario);
    expect(first!.instances.map((i) => i.name)).toEqual(['a', 'hog']);
    expect(first!.host?.sides?.s?.memory).toBe(1536 * 1024 ** 2);
  });
});
