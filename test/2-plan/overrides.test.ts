import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { UnknownAxisError, UsageError } from '../../src/0-model/errors.ts';
import { axisKind, parseOverrides, planRun } from '../../src/2-plan/index.ts';
import { loadScenario, type Scenario } from '../../src/1-scenario/index.ts';

const scenarioFile = (name: string) => fileURLToPath(new URL(`../../scenarios/${name}.ts`, import.meta.url));

let nofile: Scenario;
let burst: Scenario;

beforeAll(async () => {
  nofile = await loadScenario(scenarioFile('nofile-oom'));
  burst = await loadScenario(scenarioFile('burst-oom'));
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'no error';
}

describe('what an axis accepts from --set', () => {
  it('is read from what the scenario does with it', () => {
    expect(Object.fromEntries(Object.keys(nofile.matrix).map((axis) => [axis, axisKind(nofile, axis)]))).toEqual({
      image: 'image',
      nofile: 'number',
      fix: 'listed',
      open_files_limit: 'listed',
      memory: 'size',
    });
    expect(Object.fromEntries(Object.keys(burst.matrix).map((axis) => [axis, axisKind(burst, axis)]))).toEqual({
      image: 'image',
      allocator: 'listed',
      innodb_thread_concurrency: 'number',
      buffers: 'listed',
      max_connections: 'number',
      memory: 'size',
    });
  });

  it('an axis named image whose values the scenario does not pass on as an image takes only its listed values', () => {
    const mapped: Scenario = { ...burst, matrix: { ...burst.matrix, image: ['mariadb'] }, instances: (c) => burst.instances({ ...c, image: 'oomlab/mariadb:10.11' }) };
    expect(axisKind(mapped, 'image')).toBe('listed');
  });
});

describe('--set', () => {
  it('image=oomlab/mysql:9.7 reruns the scenario on an image its file does not list, with ids in the same axis order', () => {
    const configs = planRun(nofile, { set: ['image=oomlab/mysql:9.7'] });
    // The scenario's exclude keeps explicit open_files_limit for MariaDB only: 3 nofile × 3 fixes.
    expect(configs).toHaveLength(9);
    expect(configs.every((c) => c.axes.image === 'oomlab/mysql:9.7' && c.instances[0]!.image === 'oomlab/mysql:9.7')).toBe(true);
    expect(configs[0]!.id).toBe('image=oomlab/mysql:9.7,nofile=default,fix=none,open_files_limit=auto,memory=4g');
  });

  it('takes several values and several axes, and numbers and sizes the file does not list', () => {
    const set = ['image=oomlab/mariadb:10.5,oomlab/mariadb:11.8', 'nofile=20000,default', 'memory=1.5g'];
    const configs = planRun(nofile, { set });
    expect(configs.map((c) => c.id).slice(0, 2)).toEqual([
      'image=oomlab/mariadb:10.5,nofile=20000,fix=none,open_files_limit=auto,memory=1.5g',
      'image=oomlab/mariadb:10.5,nofile=20000,fix=tuned-my.cnf,open_files_limit=auto,memory=1.5g',
    ]);
    expect(configs).toHaveLength(2 * 2 * 3);
    expect(configs[0]!.axes.nofile).toBe(20000);
    expect(parseOverrides(nofile, set)).toEqual([
      { axis: 'image', values: ['oomlab/mariadb:10.5', 'oomlab/mariadb:11.8'], scenarioValues: ['mysql:5.7', 'mysql:5.5', 'oomlab/mariadb:10.11'] },
      { axis: 'nofile', values: [20000, 'default'], scenarioValues: ['default', 1048576, 1073741816] },
      { axis: 'memory', values: ['1.5g'], scenarioValues: ['4g'] },
    ]);
  });

  it('a value given twice in one --set is one configuration', () => {
    expect(planRun(burst, { set: ['max_connections=300,300'] }).map((c) => c.axes.max_connections)).not.toContain(2000);
    expect(parseOverrides(burst, ['max_connections=300,300'])[0]!.values).toEqual([300]);
  });

  it('takes registry, digest and user image names', () => {
    const images = ['mysql:5.7', 'percona:5.7', 'registry.example:5000/team/mysql:5.7.44', `mysql@sha256:${'a'.repeat(64)}`, 'mysql-test/loaded:1'];
    expect(parseOverrides(nofile, [`image=${images.join(',')}`])[0]!.values).toEqual(images);
  });

  it('refuses in one line an unknown axis, a bad value, an axis set twice, an empty value', () => {
    const set = (...assignments: string[]) => messageOf(() => planRun(nofile, { set: assignments }));
    expect(set('images=oomlab/mysql:9.7')).toBe("UnknownAxisError: unknown axis `images`; this scenario's axes are: image, nofile, fix, open_files_limit, memory");
    expect(set('image=MySQL 9.7')).toBe('UsageError: --set image=MySQL 9.7: `image` takes an image name such as oomlab/mysql:9.7 or mysql:5.7, got `MySQL 9.7`');
    expect(set('nofile=lots')).toBe('UsageError: --set nofile=lots: `nofile` takes numbers or default, got `lots`');
    expect(set('memory=huge')).toBe('UsageError: --set memory=huge: `memory` takes a size such as 4g, 512m or a number of bytes, got `huge`');
    expect(set('fix=magic')).toBe(`UsageError: --set fix=magic: \`fix\` takes none, tuned-my.cnf, ulimit-4096 (the values ${nofile.file} handles), got \`magic\``);
    expect(set('image=mysql:5.7', 'image=oomlab/mysql:9.7')).toBe('UsageError: --set image is given twice; give all its values in one: --set image=VALUE,VALUE');
    expect(set('image=')).toBe('UsageError: --set image= has an empty value; write --set image=VALUE or image=VALUE,VALUE');
    expect(set('nofile=4096,')).toBe('UsageError: --set nofile=4096, has an empty value; write --set nofile=VALUE or nofile=VALUE,VALUE');
    expect(messageOf(() => planRun(burst, { set: ['innodb_thread_concurrency=-1'] }))).toBe('UsageError: --set innodb_thread_concurrency=-1: `innodb_thread_concurrency` takes numbers, got `-1`');
  });

  it('is checked before any image: an image that is not here skips its configurations with the way to get it', () => {
    const configs = planRun(nofile, { set: ['image=oomlab/mysql:9.7'] }, (image) => (image === 'oomlab/mysql:9.7' ? 'not here' : undefined));
    expect(configs.every((c) => c.skip === 'not here')).toBe(true);
  });

  it('errors are the plan errors oomlab run exits 2 on', () => {
    expect(() => parseOverrides(nofile, ['bogus=1'])).toThrow(UnknownAxisError);
    expect(() => parseOverrides(nofile, ['fix=magic'])).toThrow(UsageError);
  });
});
