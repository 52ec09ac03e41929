import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigResult, RunReport } from '../../src/8-run/index.ts';
import { PROJECT_ROOT, runCli, runScenarioForTest } from './helpers.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

// The nofile-oom pattern on four configurations of the offline MariaDB at 1g: the 16 GiB file
// table is OOM-killed at start-up, the default nofile and the ulimit wrapper survive. With these
// ids FNV-1a puts one configuration in shard 1/3 (the killed one), one in 2/3 and two in 3/3.
const SCENARIO = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'shards-nofile',
  incident: 'incident 1 on four configurations, run whole and as three shards',
  matrix: { nofile: ['default', 1073741816], fix: ['none', 'ulimit-4096'], memory: ['1g'] },
  instances: (c) => ({
    db: {
      image: 'oomlab/mariadb:10.11',
      memory: c.memory,
      nofile: c.nofile,
      mycnf: typeof c.nofile === 'number' ? { open_files_limit: c.nofile } : {},
      ...(c.fix === 'ulimit-4096' ? { entrypoint: ['sh', '-c', 'ulimit -n 4096 && exec docker-entrypoint.sh mysqld'] } : {}),
      readyTimeoutMs: 60_000,
      settleMs: 3_000,
    },
  }),
  expect: (c) => ({ db: { outcome: c.nofile === 1073741816 && c.fix === 'none' ? 'oom-killed-at-startup' : 'survived' } }),
});
`;
const KILLED = 'nofile=1073741816,fix=none,memory=1g';

let dir: string;
let whole: RunReport;
const shardDirs: string[] = [];

async function reportIn(reportsDir: string): Promise<{ dir: string; report: RunReport }> {
  const [folder] = await readdir(reportsDir);
  const runDir = join(reportsDir, folder!);
  return { dir: runDir, report: JSON.parse(await readFile(join(runDir, 'report.json'), 'utf8')) as RunReport };
}

const BIG_MMAP = /mmap .* len=17179869184 flags=34/;

/**
 * What must not depend on the run or the split: container ids, host names (run id and position),
 * then pids, sizes and times are masked. Of the tracer's lines only the incident's 16 GiB mmap is
 * compared: how many arenas the threads map varies from start to start, and the first configuration
 * of a run can start before bpftrace's probes are live (its prlimit64 was missed once here).
 */
function comparable(config: ConfigResult) {
  const masked = (text: string) =>
    text
      .replace(/\b[0-9a-f]{64}\b/g, '<container>')
      .replace(/oomlab-[0-9a-f]{6}-\d+-/g, 'oomlab-<run>-')
      // The page cache beside a kill's peak is a few KiB that differ from run to run.
      .replace(/\+ [\d.]+ [KMG]?i?B page cache/g, '+ # page cache')
      // So is a small anonymous peak (76.3 or 76.4 MiB), below the three digits masked next.
      .replace(/peak anon [\d.]+ [KMG]?i?B/g, 'peak anon # B')
      .replace(/\d{3,}/g, '#');
  const traced = config.evidence.filter((e) => e.source === 'bpftrace');
  return {
    id: config.id,
    axes: config.axes,
    outcome: config.outcome,
    verdict: config.verdict,
    expected: config.expected,
    openFilesLimit: config.metrics.openFilesLimit,
    memoryLimitBytes: config.metrics.memoryLimitBytes,
    instances: config.instances.map((i) => ({ instance: i.instance, outcome: i.outcome })),
    emulated: config.emulated,
    evidence: config.evidence
      .filter((e) => e.source !== 'bpftrace')
      // The peak comes from the cgroup sampler, or from the kernel's memcg report when the kill beat the sampler.
      .map((e) => `${e.text.startsWith('peak ') ? 'peak' : e.source}: ${masked(e.text)}`)
      .sort(),
    fileTableMmap: traced.some((e) => BIG_MMAP.test(e.text)),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oomlab-shards-'));
  const scenarioPath = join(dir, 'shards-nofile.ts');
  await writeFile(scenarioPath, SCENARIO);
  await runScenarioForTest({ scenarioPath, reportsDir: join(dir, 'whole') }, 500_000);
  whole = (await reportIn(join(dir, 'whole'))).report;
  for (let index = 1; index <= 3; index++) {
    const result = await runCli(['run', scenarioPath, '--shard', `${index}/3`, '--reports-dir', join(dir, `shard-${index}`)]);
    if (result.exitCode !== 0) throw new Error(`shard ${index}/3 exited ${result.exitCode}:\n${result.all}`);
    shardDirs.push((await reportIn(join(dir, `shard-${index}`))).dir);
  }
}, 900_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a scenario run as three shards and merged', () => {
  it('runs each configuration in the shard its id hashes to', async () => {
    const shards = await Promise.all(shardDirs.map(async (d) => JSON.parse(await readFile(join(d, 'report.json'), 'utf8')) as RunReport));
    expect(shards.map((s) => s.configs.map((c) => c.id))).toEqual([
      [KILLED],
      ['nofile=default,fix=none,memory=1g'],
      ['nofile=default,fix=ulimit-4096,memory=1g', 'nofile=1073741816,fix=ulimit-4096,memory=1g'],
    ]);
    for (const s of shards) expect(s.shard?.matrixIds).toEqual(whole.configs.map((c) => c.id));
    expect(new Set(shards.map((s) => s.scenarioSha256)).size).toBe(1);
    expect(shards[0]!.scenarioSha256).toBe(whole.scenarioSha256);
  });

  it('gives the same configurations, verdicts and evidence as the whole run', async () => {
    const out = join(dir, 'merged');
    const result = await runCli(['merge', ...shardDirs, '--out', out]);
    expect(result.exitCode, result.all).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['junit.xml', 'report.html', 'report.json', 'report.md']);
    const merged = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as RunReport;
    expect(whole.configs.find((c) => c.id === KILLED)?.outcome).toBe('oom-killed-at-startup');
    expect(merged.summary).toEqual(whole.summary);
    expect(merged.summary).toEqual({ pass: 4, fail: 0, skipped: 0, error: 0, flaky: 0 });
    expect(merged.configs.map(comparable)).toEqual(whole.configs.map(comparable));
    expect(merged.merged?.shards.map((s) => s.configIds.length)).toEqual([1, 1, 2]);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('Merged from 3 shards: 1/3 1 configuration in ');
  });

  it('with a shard left out, names the missing configuration and exits 2, writing nothing', async () => {
    const out = join(dir, 'incomplete');
    const result = await runCli(['merge', shardDirs[1]!, shardDirs[2]!, '--out', out]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(`oomlab: MergeRefusedError: merge: 1 configuration of shards-nofile is in no shard: ${KILLED}; run the missing shard (--shard 1/3) or merge all shards`);
    expect(existsSync(out)).toBe(false);
  });
});
