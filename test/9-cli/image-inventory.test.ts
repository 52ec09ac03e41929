import { describe, expect, it } from 'vitest';
import { formatInventory, howToGet, type Inventory } from '../../src/9-cli/image-inventory.ts';

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
