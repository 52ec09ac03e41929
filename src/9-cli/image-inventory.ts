// `oomlab images`: every image a scenario names or a recipe offers, whether it is usable here, and
// per scenario what it still lacks and how to get it. Asks the local engine only; never a registry.
import { readdir } from 'node:fs/promises';
import { describeError } from '../0-model/errors.ts';
import { loadScenario } from '../1-scenario/index.ts';
import { imagesNamed } from '../2-plan/index.ts';
import type { ImageStore } from '../3-runtime/index.ts';

/** `good`/`present` can run; `stale`/`broken`/`missing` recipe images are built on first run; a `missing` other image skips. */
export type ImageState = 'good' | 'present' | 'stale' | 'broken' | 'missing';

export interface ImageRow {
  name: string;
  state: ImageState;
  /** Whether a run can use it now, or will build it itself. */
  usable: 'yes' | 'built on first run' | 'no';
  detail: string;
  /** Scenario files whose configurations name it. */
  usedBy: string[];
}

export interface ScenarioNeeds {
  file: string;
  configs: number;
  /** Images not usable now, with the configurations that need each. */
  lacking: { image: string; configs: number; how: string }[];
  /** Set when the scenario could not be planned: `oomlab run` says why. */
  error?: string;
}

export interface Inventory {
  images: ImageRow[];
  scenarios: ScenarioNeeds[];
}

/** How to get an image that no recipe builds, said the same way here, in `oomlab run` and in doctor. */
export function howToGet(name: string): string {
  return `\`oomlab images load FILE\` a \`docker save\` of it, or \`docker pull ${name}\` (or \`oomlab run --pull\`) where a registry is reachable`;
}

async function rowOf(images: ImageStore, name: string): Promise<Omit<ImageRow, 'usedBy'>> {
  const found = await images.state(name);
  if (found.state === 'present') return { name, state: 'present', usable: 'yes', detail: 'here' };
  if (!found.recipe) return { name, state: 'missing', usable: 'no', detail: `not here — ${howToGet(name)}` };
  const built = `built offline from docker/${found.recipe}/ on first run (1 to 3 minutes)`;
  switch (found.state) {
    case 'good':
      return { name, state: 'good', usable: 'yes', detail: `offline recipe docker/${found.recipe}/, hash ${found.recipeHash}, checks pass` };
    case 'missing':
      return { name, state: 'missing', usable: 'built on first run', detail: `not built yet — ${built}` };
    case 'stale':
      return { name, state: 'stale', usable: 'built on first run', detail: `${found.why} — rebuilt on first run` };
    case 'broken':
      return { name, state: 'broken', usable: 'built on first run', detail: `lacks ${found.missing.join(', ')} — rebuilt on first run` };
    case 'unchecked':
      return { name, state: 'broken', usable: 'built on first run', detail: `could not be checked (${found.why}) — rebuilt on first run` };
  }
}

export async function scenarioFiles(dir = 'scenarios'): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

export async function takeInventory(images: ImageStore, files: string[]): Promise<Inventory> {
  // Per scenario: how many configurations name each image (a configuration may name several).
  const planned: { file: string; configs: number; byImage: Map<string, number>; error?: string }[] = [];
  for (const file of files) {
    try {
      const { configs, byImage } = imagesNamed(await loadScenario(file));
      planned.push({ file, configs, byImage });
    } catch (error) {
      planned.push({ file, configs: 0, byImage: new Map(), error: describeError(error).split('\n')[0]! });
    }
  }
  const named = new Set([...planned.flatMap((p) => [...p.byImage.keys()]), ...images.recipeImages(), ...(await images.serverImages())]);
  const rows: ImageRow[] = [];
  for (const name of [...named].sort()) {
    rows.push({ ...(await rowOf(images, name)), usedBy: planned.filter((p) => p.byImage.has(name)).map((p) => p.file) });
  }
  const scenarios = planned.map(
    (p): ScenarioNeeds => ({
      file: p.file,
      configs: p.configs,
      lacking: [...p.byImage]
        .map(([image, configs]) => ({ row: rows.find((r) => r.name === image)!, configs }))
        .filter(({ row }) => row.usable !== 'yes')
        .map(({ row, configs }) => ({ image: row.name, configs, how: row.usable === 'no' ? howToGet(row.name) : row.detail })),
      ...(p.error ? { error: p.error } : {}),
    }),
  );
  return { images: rows, scenarios };
}

export function formatInventory(inventory: Inventory): string {
  const lines: string[] = [];
  const width = Math.max(...inventory.images.map((r) => r.name.length));
  lines.push('images (good/present: usable now; missing/stale/broken recipe images are built on first run; other missing images are skipped):');
  for (const row of inventory.images) {
    const used = row.usedBy.length > 0 ? `; used by ${row.usedBy.join(', ')}` : `; no scenario names it: oomlab run SCENARIO --set image=${row.name}`;
    lines.push(`  ${row.state.padEnd(7)}  ${row.name.padEnd(width)}  ${row.detail}${used}`);
  }
  lines.push('', 'scenarios:');
  for (const s of inventory.scenarios) {
    if (s.error) {
      lines.push(`  ${s.file}: cannot be planned — ${s.error}`);
      continue;
    }
    if (s.lacking.length === 0) {
      lines.push(`  ${s.file}: every image of its ${s.configs} configuration${s.configs === 1 ? '' : 's'} is usable`);
      continue;
    }
    lines.push(`  ${s.file}: ${s.configs} configuration${s.configs === 1 ? '' : 's'}; lacks:`);
    for (const l of s.lacking) lines.push(`    ${l.image} (${l.configs} configuration${l.configs === 1 ? '' : 's'}): ${l.how}`);
  }
  return lines.join('\n');
}
