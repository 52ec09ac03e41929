import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { OomlabError } from '../errors/index.ts';
import type { Engine } from './engine.ts';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Images oomlab can build here without a registry, from `docker/<recipe>/build.sh`. */
export const OFFLINE_RECIPES: Record<string, { recipe: string; description: string }> = {
  'oomlab/mariadb:10.11': {
    recipe: 'mariadb-10.11',
    description: 'MariaDB 10.11 from Debian bookworm packages, with the official images\' entrypoint contract',
  },
};

export const OFFLINE_MARIADB_IMAGE = 'oomlab/mariadb:10.11';

export async function imageExists(engine: Engine, name: string): Promise<boolean> {
  try {
    await engine.api.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

export interface ImageResolution {
  name: string;
  available: boolean;
  source?: 'local' | 'built' | 'pulled';
  /** Why it is not available and how to get it. */
  reason?: string;
}

export interface ResolveOptions {
  /** Pull from a registry when missing. Off by default: a pull sends traffic off this host. @default false */
  pull?: boolean;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

/** local → pull (when allowed) → offline recipe from docker/ → unavailable with the way to get it. */
export async function resolveImage(engine: Engine, name: string, options: ResolveOptions = {}): Promise<ImageResolution> {
  if (await imageExists(engine, name)) return { name, available: true, source: 'local' };
  const recipe = OFFLINE_RECIPES[name];
  if (recipe) {
    await buildOfflineImage(engine, name, options);
    return { name, available: true, source: 'built' };
  }
  if (options.pull) {
    try {
      options.onProgress?.(`pulling ${name}`);
      await pullImage(engine, name);
      return { name, available: true, source: 'pulled' };
    } catch (error) {
      return { name, available: false, reason: `image ${name} is not here and the pull failed (${String(error).split('\n')[0]}) — \`docker pull ${name}\` on a host with registry access, then \`docker save\`/\`docker load\` it here` };
    }
  }
  return { name, available: false, reason: imageMissingReason(name) };
}

/** The one wording of a missing image, shared by run reports and `oomlab doctor`. */
export function imageMissingReason(name: string): string {
  return `image ${name} is not here and no registry is used — run \`docker pull ${name}\` where a registry is reachable (or \`docker load\` a saved copy), or rerun with --pull`;
}

async function pullImage(engine: Engine, name: string): Promise<void> {
  const stream = await engine.streams.pull(name);
  await new Promise<void>((resolvePull, reject) =>
    engine.streams.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolvePull())),
  );
}

/**
 * Builds an offline image: the recipe's build.sh fills a root filesystem from Debian packages,
 * which is imported with the official images' entrypoint. Cached: only runs when the tag is missing.
 */
export async function buildOfflineImage(engine: Engine, name: string, options: ResolveOptions = {}): Promise<void> {
  const recipe = OFFLINE_RECIPES[name];
  if (!recipe) throw new OomlabError('IMAGE_BUILD_FAILED', `no offline recipe for ${name}; recipes: ${Object.keys(OFFLINE_RECIPES).join(', ')}`);
  const script = join(PROJECT_ROOT, 'docker', recipe.recipe, 'build.sh');
  const rootfs = await mkdtemp(join(tmpdir(), 'oomlab-rootfs-'));
  const started = Date.now();
  options.onProgress?.(`building ${name} offline from Debian packages (about a minute, once): ${recipe.description}`);
  try {
    const build = await execa('bash', [script, rootfs], {
      all: true,
      reject: false,
      timeout: 900_000,
      ...(options.signal ? { cancelSignal: options.signal } : {}),
    });
    if (build.failed) {
      const logFile = join(tmpdir(), `oomlab-build-${recipe.recipe}.log`);
      await writeFile(logFile, build.all ?? '');
      const tail = (build.all ?? '').split('\n').filter(Boolean).slice(-2).join(' | ');
      throw new OomlabError('IMAGE_BUILD_FAILED', `building ${name} with docker/${recipe.recipe}/build.sh failed (exit ${build.exitCode}): ${tail} — full log in ${logFile}; it needs root, debootstrap and Debian's package mirror`);
    }
    const tar = execa('tar', ['-C', rootfs, '-c', '.'], { buffer: false, timeout: 600_000 });
    const [repo, tag] = name.split(':') as [string, string];
    const changes = ['ENTRYPOINT ["docker-entrypoint.sh"]', 'CMD ["mysqld"]', 'EXPOSE 3306', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
    const response = await engine.streams.importImage(tar.stdout as never, { repo, tag, changes } as never);
    await new Promise<void>((done, reject) =>
      engine.streams.modem.followProgress(response as unknown as NodeJS.ReadableStream, (error: Error | null) => (error ? reject(error) : done())),
    );
    await tar;
    options.onProgress?.(`built ${name} in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

export function recipeExists(name: string): boolean {
  const recipe = OFFLINE_RECIPES[name];
  return recipe !== undefined && existsSync(join(PROJECT_ROOT, 'docker', recipe.recipe, 'build.sh'));
}
