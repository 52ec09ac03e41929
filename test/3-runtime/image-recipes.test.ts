import { access, constants, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { debianMirrorOf, hostDebianMirror } from '../../src/3-runtime/docker/apt-mirror.ts';
import { checkScript, missingFromOutput } from '../../src/3-runtime/docker/image-check.ts';
import { DOCKER_DIR, OFFLINE_RECIPES, recipeHash, SERVER_BINARIES, serverChecks } from '../../src/3-runtime/docker/image-recipes.ts';
import { splitName } from '../../src/3-runtime/docker/image-import.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/apt');

describe('the Debian mirror debootstrap takes: the one the host apt sources name', () => {
  it('reads a deb822 .sources file as captured on this machine, skipping the security archive', async () => {
    const text = await readFile(join(FIXTURES, 'debian.sources'), 'utf8');
    const security = /^URIs: (\S+)$/m.exec(text.split(/\n\s*\n/)[1]!)![1]!;
    const mirror = debianMirrorOf([{ path: '/etc/apt/sources.list.d/debian.sources', text }]);
    expect(mirror).toBe(/^URIs: (\S+)$/m.exec(text)![1]);
    expect(mirror).not.toBe(security);
  });

  it('reads one-line sources.list entries with options and comments, and skips -updates, -security and disabled stanzas', () => {
    const list = [
      '# deb http://old.example/debian bookworm main',
      'deb http://mirror.example/debian-security bookworm-security main',
      'deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib',
    ].join('\n');
    expect(debianMirrorOf([{ path: '/etc/apt/sources.list', text: list }])).toBe('http://mirror.example/debian');
    const disabled =
      'Types: deb\nURIs: http://a.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\nTypes: deb-src\nURIs: http://b.example/debian\nSuites: bookworm\nComponents: main\n';
    expect(debianMirrorOf([{ path: 'x.sources', text: disabled }])).toBeUndefined();
  });

  it('says what to do when the host has no Debian source', async () => {
    const root = await mkdtemp(join(tmpdir(), 'oomlab-apt-'));
    try {
      await mkdir(join(root, 'sources.list.d'));
      await writeFile(join(root, 'sources.list.d', 'other.list.disabled'), 'deb http://x.example/debian bookworm main\n');
      await expect(hostDebianMirror(root)).rejects.toThrow(
        `no Debian archive in the host's apt sources (${root}/sources.list, ${root}/sources.list.d/*.sources) — offline images are built with the mirror apt uses; add a Debian source with the main component`,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('image checks', () => {
  const checks = [
    { what: 'a', sh: 'true' },
    { what: 'b', sh: 'false' },
    { what: 'c', sh: 'true' },
  ];
  it('runs every check in one script, whatever the others do', () => {
    expect(checkScript(checks)).toBe(
      [
        'if (true) >/dev/null 2>&1; then echo "ok 0"; else echo "missing 0"; fi',
        'if (false) >/dev/null 2>&1; then echo "ok 1"; else echo "missing 1"; fi',
        'if (true) >/dev/null 2>&1; then echo "ok 2"; else echo "missing 2"; fi',
      ].join('\n'),
    );
  });
  it("counts a check with no line as missing (the shell died first), and reads a TTY's CRLF", () => {
    expect(missingFromOutput(checks, 'ok 0\r\nmissing 1\r\n')).toEqual(['b', 'c']);
    expect(missingFromOutput(checks, 'ok 0\nok 1\nok 2\n')).toEqual([]);
  });
});

describe('recipe hash', () => {
  it('changes with any file of the recipe or docker/lib, and not with other recipes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oomlab-recipe-'));
    try {
      await mkdir(join(dir, 'r1'));
      await mkdir(join(dir, 'r2'));
      await writeFile(join(dir, 'r1', 'build.sh'), 'echo 1\n');
      const first = await recipeHash('r1', dir);
      expect(first).toMatch(/^[0-9a-f]{16}$/);
      await writeFile(join(dir, 'r2', 'build.sh'), 'echo 2\n');
      expect(await recipeHash('r1', dir)).toBe(first);
      await writeFile(join(dir, 'r1', 'build.sh'), 'echo 1 \n');
      const second = await recipeHash('r1', dir);
      expect(second).not.toBe(first);
      await mkdir(join(dir, 'lib'));
      await writeFile(join(dir, 'lib', 'common.sh'), '');
      expect(await recipeHash('r1', dir)).not.toBe(second);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('splits image names with registry ports', () => {
    expect(splitName('oomlab/mariadb:10.11')).toEqual(['oomlab/mariadb', '10.11']);
    expect(splitName('localhost:5000/mysql')).toEqual(['localhost:5000/mysql', 'latest']);
  });
});

describe('offline recipes', () => {
  const entries = Object.entries(OFFLINE_RECIPES);

  it('offers MariaDB 10.5, 10.11, 11.8 and MySQL 9.7, each from docker/<flavour>-<version>/ with an executable build.sh', async () => {
    expect(Object.keys(OFFLINE_RECIPES).sort()).toEqual(['oomlab/mariadb:10.11', 'oomlab/mariadb:10.5', 'oomlab/mariadb:11.8', 'oomlab/mysql:9.7']);
    for (const [name, recipe] of entries) {
      expect(name.replace(/^oomlab\//, '').replace(':', '-')).toBe(recipe.recipe);
      expect(name.startsWith(`oomlab/${recipe.flavor}:`)).toBe(true);
      await access(join(DOCKER_DIR, recipe.recipe, 'build.sh'), constants.X_OK);
    }
  });

  it('builds each image with the flavour it is registered with, through the shared steps of docker/lib/recipe.sh', async () => {
    for (const recipe of Object.values(OFFLINE_RECIPES)) {
      const build = await readFile(join(DOCKER_DIR, recipe.recipe, 'build.sh'), 'utf8');
      expect(build).toContain('source "$(dirname "$0")/../lib/recipe.sh"');
      expect(build).toMatch(new RegExp(`^oomlab_install_contract "\\$rootfs" ${recipe.flavor} `, 'm'));
      for (const step of ['oomlab_bootstrap', 'oomlab_seed', 'oomlab_trim']) expect(build).toMatch(new RegExp(`^${step} "\\$rootfs"`, 'm'));
    }
  });

  it('names no package host: debootstrap takes the mirror the caller found in the host apt sources', async () => {
    const files = (await readdir(DOCKER_DIR, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(8);
    for (const file of files) expect(await readFile(file, 'utf8'), file).not.toMatch(/(https?|ftp):\/\//);
  });

  it('gives the shared entrypoint a branch for every flavour, exec-ing the binary the checks ask for', async () => {
    const entrypoint = await readFile(join(DOCKER_DIR, 'lib', 'entrypoint.sh'), 'utf8');
    for (const [flavor, binary] of Object.entries(SERVER_BINARIES)) {
      expect(entrypoint).toMatch(new RegExp(`^${flavor}\\)\\n\\tserver=${binary}\\n`, 'm'));
    }
    expect(entrypoint).toMatch(/^exec "\$@"$/m);
    const seed = await readFile(join(DOCKER_DIR, 'lib', 'seed.sh'), 'utf8');
    expect(seed).toContain('mariadb-install-db --user=mysql');
    expect(seed).toContain('mysqld --initialize-insecure --user=mysql');
  });

  it('checks the server binary of each flavour, and the RSA key pair only where root authenticates by caching_sha2_password', () => {
    const mariadb = serverChecks('mariadb').map((c) => c.what);
    const mysql = serverChecks('mysql').map((c) => c.what);
    expect(mariadb).toContain('the server binary /usr/sbin/mariadbd answering --version');
    expect(mysql).toContain('the server binary /usr/sbin/mysqld answering --version');
    expect(mysql).toContain("the entrypoint's flavour mysql in /etc/oomlab/flavor");
    expect(mysql.filter((what) => what.includes('public_key.pem'))).toHaveLength(1);
    expect(mariadb.filter((what) => what.includes('public_key.pem'))).toHaveLength(0);
    // The checks every image shares come first, in the same order, whatever the flavour.
    expect(mysql.slice(0, mariadb.length).map((what) => what.replace('mysqld', 'mariadbd').replace('flavour mysql', 'flavour mariadb'))).toEqual(mariadb);
    expect(OFFLINE_RECIPES['oomlab/mysql:9.7']).toMatchObject({ flavor: 'mysql', builtInAllocator: 'tcmalloc' });
    for (const name of ['oomlab/mariadb:10.5', 'oomlab/mariadb:10.11', 'oomlab/mariadb:11.8']) {
      expect(OFFLINE_RECIPES[name]).toMatchObject({ flavor: 'mariadb', checks: serverChecks('mariadb') });
      expect(OFFLINE_RECIPES[name]!.builtInAllocator).toBeUndefined();
    }
  });
});
