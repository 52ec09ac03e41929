import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScenarioInvalidError, UnknownAxisError, UsageError } from '../../src/0-model/errors.ts';
import { configId, planRun, type PlannedConfig } from '../../src/2-plan/index.ts';
import { defineScenario, loadScenario, type Scenario } from '../../src/1-scenario/index.ts';

const NOFILE_OOM = fileURLToPath(new URL('../../scenarios/nofile-oom.ts', import.meta.url));
const MARIADB = 'oomlab/mariadb:10.11';
const AXES = 'image, nofile, fix, open_files_limit, memory';

let scenario: Scenario;
let where: string;

beforeAll(async () => {
  scenario = await loadScenario(NOFILE_OOM);
  where = scenario.file!;
});

function find(configs: PlannedConfig[], id: string): PlannedConfig {
  const config = configs.find((c) => c.id === id);
  if (!config) throw new Error(`no configuration ${id} among ${configs.length}`);
  return config;
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('planRun on scenarios/nofile-oom.ts', () => {
  it('expands the matrix into 33 configurations (explicit open_files_limit only for MariaDB with a numeric nofile)', () => {
    const configs = planRun(scenario);
    expect(configs).toHaveLength(33);
    expect(configs.map((c) => c.index)).toEqual([...Array(33).keys()]);
    expect(configs.filter((c) => c.axes.open_files_limit === 'explicit').every((c) => c.axes.image === MARIADB && c.axes.nofile !== 'default')).toBe(true);
  });

  it('gives every configuration a stable id built from the axes in matrix order', () => {
    const configs = planRun(scenario);
    expect(configs[0]!.id).toBe('image=mysql:5.7,nofile=default,fix=none,open_files_limit=auto,memory=4g');
    expect(planRun(scenario).map((c) => c.id)).toEqual(configs.map((c) => c.id));
    expect(new Set(configs.map((c) => c.id)).size).toBe(33);
    expect(configId({ image: 'mysql:5.7', nofile: 1073741816 })).toBe('image=mysql:5.7,nofile=1073741816');
  });

  it('--set memory=1g replaces the memory axis', () => {
    const configs = planRun(scenario, { set: ['memory=1g'] });
    expect(configs).toHaveLength(33);
    expect(configs.every((c) => c.axes.memory === '1g' && c.instances[0]!.memory === 1024 ** 3)).toBe(true);
    expect(configs[0]!.id).toBe('image=mysql:5.7,nofile=default,fix=none,open_files_limit=auto,memory=1g');
  });

  it('--set nofile=default,1073741816 keeps numbers as numbers on an axis that mixes numbers and words', () => {
    const configs = planRun(scenario, { set: ['nofile=default,1073741816'] });
    expect(new Set(configs.map((c) => c.axes.nofile))).toEqual(new Set(['default', 1073741816]));
    expect(find(configs, 'image=mysql:5.7,nofile=1073741816,fix=none,open_files_limit=auto,memory=4g').instances[0]!.nofile).toBe(1073741816);
  });

  it('--set on an all-numeric axis coerces digits to numbers', () => {
    const numeric: Scenario = {
      ...scenario,
      matrix: { ...scenario.matrix, nofile: [1048576, 1073741816] },
      exclude: undefined,
    };
    const configs = planRun(numeric, { set: ['nofile=4096,1073741816'] });
    expect(new Set(configs.map((c) => c.axes.nofile))).toEqual(new Set([4096, 1073741816]));
  });

  it('--set of an unknown axis lists the axes', () => {
    const error = thrown(() => planRun(scenario, { set: ['bogus=1'] }));
    expect(error).toBeInstanceOf(UnknownAxisError);
    expect(error.message).toBe(`unknown axis \`bogus\`; this scenario's axes are: ${AXES}`);
  });

  it('--set without = says what it expects', () => {
    expect(() => planRun(scenario, { set: ['memory'] })).toThrow(new UsageError('--set expects axis=value, got `memory`'));
  });

  it('--only image=oomlab/mariadb:10.11 keeps the 15 MariaDB configurations', () => {
    const configs = planRun(scenario, { only: [`image=${MARIADB}`] });
    expect(configs).toHaveLength(15);
    expect(configs.every((c) => c.axes.image === MARIADB)).toBe(true);
    expect(configs.map((c) => c.index)).toEqual([...Array(15).keys()]);
  });

  it('--only filters combine (all must match) and accept a list of values', () => {
    const configs = planRun(scenario, { only: ['image=mysql:5.7,mysql:5.5', 'nofile=1073741816'] });
    expect(configs.map((c) => c.id)).toEqual([
      'image=mysql:5.7,nofile=1073741816,fix=none,open_files_limit=auto,memory=4g',
      'image=mysql:5.7,nofile=1073741816,fix=tuned-my.cnf,open_files_limit=auto,memory=4g',
      'image=mysql:5.7,nofile=1073741816,fix=ulimit-4096,open_files_limit=auto,memory=4g',
      'image=mysql:5.5,nofile=1073741816,fix=none,open_files_limit=auto,memory=4g',
      'image=mysql:5.5,nofile=1073741816,fix=tuned-my.cnf,open_files_limit=auto,memory=4g',
      'image=mysql:5.5,nofile=1073741816,fix=ulimit-4096,open_files_limit=auto,memory=4g',
    ]);
  });

  it('--only of a value the axis does not have is a usage error that lists its values', () => {
    const error = thrown(() => planRun(scenario, { only: ['image=mysql:8.0'] }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/^--only image=mysql:8\.0: image has no value `mysql:8\.0` \(its values: .*oomlab\/mariadb:10\.11.*\); to narrow by two axes, repeat --only: /);
  });

  it('--only that combines two axes after one comma is a usage error saying to repeat --only', () => {
    const error = thrown(() => planRun(scenario, { only: [`image=${MARIADB},nofile=1073741816`] }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(
      `--only image=${MARIADB},nofile=1073741816: \`nofile=1073741816\` is not a value of image; to narrow by two axes, repeat --only: \`--only image=${MARIADB} --only nofile=1073741816\``,
    );
  });

  it('--only whose filters together match nothing is a usage error', () => {
    const error = thrown(() => planRun(scenario, { only: ['image=mysql:5.7', 'open_files_limit=explicit'] }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(`no configuration of ${where} matches --only image=mysql:5.7 open_files_limit=explicit; \`oomlab list\` shows the axes`);
  });

  it('--only of an unknown axis lists the axes', () => {
    expect(() => planRun(scenario, { only: ['imgae=mysql:5.7'] })).toThrow(`unknown axis \`imgae\`; this scenario's axes are: ${AXES}`);
  });

  it('marks configurations whose image the host cannot run as skipped, with the reason', () => {
    const reason = 'image mysql:5.5 is not available: no registry is reachable';
    const configs = planRun(scenario, {}, (image) => (image === 'mysql:5.5' ? reason : undefined));
    expect(configs).toHaveLength(33);
    const skipped = configs.filter((c) => c.skip !== undefined);
    expect(skipped).toHaveLength(9);
    expect(skipped.every((c) => c.axes.image === 'mysql:5.5' && c.skip === reason)).toBe(true);
    expect(configs.filter((c) => c.axes.image !== 'mysql:5.5').some((c) => 'skip' in c)).toBe(false);
  });
});

describe('planRun validates what instances() and expect() return', () => {
  const firstId = 'image=mysql:5.7,nofile=default,fix=none,open_files_limit=auto,memory=4g';

  it('reports a typo in an instance spec on one line, with the field and a suggestion', () => {
    const typo = { ...scenario, instances: () => ({ db: { image: 'mysql:5.7', memroy: '4g' } }) } as unknown as Scenario;
    const error = thrown(() => planRun(typo));
    expect(error).toBeInstanceOf(ScenarioInvalidError);
    expect(error.message).toBe(
      `${where} (${firstId}): unknown field \`instances.db.memroy\` (did you mean \`memory\`?); allowed: image, memory, memorySwap, nofile, cpusetCpus, cpusetMems, oomScoreAdj, env, entrypoint, command, mycnf, allocator, readyTimeoutMs, settleMs, role, side, numa, traceEvidence, warmup`,
    );
  });

  it('rejects instances that are not keyed by name, quoting what it got', () => {
    const list = { ...scenario, instances: () => [] } as unknown as Scenario;
    expect(() => planRun(list)).toThrow(`${where} (${firstId}): instances(config) must return the instances by name, e.g. { db: { image: 'oomlab/mariadb:10.11' } }; got []`);
    const none = { ...scenario, instances: () => ({}) };
    expect(() => planRun(none)).toThrow(`${where} (${firstId}): instances(config) must return the instances by name, e.g. { db: { image: 'oomlab/mariadb:10.11' } }; got {}`);
  });

  it('rejects an instance name that is not lowercase-with-dashes', () => {
    const upper = { ...scenario, instances: () => ({ DB: { image: 'a' } }) };
    expect(() => planRun(upper)).toThrow(`${where} (${firstId}): instance name \`DB\` must be lowercase letters, digits and dashes`);
  });

  it('reads every size once, into bytes', () => {
    const sized = { ...scenario, instances: () => ({ db: { image: 'a', memory: '1.5g', memorySwap: 2 * 1024 ** 3 } }) };
    expect(planRun(sized)[0]!.instances[0]).toEqual({ name: 'db', image: 'a', memory: 1.5 * 1024 ** 3, memorySwap: 2 * 1024 ** 3 });
  });

  it('rejects an expectation for an instance that does not exist', () => {
    const stranger = { ...scenario, expect: () => ({ replica: { outcome: 'survived' as const } }) };
    const error = thrown(() => planRun(stranger));
    expect(error).toBeInstanceOf(ScenarioInvalidError);
    expect(error.message).toBe(`${where} (${firstId}): expect(config) names instance \`replica\`; instances are: db`);
  });

  it('rejects an outcome that is not one of the outcomes', () => {
    const wrong = { ...scenario, expect: () => ({ db: { outcome: 'oom-killed' } }) } as unknown as Scenario;
    expect(() => planRun(wrong)).toThrow(
      `${where} (${firstId}): \`expect.db.outcome\` must be one of survived, oom-killed-at-startup, oom-killed-under-load, oom-killed-after-load, crashed, never-ready`,
    );
  });
});

describe('expectations of scenarios/nofile-oom.ts match incident 1', () => {
  let configs: PlannedConfig[];
  beforeAll(() => {
    configs = planRun(scenario);
  });
  const id = (image: string, nofile: string | number, fix: string, openFilesLimit = 'auto') => `image=${image},nofile=${nofile},fix=${fix},open_files_limit=${openFilesLimit},memory=4g`;

  it("mysql:5.7 with containerd's 1073741816 and no fix is OOM-killed at start-up", () => {
    expect(find(configs, id('mysql:5.7', 1073741816, 'none')).expect.db!.outcome).toBe('oom-killed-at-startup');
  });

  it('the tuned my.cnf (the red herring) is OOM-killed all the same', () => {
    const config = find(configs, id('mysql:5.7', 1073741816, 'tuned-my.cnf'));
    expect(config.expect.db!.outcome).toBe('oom-killed-at-startup');
    expect(config.instances[0]!.mycnf).toMatchObject({ innodb_buffer_pool_size: '32M', open_files_limit: 4096, max_connections: 50 });
  });

  it('the ulimit -n 4096 wrapper survives with open_files_limit at most 4096', () => {
    const config = find(configs, id('mysql:5.7', 1073741816, 'ulimit-4096'));
    expect(config.expect.db).toMatchObject({ outcome: 'survived', openFilesLimit: { atMost: 4096 } });
    expect(config.instances[0]!.entrypoint).toEqual(['sh', '-c', 'ulimit -n 4096 && exec docker-entrypoint.sh mysqld']);
  });

  it('MariaDB with an automatic open_files_limit at 1073741816 survives', () => {
    expect(find(configs, id(MARIADB, 1073741816, 'none', 'auto')).expect.db!.outcome).toBe('survived');
  });

  it('MariaDB with open_files_limit set explicitly to 1073741816 is OOM-killed at start-up', () => {
    const config = find(configs, id(MARIADB, 1073741816, 'none', 'explicit'));
    expect(config.expect.db!.outcome).toBe('oom-killed-at-startup');
    expect(config.instances[0]!.mycnf?.open_files_limit).toBe(1073741816);
  });

  it("an explicit open_files_limit wins over the tuned my.cnf's 4096", () => {
    const config = find(configs, id(MARIADB, 1073741816, 'tuned-my.cnf', 'explicit'));
    expect(config.instances[0]!.mycnf?.open_files_limit).toBe(1073741816);
    expect(config.expect.db!.outcome).toBe('oom-killed-at-startup');
  });

  it('every configuration runs one 4g instance named db with the nofile of its axis', () => {
    for (const config of configs) {
      expect(config.instances).toHaveLength(1);
      expect(config.instances[0]).toMatchObject({ name: 'db', image: config.axes.image, memory: 4 * 1024 ** 3, nofile: config.axes.nofile });
    }
  });
});

describe('oom_score_adj the host cannot give', () => {
  const scenario = defineScenario({
    name: 'oom-adj',
    incident: 'Incident 1: the pod ran mysqld with oom_score_adj -998',
    matrix: { oomScoreAdj: [-998, 0, 500] },
    instances: (c) => ({ db: { image: 'oomlab/mariadb:10.11', oomScoreAdj: c.oomScoreAdj } }),
    expect: () => ({ db: { outcome: 'survived' } }),
  });

  it('skips only the configurations that lower it, naming the instance and the value', () => {
    const configs = planRun(scenario, {}, undefined, { numaNodes: 1, canLowerOomScoreAdj: false });
    expect(configs.map((c) => c.skip)).toEqual(['a negative oom_score_adj needs CAP_SYS_RESOURCE, which this host does not give (db: oomScoreAdj -998)', undefined, undefined]);
  });

  it('runs them all where the host can lower it', () => {
    expect(planRun(scenario, {}, undefined, { numaNodes: 1, canLowerOomScoreAdj: true }).map((c) => c.skip)).toEqual([undefined, undefined, undefined]);
  });
});
