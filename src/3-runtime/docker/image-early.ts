// A first run on a fresh machine starts the engine and builds its image: the build's longest part
// (build.sh: debootstrap, seeding) needs no engine, so it starts beside the engine's start and the
// run takes it up when it resolves the image. Only images the stopped engine's store does not list.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onPath } from '../../0-model/host.ts';
import { dataRootOf } from './engine-leftovers.ts';
import { OFFLINE_RECIPES } from './image-recipes.ts';
import { startRootfsBuild, type BuildOptions, type RootfsBuild } from './images.ts';

/** Builds started before the engine answered, by image name; `take` hands one to the run once. */
export interface EarlyBuilds {
  take(name: string): RootfsBuild | undefined;
  /** Stops and removes what was never taken (the run ended before it asked for the image). */
  dispose(): Promise<void>;
}

export const NO_EARLY_BUILDS: EarlyBuilds = { take: () => undefined, dispose: async () => {} };

/** The `repo:tag` names a stopped engine's store lists (every storage driver's repositories.json under the data root). */
export async function storedImageNames(dataRoot: string): Promise<Set<string>> {
  const names = new Set<string>();
  const drivers = await readdir(join(dataRoot, 'image')).catch(() => [] as string[]);
  for (const driver of drivers) {
    const text = await readFile(join(dataRoot, 'image', driver, 'repositories.json'), 'utf8').catch(() => '');
    try {
      const repositories = (JSON.parse(text) as { Repositories?: Record<string, Record<string, string>> }).Repositories ?? {};
      for (const tags of Object.values(repositories)) for (const name of Object.keys(tags)) names.add(name);
    } catch {
      // Unreadable: the image is looked for once the engine answers.
    }
  }
  return names;
}

/** Starts build.sh for each offline image of `images` that the stopped engine does not hold; needs debootstrap already installed. */
export async function startEarlyBuilds(images: readonly string[], options: BuildOptions = {}): Promise<EarlyBuilds> {
  const offline = images.filter((name) => OFFLINE_RECIPES[name]);
  if (offline.length === 0 || !(await onPath('debootstrap'))) return NO_EARLY_BUILDS;
  const stored = await storedImageNames(await dataRootOf());
  const builds = new Map<string, RootfsBuild>();
  for (const name of offline) {
    if (stored.has(name)) continue;
    options.onProgress?.(`image ${name} is not in the engine's store — building its root filesystem while the engine starts`);
    builds.set(name, await startRootfsBuild(name, OFFLINE_RECIPES[name]!, options));
  }
  if (builds.size === 0) return NO_EARLY_BUILDS;
  // build.sh runs in its own process group: a run that ends before taking a build must not leave it running.
  const stopUntaken = () => {
    for (const build of builds.values()) build.stop();
  };
  process.once('exit', stopUntaken);
  return {
    take(name) {
      const build = builds.get(name);
      builds.delete(name);
      if (builds.size === 0) process.off('exit', stopUntaken);
      return build;
    },
    async dispose() {
      for (const build of builds.values()) {
        build.stop();
        await build.ended;
        await build.dispose();
      }
      builds.clear();
      process.off('exit', stopUntaken);
    },
  };
}
