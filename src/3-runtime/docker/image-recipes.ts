import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DOCKER_DIR = join(PROJECT_ROOT, 'docker');

/** What an image must show before it is tagged and used: each a shell test run inside it. */
export interface ImageCheck {
  /** Names what is missing when the test fails, e.g. `the mysql user in /etc/passwd`. */
  what: string;
  sh: string;
}

/** Which server an offline image holds: its binary, client, seeding and root authentication differ. */
export type ServerFlavor = 'mariadb' | 'mysql';

export interface OfflineRecipe {
  /** The folder under docker/ holding build.sh and the files it installs. */
  recipe: string;
  description: string;
  /** mariadb: /usr/sbin/mariadbd, root by mysql_native_password. mysql: /usr/sbin/mysqld, root by caching_sha2_password. */
  flavor: ServerFlavor;
  /**
   * The allocator the server binary links itself, when it is not glibc's malloc: with no preload
   * (`allocator: 'glibc'`) this is what the server really uses. Debian's mysqld links libtcmalloc.
   */
  builtInAllocator?: 'tcmalloc';
  /** `docker import` changes: the official images' entrypoint contract. */
  changes: string[];
  checks: ImageCheck[];
}

const OFFICIAL_CONTRACT = ['ENTRYPOINT ["docker-entrypoint.sh"]', 'CMD ["mysqld"]', 'EXPOSE 3306', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** The binary the entrypoint execs, so the kernel names the server as it names the incident's (comm). */
export const SERVER_BINARIES: Record<ServerFlavor, string> = {
  mariadb: '/usr/sbin/mariadbd',
  mysql: '/usr/sbin/mysqld',
};

/** What every offline image must show, and what its flavour adds. */
export function serverChecks(flavor: ServerFlavor): ImageCheck[] {
  const serverBinary = SERVER_BINARIES[flavor];
  const checks: ImageCheck[] = [
    { what: 'the mysql user in /etc/passwd', sh: "grep -q '^mysql:' /etc/passwd" },
    { what: `the server binary ${serverBinary} answering --version`, sh: `${serverBinary} --version` },
    { what: 'the seeded data directory /var/lib/mysql/mysql', sh: 'test -d /var/lib/mysql/mysql' },
    { what: 'an executable entrypoint /usr/local/bin/docker-entrypoint.sh', sh: 'test -x /usr/local/bin/docker-entrypoint.sh' },
    { what: `the entrypoint's flavour ${flavor} in /etc/oomlab/flavor`, sh: `grep -qx ${flavor} /etc/oomlab/flavor` },
    { what: 'the allocator preloads /usr/lib/libjemalloc.so and /usr/lib/libtcmalloc_minimal.so', sh: 'test -r /usr/lib/libjemalloc.so && test -r /usr/lib/libtcmalloc_minimal.so' },
  ];
  if (flavor === 'mysql') {
    // caching_sha2_password over plain TCP: mysql2 asks the server for this key (docker/lib/entrypoint.sh).
    checks.push({
      what: 'the RSA key pair caching_sha2_password hands to clients, /var/lib/mysql/public_key.pem',
      sh: 'test -s /var/lib/mysql/public_key.pem && test -s /var/lib/mysql/private_key.pem',
    });
  }
  return checks;
}

function offlineRecipe(recipe: string, flavor: ServerFlavor, description: string, extra: Pick<OfflineRecipe, 'builtInAllocator'> = {}): OfflineRecipe {
  return { recipe, description, flavor, ...extra, changes: OFFICIAL_CONTRACT, checks: serverChecks(flavor) };
}

/** Images oomlab can build here without a registry, from `docker/<recipe>/build.sh` (shared steps in docker/lib/). */
export const OFFLINE_RECIPES: Record<string, OfflineRecipe> = {
  'oomlab/mariadb:10.5': offlineRecipe('mariadb-10.5', 'mariadb', "MariaDB 10.5 from Debian bullseye packages, with the official images' entrypoint contract"),
  'oomlab/mariadb:10.11': offlineRecipe('mariadb-10.11', 'mariadb', "MariaDB 10.11 from Debian bookworm packages, with the official images' entrypoint contract"),
  'oomlab/mariadb:11.8': offlineRecipe('mariadb-11.8', 'mariadb', "MariaDB 11.8 from Debian trixie packages, with the official images' entrypoint contract"),
  'oomlab/mysql:9.7': offlineRecipe('mysql-9.7', 'mysql', "Oracle MySQL 9.7 from Debian sid's mysql-server (about 680 MB), with the official images' entrypoint contract", {
    builtInAllocator: 'tcmalloc',
  }),
};

export const OFFLINE_MARIADB_IMAGE = 'oomlab/mariadb:10.11';

/** Image labels that tie a built image to the recipe it came from. */
export const LABEL_RECIPE = 'oomlab.recipe';
export const LABEL_RECIPE_HASH = 'oomlab.recipe-hash';

/** Shared shell the recipes source (docker/lib/) is part of every recipe's hash. */
const SHARED_RECIPE_DIR = 'lib';

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** sha256 over the recipe folder and docker/lib: paths and contents, in a stable order. */
export async function recipeHash(recipe: string, dockerDir = DOCKER_DIR): Promise<string> {
  const files = [...(await filesUnder(join(dockerDir, recipe))), ...(await filesUnder(join(dockerDir, SHARED_RECIPE_DIR)))]
    .map((file) => ({ file, name: relative(dockerDir, file) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const { file, name } of files)
    hash
      .update(name)
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

export function recipeExists(name: string): boolean {
  const recipe = OFFLINE_RECIPES[name];
  return recipe !== undefined && existsSync(join(DOCKER_DIR, recipe.recipe, 'build.sh'));
}
