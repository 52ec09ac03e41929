// `oomlab images`: what is usable and what each scenario lacks; `oomlab images load FILE`: bring an image.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../../0-model/errors.ts';
import { formatBytes } from '../../0-model/units.ts';
import { loadScenario } from '../../1-scenario/index.ts';
import { imagesNamed } from '../../2-plan/index.ts';
import { dockerRuntime, type Runtime } from '../../3-runtime/index.ts';
import { formatInventory, scenarioFiles, takeInventory } from '../image-inventory.ts';

export const IMAGES_OPTIONS = { json: { type: 'boolean' } } satisfies ParseArgsOptionsConfig;
export const IMAGES_LOAD_OPTIONS = {} satisfies ParseArgsOptionsConfig;

export async function commandImages(args: string[], runtime: Runtime = dockerRuntime): Promise<number> {
  if (args[0] === 'load') return commandImagesLoad(args.slice(1), runtime);
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: IMAGES_OPTIONS });
  const files = positionals.length > 0 ? positionals : await scenarioFiles();
  // An installed dockerd that is stopped is started, as `oomlab clean` does; none is installed for a listing.
  const connection = await runtime.connect({ install: false, onProgress: (text) => process.stderr.write(`· ${text}\n`) });
  const inventory = await takeInventory(connection.images, files);
  process.stdout.write(values.json ? `${JSON.stringify(inventory, null, 2)}\n` : `${formatInventory(inventory)}\n`);
  return 0;
}

/** The scenario files whose configurations name an image, with how many. */
async function usersOf(image: string): Promise<string[]> {
  const users: string[] = [];
  for (const file of await scenarioFiles().catch(() => [])) {
    const count = await loadScenario(file).then(
      (s) => imagesNamed(s).byImage.get(image) ?? 0,
      () => 0,
    );
    if (count > 0) users.push(`${file} (${count} configuration${count === 1 ? '' : 's'})`);
  }
  return users;
}

async function commandImagesLoad(args: string[], runtime: Runtime): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: IMAGES_LOAD_OPTIONS });
  if (positionals.length === 0) throw new UsageError('oomlab images load needs an archive, e.g. `oomlab images load mysql-5.7.tar` (made by `docker save -o mysql-5.7.tar mysql:5.7`)');
  // Every file is checked before the engine is asked: a typo in the second must not leave the first half-done.
  for (const file of positionals) await runtime.checkArchive(file);
  const connection = await runtime.connect({ install: false, onProgress: (text) => process.stderr.write(`· ${text}\n`) });
  for (const file of positionals) {
    const loaded = await connection.images.load(file);
    process.stderr.write(`· ${file}: ${formatBytes(loaded.bytes)} loaded in ${(loaded.durationMs / 1000).toFixed(1)}s\n`);
    for (const tag of loaded.tags) {
      const users = await usersOf(tag);
      process.stdout.write(`loaded ${tag} — ${users.length > 0 ? `used by ${users.join(', ')}` : `no scenario names it: oomlab run SCENARIO --set image=${tag}`}\n`);
    }
    for (const id of loaded.untagged) process.stdout.write(`loaded ${id} without a name — \`docker tag ${id.replace(/^sha256:/, '').slice(0, 12)} NAME\`, then oomlab run SCENARIO --set image=NAME\n`);
  }
  return 0;
}
