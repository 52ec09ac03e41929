import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { OFFLINE_MARIADB_IMAGE } from '../../src/3-runtime/docker/index.ts';
import { docker, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';
import { readReportFile } from '../../src/7-report/index.ts';

// One quick configuration: the server starts, answers, stays up 2 s. The image axis lists the offline
// image, and the test reruns it with --set on the image a user brings.
const TINY_SCENARIO = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'brought-image',
  incident: 'an image brought with oomlab images load runs like any other',
  matrix: { image: ['${OFFLINE_MARIADB_IMAGE}'], memory: ['1g'] },
  instances: (c) => ({ db: { image: c.image, memory: c.memory, settleMs: 2_000 } }),
  expect: () => ({ db: { outcome: 'survived' } }),
});
`;

const GIVE = 'give a `docker save` archive (`docker save -o FILE IMAGE` where the image is)';

describe('oomlab images load', () => {
  it('refuses a missing file in one line, exit 2, before asking the engine', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['images', 'load', join(dir, 'mysql-5.7.tar')], { DOCKER_HOST: `unix://${dir}/no-engine.sock` });
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim()).toBe(`oomlab: OomlabError: no file at ${join(dir, 'mysql-5.7.tar')} — ${GIVE}`);
    });
  });

  it('refuses a file that is not an image archive in one line, exit 2', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'corrupt.tar');
      await writeFile(file, 'not a tar\n');
      const result = await runCli(['images', 'load', file]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      // The engine's own words in the parentheses (Docker 20.10: "Error processing tar file(exit status 1): unexpected EOF").
      expect(result.stderr.trim()).toMatch(new RegExp(`^oomlab: OomlabError: ${file} is not an image archive the engine can load \\(.+\\) — give a \`docker save\` archive .*, whole$`));
    });
  });

  it('makes a configuration that names a brought image run instead of being skipped', async () => {
    const tag = `mysql-test/loaded:${randomBytes(3).toString('hex')}`;
    const [repo, version] = tag.split(':') as [string, string];
    await withTempDir(async (dir) => {
      const scenario = join(dir, 'brought-image.ts');
      await writeFile(scenario, TINY_SCENARIO);
      const archive = join(dir, 'loaded.tar');
      try {
        // The archive a user would bring: the offline image saved under another name, which is then removed here.
        await docker.getImage(OFFLINE_MARIADB_IMAGE).tag({ repo, tag: version });
        await pipeline(await docker.getImage(tag).get(), createWriteStream(archive));
        await docker.getImage(tag).remove();
        const reportsDir = join(dir, 'reports');
        const args = ['run', scenario, '--set', `image=${tag}`, '--reports-dir', reportsDir];

        const before = await runCli(args);
        // Its only configuration would be skipped: nothing can run, so nothing is written.
        expect(before.exitCode, before.all).toBe(2);
        expect(before.stderr.trim()).toBe(
          `oomlab: OomlabError: image ${tag} is not here and no registry is used — \`oomlab images load FILE\` a \`docker save\` of it, or \`docker pull ${tag}\` where a registry is reachable, or rerun with --pull`,
        );
        expect((await runCli(['images', scenario])).stdout).not.toContain(tag);

        const load = await runCli(['images', 'load', archive]);
        expect(load.exitCode, load.all).toBe(0);
        expect(load.stdout).toBe(`loaded ${tag} — no scenario names it: oomlab run SCENARIO --set image=${tag}`);

        const listed = await runCli(['images', scenario]);
        expect(listed.stdout).toMatch(new RegExp(`^  present  ${tag} +here; no scenario names it: oomlab run SCENARIO --set image=${tag}$`, 'm'));

        const after = await runCli(args);
        expect(after.exitCode, after.all).toBe(0);
        const [run] = await readdir(reportsDir);
        const report = (await readReportFile(join(reportsDir, run!, 'report.json'))).report;
        expect(report.configs.map((c) => [c.id, c.verdict, c.outcome])).toEqual([[`image=${tag},memory=1g`, 'pass', 'survived']]);
        expect(report.images).toEqual([{ name: tag, available: true, source: 'local' }]);
        expect(report.overrides).toEqual([{ axis: 'image', values: [tag], scenarioValues: [OFFLINE_MARIADB_IMAGE] }]);
      } finally {
        // Untags only: the offline image keeps its own name.
        await docker
          .getImage(tag)
          .remove()
          .catch(() => {});
      }
    });
  });
});
