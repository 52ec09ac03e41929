import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fnv1a, inShard, parseShard, planRun, shardOf } from '../../src/2-plan/index.ts';
import { loadScenario, type Scenario } from '../../src/1-scenario/index.ts';

const NOFILE_OOM = fileURLToPath(new URL('../../scenarios/nofile-oom.ts', import.meta.url));
let scenario: Scenario;

beforeAll(async () => {
  scenario = await loadScenario(NOFILE_OOM);
});

describe('--shard I/N', () => {
  it('parses I/N', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
  });

  it.each(['4/3', 'x', '0/3', '1/0', '2', '-1/3', '1.5/3', ''])('refuses `%s` in one line', (text) => {
    expect(() => parseShard(text)).toThrow(`--shard takes I/N with 1 ≤ I ≤ N (this run's part and the number of parts), e.g. --shard 2/3; got \`${text}\``);
  });

  it('hashes with 32-bit FNV-1a (the published test vectors)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it.each([1, 2, 3, 4, 7])('puts every configuration of the matrix in exactly one of %i shards', (count) => {
    const configs = planRun(scenario);
    const shards = Array.from({ length: count }, (_, i) => inShard(configs, { index: i + 1, count }));
    const ids = shards.flatMap((s) => s.map((c) => c.id));
    expect(ids.toSorted()).toEqual(configs.map((c) => c.id).toSorted());
    expect(new Set(ids).size).toBe(configs.length);
    // Renumbered from 0 in each shard, in matrix order.
    for (const shard of shards) expect(shard.map((c) => c.index)).toEqual(shard.map((_, i) => i));
  });

  it('keeps a configuration in its shard when the matrix gains axis values, though its position moves', () => {
    const before = planRun(scenario, { set: ['nofile=default,1073741816', 'memory=1g'] });
    const after = planRun(scenario, { set: ['nofile=default,65536,1048576,1073741816', 'memory=1g,2g'] });
    const positionAfter = new Map(after.map((c) => [c.id, c.index]));
    const common = before.filter((c) => positionAfter.has(c.id));
    expect(common.length).toBe(before.length);
    // A split by position would have moved them: the test would catch one.
    expect(common.filter((c) => positionAfter.get(c.id) !== c.index).length).toBeGreaterThan(0);
    for (const count of [2, 3, 5]) {
      for (let index = 1; index <= count; index++) {
        const idsBefore = inShard(before, { index, count }).map((c) => c.id);
        const idsAfter = new Set(inShard(after, { index, count }).map((c) => c.id));
        for (const id of idsBefore) expect(idsAfter.has(id), `${id} left shard ${index}/${count}`).toBe(true);
      }
    }
  });

  it('places an id by its hash alone', () => {
    const id = 'image=oomlab/mariadb:10.11,nofile=1073741816,fix=none,open_files_limit=explicit,memory=1g';
    expect(shardOf(id, 3)).toBe((fnv1a(id) % 3) + 1);
    expect(inShard([{ id, index: 9 }], { index: shardOf(id, 3), count: 3 })).toEqual([{ id, index: 0 }]);
  });
});
