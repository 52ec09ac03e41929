import { pbkdf2, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildImageFromRecipe,
  buildOfflineImage,
  checkImage,
  connectEngine,
  engineClients,
  importRootfs,
  LABEL_OWNER_PID,
  LABEL_RECIPE_HASH,
  LABEL_RUN,
  OFFLINE_MARIADB_IMAGE,
  OFFLINE_RECIPES,
  offlineImageState,
  recipeHash,
  removeAbandonedBuilds,
  sessionLabels,
  type Engine,
} from '../../src/3-runtime/docker/index.ts';
import { OomlabError } from '../../src/0-model/errors.ts';
import { docker, withTempDir } from './helpers.ts';
import { copyHostBinaries, writeSyntheticRootfs } from './synthetic-rootfs.ts';

const suffix = randomBytes(3).toString('hex');
const made: string[] = [];
const engine: Promise<Engine> = connectEngine();

afterAll(async () => {
  for (const name of made)
    await docker
      .getImage(name)
      .remove({ force: true })
      .catch(() => {});
});

/** Keeps every libuv threadpool thread busy (about 100 ms of key stretching each), as a process doing file work is. */
function occupyThreadpool(): Promise<unknown> {
  const one = () => new Promise<void>((done) => pbkdf2('x', 'y', 200_000, 32, 'sha256', () => done()));
  return Promise.all(Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, one));
}

/** Runs `sh -c script` in a labelled container of a local image and returns its output. */
async function runIn(image: string, script: string): Promise<{ exitCode: number; output: string }> {
  await docker.getImage(image).inspect();
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [script],
    Tty: true,
    NetworkDisabled: true,
    Labels: { [LABEL_RUN]: `image-build-test-${suffix}`, [LABEL_OWNER_PID]: String(process.pid), ...sessionLabels() },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    return { exitCode: StatusCode, output: (await container.logs({ stdout: true, stderr: true })).toString('utf8') };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

describe('the rootfs hand-over to docker import', () => {
  it('brings a synthetic root filesystem of random binary files back byte for byte, five times over', async () => {
    await withTempDir(async (rootfs) => {
      const synthetic = await writeSyntheticRootfs(rootfs);
      expect(synthetic.bytes).toBeGreaterThan(4 * 1024 * 1024);
      // Each round as a run meets it: a fresh client (docker-modem resolves its socket path with an
      // fs.access on the first request) and a busy libuv threadpool, which widens any gap between the
      // tar starting and its stream being read. A hand-over that is not read at once loses bytes here.
      for (let round = 0; round < 5; round++) {
        const name = `oomlab-test/synthetic:${suffix}-${round}`;
        made.push(name);
        const busy = occupyThreadpool();
        const imported = await importRootfs(engineClients(), rootfs, { name, changes: ['LABEL oomlab.test=synthetic'] });
        await busy;
        const { exitCode, output } = await runIn(name, `sha256sum -c /${synthetic.manifest}`);
        const ok = output.split('\n').filter((line) => /: OK\s*$/.test(line)).length;
        expect({
          round,
          exitCode,
          ok,
          failed: output
            .split('\n')
            .filter((l) => l.trim() && !/: OK\s*$/.test(l))
            .slice(0, 3),
        }).toEqual({ round, exitCode: 0, ok: synthetic.files, failed: [] });
        expect(imported.tarBytes).toBeGreaterThan(synthetic.bytes);
        await docker.getImage(name).remove({ force: true });
      }
    });
  });
});

describe('an image is tagged only after it passes its check', () => {
  it('removes a build that lacks what the server needs and names what was missing and the log', async () => {
    await withTempDir(async (dockerDir) => {
      // A recipe whose root filesystem has a shell and nothing of a server.
      await mkdir(join(dockerDir, 'hollow'));
      const script = join(dockerDir, 'hollow', 'build.sh');
      await writeFile(script, `#!/usr/bin/env bash\nset -e\nmkdir -p "$1/etc"\necho 'root:x:0:0:root:/root:/bin/sh' > "$1/etc/passwd"\ncp -a "${dockerDir}/hollow-root/." "$1/"\n`);
      await chmod(script, 0o755);
      await copyHostBinaries(join(dockerDir, 'hollow-root'), ['sh', 'grep']);
      const target = `oomlab-test/hollow:${suffix}`;
      made.push(target);
      const recipe = { ...OFFLINE_RECIPES[OFFLINE_MARIADB_IMAGE]!, recipe: 'hollow' };
      const error = await buildImageFromRecipe(await engine, target, recipe, { dockerDir, mirror: 'unused' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OomlabError);
      expect((error as OomlabError).code).toBe('IMAGE_BUILD_FAILED');
      const message = (error as Error).message;
      expect(message).toMatch(
        /^building oomlab-test\/hollow:\w+ from docker\/hollow\/ failed: the built image lacks the mysql user in \/etc\/passwd, the server binary \/usr\/sbin\/mariadbd answering --version, the seeded data directory \/var\/lib\/mysql\/mysql, an executable entrypoint \/usr\/local\/bin\/docker-entrypoint\.sh, the entrypoint's flavour mariadb in \/etc\/oomlab\/flavor, the allocator preloads \/usr\/lib\/libjemalloc\.so and \/usr\/lib\/libtcmalloc_minimal\.so — build log: \/\S+\.log$/,
      );
      expect(message.split('\n')).toHaveLength(1);
      const log = await readFile(/build log: (\S+)$/.exec(message)![1]!, 'utf8');
      expect(log).toContain('missing 0');
      const left = (await docker.listImages({ filters: { reference: ['oomlab-test/hollow'] } })).map((i) => i.RepoTags);
      expect(left).toEqual([]);
    });
  });

  it('calls an image stale when its recipe label is missing or differs from docker/<recipe>/', async () => {
    await withTempDir(async (rootfs) => {
      await copyHostBinaries(rootfs, ['sh']);
      const name = `oomlab-test/stale:${suffix}`;
      made.push(name);
      const recipe = OFFLINE_RECIPES[OFFLINE_MARIADB_IMAGE]!;
      await importRootfs(await engine, rootfs, { name, changes: [`LABEL ${LABEL_RECIPE_HASH}=0000000000000000`] });
      const state = await offlineImageState(await engine, name, recipe);
      expect(state).toMatchObject({ state: 'stale', why: `built from docker/mariadb-10.11/ at 0000000000000000, which is now ${await recipeHash('mariadb-10.11')}` });
      // Each re-import replaces the tag; the image it replaces goes first, or it would be left dangling.
      await docker.getImage(name).remove({ force: true });
      await importRootfs(await engine, rootfs, { name, changes: [] });
      expect(await offlineImageState(await engine, name, recipe)).toMatchObject({ state: 'stale', why: 'no oomlab.recipe-hash label (built before images were labelled)' });
      await docker.getImage(name).remove({ force: true });
      await importRootfs(await engine, rootfs, { name, changes: [`LABEL ${LABEL_RECIPE_HASH}=${await recipeHash('mariadb-10.11')}`] });
      const broken = await offlineImageState(await engine, name, recipe);
      expect(broken).toMatchObject({ state: 'broken', missing: recipe.checks.map((c) => c.what) });
    });
  });
});

describe('oomlab clean and builds that were killed', () => {
  it('removes unchecked candidates whose builder died, and keeps those of a live build', async () => {
    await withTempDir(async (rootfs) => {
      await copyHostBinaries(rootfs, ['sh']);
      const dead = (await execa('sh', ['-c', 'echo $$'])).stdout.trim();
      const abandoned = `oomlab-test/abandoned:${suffix}-unchecked-${suffix}`;
      const live = `oomlab-test/live:${suffix}-unchecked-${suffix}`;
      made.push(abandoned, live);
      await importRootfs(await engine, rootfs, { name: abandoned, changes: [`LABEL oomlab.builder-pid=${dead}`] });
      await importRootfs(await engine, rootfs, { name: live, changes: [`LABEL oomlab.builder-pid=${process.ppid}`] });
      const removed = await removeAbandonedBuilds(await engine);
      expect(removed).toContain(abandoned);
      expect(removed).not.toContain(live);
      expect(
        await docker
          .getImage(live)
          .inspect()
          .then(
            () => 'kept',
            () => 'removed',
          ),
      ).toBe('kept');
    });
  });
});

describe('a cold build of the real recipe', () => {
  it('builds docker/mariadb-10.11 from nothing, checks it, and labels it with the recipe hash', async () => {
    // On a runner without the image the engine setup has just built it from nothing through resolveImage:
    // that build is the proof, and building it a second time would cost CI about 100 s.
    const runStartedMs = Number(process.env.OOMLAB_TEST_RUN_STARTED_MS);
    const createdMs = Date.parse((await docker.getImage(OFFLINE_MARIADB_IMAGE).inspect()).Created);
    const builtThisRun = Number.isFinite(runStartedMs) && createdMs >= runStartedMs;
    let name = OFFLINE_MARIADB_IMAGE;
    if (builtThisRun) {
      process.stderr.write(`[image-build] docker/mariadb-10.11 was built from nothing by this test run's engine setup (${Math.round((createdMs - runStartedMs) / 1000)}s after it began)\n`);
    } else {
      name = `oomlab/mariadb:10.11-cold-${suffix}`;
      made.push(name);
      const progress: string[] = [];
      const built = await buildOfflineImage(await engine, OFFLINE_MARIADB_IMAGE, { as: name, onProgress: (m) => progress.push(m) });
      process.stderr.write(`[image-build] cold build of docker/mariadb-10.11 under a throwaway tag in ${built.durationMs}ms, log ${built.logFile}\n`);
      expect(progress.at(-1)).toMatch(/^built oomlab\/mariadb:10\.11-cold-\w+ in \d+s \(checked: /);
    }
    const info = await docker.getImage(name).inspect();
    expect(info.Config.Labels?.[LABEL_RECIPE_HASH]).toBe(await recipeHash('mariadb-10.11'));
    expect(await checkImage(await engine, name, OFFLINE_RECIPES[OFFLINE_MARIADB_IMAGE]!.checks)).toMatchObject({ ok: true, missing: [] });
    const version = await runIn(name, '/usr/sbin/mariadbd --version && ls /var/lib/mysql/mysql/user.frm /var/lib/mysql/mysql/global_priv.frm 2>/dev/null | wc -l');
    expect(version.output).toMatch(/mariadbd\s+Ver 10\.11\.\d+-MariaDB/);
    if (!builtThisRun) {
      await docker.getImage(name).remove({ force: true });
      expect(
        await docker
          .getImage(name)
          .inspect()
          .then(
            () => 'present',
            () => 'removed',
          ),
      ).toBe('removed');
    }
  }, 900_000);
});
