import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/8-run/index.ts';
import { sessionLabels } from '../../src/3-runtime/docker/index.ts';
import { containersLabelled, docker, OOMLAB, outputReaches, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';

const BAD_SCENARIO = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'typo',
  incident: 'a scenario with a typo',
  matrix: { memory: ['1g'] },
  instance: () => [],
  expect: () => ({}),
});
`;

describe('oomlab CLI on bad input: one line, exit 2, nothing written', () => {
  it('names the file and the misspelt field of a scenario', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'typo.ts');
      await writeFile(file, BAD_SCENARIO);
      const reportsDir = join(dir, 'reports');
      const result = await runCli(['run', file, '--reports-dir', reportsDir]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^oomlab: ScenarioInvalidError: .*typo\.ts: unknown field `instance` \(did you mean `instances`\?\); allowed: name, incident, /);
      expect(existsSync(reportsDir)).toBe(false);
    });
  });

  it('rejects an unknown axis and lists the real ones', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['run', 'scenarios/nofile-oom.ts', '--set', 'nofiles=4096', '--reports-dir', dir]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim()).toBe("oomlab: UnknownAxisError: unknown axis `nofiles`; this scenario's axes are: image, nofile, fix, open_files_limit, memory");
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('says how to start the engine when it cannot be reached', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['run', 'scenarios/nofile-oom.ts', '--reports-dir', dir], { DOCKER_HOST: `unix://${dir}/no-engine.sock` });
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim()).toBe(`oomlab: DockerUnavailableError: cannot reach the Docker engine at unix://${dir}/no-engine.sock — start it (dockerd) or set DOCKER_HOST`);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('says how to get an image when nothing else could run', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['run', 'scenarios/nofile-oom.ts', '--only', 'image=mysql:5.5', '--reports-dir', dir]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim()).toBe(
        'oomlab: OomlabError: image mysql:5.5 is not here and no registry is used — `oomlab images load FILE` a `docker save` of it, or `docker pull mysql:5.5` where a registry is reachable, or rerun with --pull',
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe('oomlab run interrupted', () => {
  // SIGTERM reaches the same handler (test/9-cli/interrupt.test.ts): a second real run of 11 s would show nothing more.
  for (const signal of ['SIGINT'] as const) {
    it(`on ${signal} removes its containers and reports what was not decided`, async () => {
      await withTempDir(async (dir) => {
        const child = execa(OOMLAB, ['run', 'scenarios/nofile-oom.ts', '--only', 'image=oomlab/mariadb:10.11', '--set', 'memory=1g', '--reports-dir', dir], {
          cwd: PROJECT_ROOT,
          reject: false,
          all: true,
        });
        // Interrupt once two configurations have finished, with others under way side by side (the default --jobs): containers exist then.
        await outputReaches(child, ', 2 done]');
        await new Promise((r) => setTimeout(r, 1_000));
        child.kill(signal);
        const result = await child;
        expect(result.exitCode, result.all).toBe(130);
        const [folder] = await readdir(dir);
        const report = JSON.parse(await readFile(join(dir, folder!, 'report.json'), 'utf8')) as RunReport;
        expect(report.endedBy).toBe('cancel');
        expect(report.configs).toHaveLength(15);
        // Side by side, the two that finished first need not be the first two of the matrix.
        expect(report.configs.filter((c) => c.verdict === 'pass').length).toBeGreaterThanOrEqual(2);
        expect(report.configs.at(-1)).toMatchObject({ verdict: 'error', endedBy: 'cancel' });
        expect(report.configs.at(-1)!.reason).toBe(`not decided: run cancelled: ${signal} received`);
        expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
      });
    });
  }
});

describe('oomlab clean', () => {
  it('removes containers whose run is dead and keeps those of live runs', async () => {
    const suffix = randomBytes(3).toString('hex');
    const runOf = (ownerPid: number) => `test-clean-${ownerPid}-${suffix}`;
    const labels = (ownerPid: number) => ({ 'oomlab.run': runOf(ownerPid), 'oomlab.scenario': 'test', 'oomlab.owner-pid': String(ownerPid), ...sessionLabels() });
    // A pid that cannot be alive (above pid_max), and this test process, which is.
    const dead = await docker.createContainer({ Image: 'oomlab/mariadb:10.11', Cmd: ['sleep', '60'], Entrypoint: [], Labels: labels(4_194_999) });
    const live = await docker.createContainer({ Image: 'oomlab/mariadb:10.11', Cmd: ['sleep', '60'], Entrypoint: [], Labels: labels(process.pid) });
    try {
      const result = await runCli(['clean']);
      // Only this test's containers: a leftover of someone else's that the engine cannot remove is reported
      // as stuck and is no failure of this test.
      expect(result.stdout, result.all).toMatch(new RegExp(`^removed \\S+ \\(run ${runOf(4_194_999)}\\)$`, 'm'));
      expect(result.stderr, result.all).not.toContain(suffix);
      expect(await containersLabelled(`oomlab.run=${runOf(4_194_999)}`)).toEqual([]);
      expect(await containersLabelled(`oomlab.run=${runOf(process.pid)}`)).toHaveLength(1);
    } finally {
      await dead.remove({ force: true }).catch(() => {});
      await live.remove({ force: true });
    }
  });
});

describe('oomlab run --json', () => {
  it('prints the whole report on a pipe, past the 64 KiB a pipe holds, and the same report it writes', async () => {
    await withTempDir(async (dir) => {
      // A reader that is slow when the report comes, as a busy `| jq` is: the pipe fills, and the rest waits in
      // oomlab's own buffer. It starts reading 2 s after the run has written report.md, just before it prints.
      const args = ['run', 'scenarios/nofile-oom.ts', '--only', 'image=oomlab/mariadb:10.11', '--only', 'nofile=1073741816', '--set', 'memory=1g', '--json', '--reports-dir', dir];
      const slowReader = `until ls "${dir}"/*/report.md >/dev/null 2>&1; do sleep 0.1; done; sleep 2; cat`;
      const result = await execa('bash', ['-c', `set -o pipefail; "$@" | { ${slowReader}; }`, 'bash', OOMLAB, ...args], { cwd: PROJECT_ROOT, reject: false, timeout: 300_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      // Large enough that an exit before stdout drained would cut it (it did, at 65536 bytes).
      expect(result.stdout.length).toBeGreaterThan(65_536);
      const printed = JSON.parse(result.stdout) as RunReport;
      const [run] = await readdir(dir);
      expect(printed).toEqual(JSON.parse(await readFile(join(dir, run!, 'report.json'), 'utf8')));
      expect(printed.configs).toHaveLength(6);
    });
  });
});
