// `oomlab bisect` end to end with the real engine, on the cheapest axis there is: the memory limit a server
// needs to start with a 256 MiB file table (nofile 16777216, emulated above the host's ceiling). Each probe is
// a start-up of a few seconds; the whole file costs 9 of them.
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { BisectReport } from '../../src/0-model/bisect-report.ts';
import { LABEL_SESSION, SESSION_ENV } from '../../src/3-runtime/docker/index.ts';
import { containersLabelled, OOMLAB, outputReaches, PROJECT_ROOT, runCli, withTempDir } from './helpers.ts';

const MIB = 1024 ** 2;

const STARTUP_SCENARIO = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'bisect-startup',
  incident: 'a 256 MiB file table at start-up: which memory limit lets the server start',
  matrix: { image: ['oomlab/mariadb:10.11'], memory: ['1g'] },
  instances: (c) => ({
    db: {
      image: c.image,
      memory: c.memory,
      nofile: 16_777_216,
      // Everything else the server sizes from open_files_limit pinned, as the file-table probe does.
      mycnf: { open_files_limit: 16_777_216, max_connections: 151, table_open_cache: 400, table_definition_cache: 400, performance_schema: 'OFF', innodb_buffer_pool_size: '32M' },
      readyTimeoutMs: 60_000,
      settleMs: 1_000,
    },
  }),
  expect: () => ({ db: { outcome: 'survived', because: 'the limit covers the file table' } }),
});
`;

async function withScenario<T>(use: (file: string, dir: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const file = join(dir, 'bisect-startup.ts');
    await writeFile(file, STARTUP_SCENARIO);
    return use(file, dir);
  });
}

async function sessionContainers(): Promise<string[]> {
  return (await containersLabelled(`${LABEL_SESSION}=${process.env[SESSION_ENV]}`)).map((c) => c.Names.join(','));
}

describe('oomlab bisect with a real engine', () => {
  it('finds the smallest memory limit that starts a server with a 256 MiB file table, repeats both sides, and puts the model beside it', async () => {
    await withScenario(async (scenario, dir) => {
      const out = join(dir, 'bisect');
      // 256m, 384m and 512m: 3 probes, then one repeat each side of the boundary.
      const result = await runCli([
        'bisect',
        scenario,
        '--config',
        'image=oomlab/mariadb:10.11',
        '--axis',
        'memory',
        '--range',
        '256m..512m',
        '--step',
        '128m',
        '--repeat-boundary',
        '1',
        '--out',
        out,
      ]);
      expect(result.exitCode, result.all).toBe(0);
      const report = JSON.parse(await readFile(join(out, 'bisect.json'), 'utf8')) as BisectReport;
      expect(report.probes.map((p) => [p.role, p.label, p.outcome])).toEqual([
        ['bound', '256m', 'oom-killed-at-startup'],
        ['bound', '512m', 'survived'],
        ['search', '384m', 'survived'],
        ['repeat', '256m', 'oom-killed-at-startup'],
        ['repeat', '384m', 'survived'],
      ]);
      expect(report).toMatchObject({ status: 'boundary', searchProbes: 3, maxSearchProbes: 3, config: 'image=oomlab/mariadb:10.11' });
      expect(report.boundary).toEqual({
        last: { value: 256 * MIB, label: '256m', outcome: 'oom-killed-at-startup' },
        first: { value: 384 * MIB, label: '384m', outcome: 'survived' },
        outcomes: { last: ['oom-killed-at-startup', 'oom-killed-at-startup'], first: ['survived', 'survived'] },
        flaky: false,
      });
      // The model counts the file table alone at start-up: 16 B × 16777216 = 256 MiB, so it starts at 256 MiB.
      expect(report.model.outcome).toMatchObject({
        last: { value: 255 * MIB, outcome: 'oom-killed-at-startup' },
        first: { value: 256 * MIB, outcome: 'survived', startUpBytes: 256 * MIB },
        outsideRange: true,
      });
      for (const probe of report.probes) {
        expect(probe.memoryLimitBytes).toBe(probe.value);
        expect(existsSync(join(out, probe.reportDir!, 'report.json'))).toBe(true);
      }
      expect(await readdir(out)).toEqual(expect.arrayContaining(['bisect.json', 'bisect.md', 'bisect.html', 'probes']));
      const lines = result.stderr.trim().split('\n');
      expect(lines.at(-2)).toBe('memory: oom-killed-at-startup up to 256 MiB, survived from 384 MiB — 3 probes (at most 3); 2 repeats agree');
      expect(lines.at(-1)).toBe(
        'memory model: oom-killed-at-startup up to 255 MiB (start-up 256 MiB of 255 MiB at 255 MiB), survived from 256 MiB (start-up 256 MiB of 256 MiB at 256 MiB), outside the range; worst case over the limit up to 3.4 GiB, within the limit from 3.4 GiB',
      );
      expect(await sessionContainers()).toEqual([]);
    });
  });

  it('says in one line that a range whose ends agree holds no boundary, and exits 1', async () => {
    await withScenario(async (scenario, dir) => {
      const out = join(dir, 'bisect');
      const result = await runCli(['bisect', scenario, '--config', 'image=oomlab/mariadb:10.11,memory=1g', '--axis', 'memory', '--range', '448m..512m', '--out', out]);
      expect(result.exitCode, result.all).toBe(1);
      expect(result.stderr.trim().split('\n').at(-1)).toBe('no boundary in memory 448 MiB..512 MiB: both ends survived (2 probes)');
      const report = JSON.parse(await readFile(join(out, 'bisect.json'), 'utf8')) as BisectReport;
      expect(report).toMatchObject({ status: 'no-boundary', sameOutcome: 'survived', searchProbes: 2 });
    });
  });

  it('on SIGINT ends the probe under way, removes its containers and writes what was found', async () => {
    await withScenario(async (scenario, dir) => {
      const out = join(dir, 'bisect');
      const child = execa(OOMLAB, ['bisect', scenario, '--config', 'image=oomlab/mariadb:10.11', '--axis', 'memory', '--range', '256m..512m', '--step', '128m', '--out', out], {
        cwd: PROJECT_ROOT,
        reject: false,
        all: true,
      });
      // Probe 2 (512m) takes seconds to start: the interrupt lands while it runs.
      await outputReaches(child, '[probe 2]');
      await new Promise((r) => setTimeout(r, 1_500));
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, result.all).toBe(130);
      const report = JSON.parse(await readFile(join(out, 'bisect.json'), 'utf8')) as BisectReport;
      expect(report.status).toBe('cancelled');
      expect(report.probes[0]).toMatchObject({ label: '256m', outcome: 'oom-killed-at-startup' });
      expect(report.probes.slice(1).every((p) => p.outcome === null)).toBe(true);
      expect(result.stderr.trim().split('\n').at(-2)).toMatch(/^memory: interrupted after 2 probes/);
      expect(await sessionContainers()).toEqual([]);
    });
  });

  it('names the configurations when --config matches none: one line, exit 2, nothing written', async () => {
    await withScenario(async (scenario, dir) => {
      const out = join(dir, 'bisect');
      const result = await runCli(['bisect', scenario, '--config', 'image=oomlab/mysql:9.7', '--axis', 'memory', '--range', '256m..512m', '--out', out]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim()).toBe(`oomlab: UsageError: --config image=oomlab/mysql:9.7 matches no configuration of ${scenario}; give one of (any memory): image=oomlab/mariadb:10.11`);
      expect(existsSync(out)).toBe(false);
    });
  });
});
