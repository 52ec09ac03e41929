import { describe, expect, it } from 'vitest';
import type { ImageState, ImageStore } from '../../src/3-runtime/index.ts';
import { formatInventory, howToGet, takeInventory, type Inventory } from '../../src/9-cli/image-inventory.ts';

describe('oomlab images, as printed', () => {
  it('says per image whether it is usable and per scenario what it lacks and how to get it', () => {
    const inventory: Inventory = {
      images: [
        { name: 'mysql:5.7', state: 'missing', usable: 'no', detail: `not here — ${howToGet('mysql:5.7')}`, usedBy: ['scenarios/nofile-oom.ts'] },
        {
          name: 'oomlab/mariadb:10.11',
          state: 'good',
          usable: 'yes',
          detail: 'offline recipe docker/mariadb-10.11/, hash 23575d0752cd0232, checks pass',
          usedBy: ['scenarios/burst-oom.ts', 'scenarios/nofile-oom.ts'],
        },
        { name: 'oomlab/mysql:9.7', state: 'missing', usable: 'built on first run', detail: 'not built yet — built offline from docker/mysql-9.7/ on first run (1 to 3 minutes)', usedBy: [] },
      ],
      scenarios: [
        { file: 'scenarios/burst-oom.ts', configs: 16, lacking: [] },
        { file: 'scenarios/nofile-oom.ts', configs: 33, lacking: [{ image: 'mysql:5.7', configs: 9, how: howToGet('mysql:5.7') }] },
        { file: 'scenarios/typo.ts', configs: 0, lacking: [], error: 'scenarios/typo.ts: unknown field `instance`' },
      ],
    };
    expect(formatInventory(inventory).split('\n')).toEqual([
      'images (good/present: usable now; missing/stale/broken recipe images are built on first run; other missing images are skipped):',
      '  missing  mysql:5.7             not here — `oomlab images load FILE` a `docker save` of it, or `docker pull mysql:5.7` (or `oomlab run --pull`) where a registry is reachable; used by scenarios/nofile-oom.ts',
      '  good     oomlab/mariadb:10.11  offline recipe docker/mariadb-10.11/, hash 23575d0752cd0232, checks pass; used by scenarios/burst-oom.ts, scenarios/nofile-oom.ts',
      '  missing  oomlab/mysql:9.7      not built yet — built offline from docker/mysql-9.7/ on first run (1 to 3 minutes); no scenario names it: oomlab run SCENARIO --set image=oomlab/mysql:9.7',
      '',
      'scenarios:',
      '  scenarios/burst-oom.ts: every image of its 16 configurations is usable',
      '  scenarios/nofile-oom.ts: 33 configurations; lacks:',
      '    mysql:5.7 (9 configurations): `oomlab images load FILE` a `docker save` of it, or `docker pull mysql:5.7` (or `oomlab run --pull`) where a registry is reachable',
      '  scenarios/typo.ts: cannot be planned — scenarios/typo.ts: unknown field `instance`',
    ]);
  });
});

describe('oomlab images, through the seam', () => {
  it("takes every image's state from the runtime's image store, never from an engine of its own", async () => {
    // A stand-in for an engine's image store: a good recipe image, a stale one, one brought image, nothing else.
    const states: Record<string, ImageState> = {
      'oomlab/mariadb:10.11': { state: 'good', recipe: 'mariadb-10.11', recipeHash: '23575d0752cd0232' },
      'oomlab/mysql:9.7': { state: 'stale', recipe: 'mysql-9.7', why: 'built from docker/mysql-9.7/ at 1, which is now 2' },
      'mysql:8.0': { state: 'present' },
    };
    const asked: string[] = [];
    const images: ImageStore = {
      recipeOf: (name) => (states[name] && 'recipe' in states[name]! ? (states[name] as { recipe: string }).recipe : undefined),
      recipeImages: () => ['oomlab/mariadb:10.11', 'oomlab/mysql:9.7'],
      state: async (name) => (asked.push(name), states[name] ?? { state: 'missing' }),
      serverImages: async () => ['mysql:8.0'],
      load: async () => ({ tags: [], untagged: [], bytes: 0, durationMs: 0 }),
      missingReason: (name) => `image ${name} is not here`,
    };
    const inventory = await takeInventory(images, ['scenarios/nofile-oom.ts']);
    expect(asked).toEqual(['mysql:5.5', 'mysql:5.7', 'mysql:8.0', 'oomlab/mariadb:10.11', 'oomlab/mysql:9.7']);
    expect(inventory.images.map((r) => [r.name, r.state, r.usable])).toEqual([
      ['mysql:5.5', 'missing', 'no'],
      ['mysql:5.7', 'missing', 'no'],
      ['mysql:8.0', 'present', 'yes'],
      ['oomlab/mariadb:10.11', 'good', 'yes'],
      ['oomlab/mysql:9.7', 'stale', 'built on first run'],
    ]);
    expect(inventory.scenarios[0]!.lacking.map((l) => l.image)).toEqual(['mysql:5.7', 'mysql:5.5']);
  });
});
