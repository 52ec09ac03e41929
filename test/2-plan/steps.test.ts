import { describe, expect, it } from 'vitest';
import { ScenarioInvalidError } from '../../src/0-model/errors.ts';
import { planRun } from '../../src/2-plan/index.ts';
import { defineScenario, type Scenario, type StepInput } from '../../src/1-scenario/index.ts';

const WHERE = 'scenarios/x.ts (memory=1g)';
const ACTIONS = 'pause, unpause, kill, restart, limit, network, neighbour, cpu-hog, drop-caches, thp, run';

function scenario(steps: unknown[], extra: Partial<Scenario> = {}): Scenario {
  return {
    name: 'x',
    incident: 'steps test',
    matrix: { memory: ['1g'] },
    instances: () => ({ a: { image: 'oomlab/mariadb:10.11' }, b: { image: 'oomlab/mariadb:10.11' } }),
    expect: () => ({ a: { outcome: 'survived' } }),
    steps: () => steps as StepInput[],
    file: 'scenarios/x.ts',
    ...extra,
  };
}

function planError(steps: unknown[], extra: Partial<Scenario> = {}): string {
  try {
    planRun(scenario(steps, extra));
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioInvalidError);
    return (error as Error).message;
  }
  throw new Error('expected the plan to be refused');
}

const storm = () => ({ kind: 'storm' as const, target: 'a', stages: [{ targetPerSecond: 1, durationMs: 1_000 }], session: { queries: 1, thinkMs: 0, holdMs: 0 } });

describe('steps(config) validated when the run is planned', () => {
  it('splits trigger fields from the action and keeps durations in ms and sizes in bytes', () => {
    const [config] = planRun(
      scenario([
        { name: 'limit-a', at: '20s', action: 'limit', instance: 'a', memory: '768m', for: '1m' },
        { name: 'slow-b', after: 'limit-a', at: 500, action: 'network', instance: 'b', delay: '100ms', timeout: '5s' },
        { name: 'caches', when: 'a.memory >= 512m', action: 'drop-caches' },
      ]),
    );
    expect(config!.steps).toEqual([
      { name: 'limit-a', at: 20_000, for: 60_000, action: { action: 'limit', instance: 'a', memory: 768 * 1024 ** 2 } },
      { name: 'slow-b', after: 'limit-a', at: 500, timeout: 5_000, action: { action: 'network', instance: 'b', delay: 100 } },
      { name: 'caches', when: 'a.memory >= 512m', action: { action: 'drop-caches' } },
    ]);
  });

  it('leaves steps out of a configuration that declares none', () => {
    expect(planRun(scenario([]))[0]!.steps).toBeUndefined();
  });

  it('names an unknown action, suggests the nearest and lists the allowed ones', () => {
    expect(planError([{ name: 'limit-a', at: '20s', action: 'limt', instance: 'a', memory: '768m' }])).toBe(
      `${WHERE}: step "limit-a": unknown action "limt" (did you mean "limit"?); allowed: ${ACTIONS}`,
    );
    expect(planError([{ name: 'x', at: '1s' }])).toBe(`${WHERE}: step "x": no action; allowed: ${ACTIONS}`);
  });

  it('names a step without a name by its index', () => {
    expect(
      planError([
        { name: 'caches', at: '1s', action: 'drop-caches' },
        { at: '1s', action: 'explode' },
      ]),
    ).toBe(`${WHERE}: step [1]: unknown action "explode"; allowed: ${ACTIONS}`);
    expect(planError([{ at: '1s', action: 'drop-caches' }])).toBe(`${WHERE}: step [0]: missing field \`name\``);
  });

  it('refuses a bad time and says what a duration looks like', () => {
    expect(planError([{ name: 'pause-a', at: '20 sec', action: 'pause', instance: 'a' }])).toBe(`${WHERE}: step "pause-a": \`at\`: a duration such as 20s, 500ms or 2m (got "20 sec")`);
    expect(planError([{ name: 'slow', at: '1s', action: 'network', instance: 'a', delay: 'soon' }])).toBe(`${WHERE}: step "slow": \`delay\`: a duration such as 20s, 500ms or 2m (got "soon")`);
  });

  it('refuses an instance the configuration does not have', () => {
    expect(planError([{ name: 'pause-c', at: '1s', action: 'pause', instance: 'c' }])).toBe(`${WHERE}: step "pause-c": instance \`c\` is not an instance; instances are: a, b`);
  });

  it('refuses a field of another action and lists those of this one', () => {
    expect(planError([{ name: 'limit-a', at: '1s', action: 'limit', instance: 'a', memroy: '768m' }])).toBe(
      `${WHERE}: step "limit-a": unknown field \`memroy\` (did you mean \`memory\`?); allowed for limit: name, at, after, when, timeout, for, background, action, instance, memory, cpus`,
    );
  });

  it('says what an action is missing', () => {
    expect(planError([{ name: 'limit-a', at: '1s', action: 'limit', instance: 'a' }])).toBe(`${WHERE}: step "limit-a": give memory or cpus`);
    expect(planError([{ name: 'thp', at: '1s', action: 'thp', mode: 'sometimes' }])).toBe(`${WHERE}: step "thp": \`mode\` must be one of always, madvise, never (got "sometimes")`);
  });

  it('refuses a step with no trigger', () => {
    expect(planError([{ name: 'caches', action: 'drop-caches' }])).toBe(
      `${WHERE}: step "caches": no trigger; give at ('20s' from the moment every instance is ready), after (an event or a step) or when (a sampled condition)`,
    );
  });

  it('refuses a duplicate step name', () => {
    expect(
      planError([
        { name: 'pause-a', at: '1s', action: 'pause', instance: 'a' },
        { name: 'caches', at: '1s', action: 'drop-caches' },
        { name: 'pause-a', at: '2s', action: 'pause', instance: 'b' },
      ]),
    ).toBe(`${WHERE}: step "pause-a" is declared twice (steps [0] and [2]); step names must be unique`);
  });

  it('refuses an `after` that names nothing, and lists the events and steps it may name', () => {
    expect(
      planError([
        { name: 'pause-a', after: 'a.redy', action: 'pause', instance: 'a' },
        { name: 'caches', at: '1s', action: 'drop-caches' },
      ]),
    ).toBe(`${WHERE}: step "pause-a": after "a.redy" names nothing; allowed: a.ready, b.ready, caches`);
    expect(planError([{ name: 'pause-a', after: 'workload.start', action: 'pause', instance: 'a' }])).toBe(
      `${WHERE}: step "pause-a": after "workload.start" names nothing (this configuration has no workload); allowed: a.ready, b.ready`,
    );
    expect(planRun(scenario([{ name: 'pause-a', after: 'workload.end', action: 'pause', instance: 'a' }], { workload: storm }))[0]!.steps).toHaveLength(1);
  });

  it('refuses steps that wait for each other', () => {
    expect(
      planError([
        { name: 'one', after: 'two', action: 'drop-caches' },
        { name: 'two', after: 'one', action: 'drop-caches' },
      ]),
    ).toBe(`${WHERE}: steps "one" → "two" → "one" wait for each other, so none of them would run; start one of them with \`at\` or another event`);
  });

  it('refuses a `when` that does not parse or names no instance', () => {
    const how = 'write <instance>.<connections|memory> <>=|<=|>|<> <value>, e.g. a.connections > 500 or a.memory >= 800m; instances: a, b';
    expect(planError([{ name: 'caches', when: 'a.conns > 5', action: 'drop-caches' }])).toBe(`${WHERE}: step "caches": when "a.conns > 5": it does not parse; ${how}`);
    expect(planError([{ name: 'caches', when: 'c.memory > 1g', action: 'drop-caches' }])).toBe(`${WHERE}: step "caches": when "c.memory > 1g": \`c\` is not an instance; ${how}`);
  });

  it('refuses expectations that name a step the configuration does not have', () => {
    const steps = [{ name: 'partition-a', at: '1s', action: 'network', instance: 'a', partition: true }];
    expect(planError(steps, { expect: () => ({ b: { outcome: 'survived', afterStep: 'partiton-a' } }) })).toBe(
      `${WHERE}: expect.b.afterStep "partiton-a" is not a step of this configuration (did you mean "partition-a"?); steps are: partition-a`,
    );
    expect(planError(steps, { expect: () => ({ a: { outcome: 'oom-killed-under-load', oomKilledWithin: { of: 'neighbour', ms: '10s' } } }) })).toBe(
      `${WHERE}: expect.a.oomKilledWithin.of "neighbour" is not a step of this configuration; steps are: partition-a`,
    );
    expect(planError(steps, { workload: () => ({ ...storm(), expect: { after: 'limit', p99Ms: { below: 2_000 } } }) })).toBe(
      `${WHERE}: workload.expect.after "limit" is not a step of this configuration; steps are: partition-a`,
    );
  });

  it('types instance names and conditions in defineScenario', () => {
    const base = { incident: 'type test', matrix: { memory: ['1g'] }, instances: () => ({ a: { image: 'oomlab/mariadb:10.11' } }), expect: () => ({ a: { outcome: 'survived' as const } }) };
    const typed = defineScenario({ ...base, name: 'typed-steps', steps: () => [{ name: 'pause-a', after: 'a.ready', at: '1s', action: 'pause', instance: 'a' }] });
    // @ts-expect-error `c` is not an instance of this scenario
    defineScenario({ ...base, name: 'wrong-instance', steps: () => [{ name: 'pause-c', at: '1s', action: 'pause', instance: 'c' }] });
    // @ts-expect-error a condition on an instance the scenario does not have
    defineScenario({ ...base, name: 'wrong-condition', steps: () => [{ name: 'caches', when: 'c.memory > 1g', action: 'drop-caches' }] });
    expect(typed.steps).toBeTypeOf('function');
  });
});
