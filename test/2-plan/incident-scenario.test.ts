// The scenario from-incident writes: hostile text from a user's files stays data, and the file is a
// scenario the planner takes as it is.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { validateScenario } from '../../src/1-scenario/index.ts';
import { diagnose, literal, parseOomReports, planRun, poolHolding, predictConfigInstance, readEvidence, scenarioText } from '../../src/2-plan/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'test-output', `incident-scenario-${process.pid}`);
/** scenarios/lib as a file written in DIR imports it. */
const LIB = '../../scenarios/lib';
afterAll(() => rm(DIR, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noTemplateCurlyInString: the hostile text is the point
const HOSTILE = 'x\'`${(globalThis as any).__pwned = 1}`*/\u2028"); (globalThis as any).__pwned = 2; //';
const KILL = `Memory cgroup out of memory: Killed process 28811 (mariadbd) total-vm:4215332kB, anon-rss:2062148kB, file-rss:0kB, shmem-rss:0kB`;
const MY_CNF = `[mysqld]\ninnodb_buffer_pool_size=1536M\nmax_connections=500\nsort_buffer_size=4M\njoin_buffer_size=4M\nread_rnd_buffer_size=2M\n`;

async function load(text: string, name: string): Promise<any> {
  await mkdir(DIR, { recursive: true });
  const path = join(DIR, `${name}.ts`);
  await writeFile(path, text);
  return (await import(path)).default;
}

describe('literal', () => {
  it('round-trips any string, line separators included', () => {
    expect(new Function(`return ${literal(HOSTILE)}`)()).toBe(HOSTILE);
    expect(literal('a\u2028b')).toBe('"a\\u2028b"');
  });
});

describe('diagnose without a kill', () => {
  it('never ranks settings alone: a my.cnf without a kill is insufficient evidence', () => {
    const diagnosis = diagnose(readEvidence([{ name: 'my.cnf', text: MY_CNF }], { limit: '512m' }));
    expect(diagnosis.causes[0]).toMatchObject({ id: 'insufficient-evidence', for: ['there is no kill to weigh the settings against'] });
  });
});

describe('scenarioText', () => {
  it("tries a pool smaller than production's even when production's is already half the limit", () => {
    const evidence = readEvidence(
      [
        { name: 'kern.log', text: KILL.replace('anon-rss:2062148kB', 'anon-rss:423524kB') },
        { name: 'my.cnf', text: '[mysqld]\ninnodb_buffer_pool_size=256M\n', as: 'mycnf' },
      ],
      { limit: '512m' },
    );
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-small', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(), sources: ['kern.log'] });
    expect(text).toContain('"pool-128m": { because: "half production\'s 256 MiB pool: the server stays inside its limit", mycnf: {"innodb_buffer_pool_size":"128M"} }');
  });

  it('writes the DBA incident as production and each fix, with production kill beside it', async () => {
    const evidence = readEvidence(
      [
        { name: 'kern.log', text: KILL },
        { name: 'my.cnf', text: MY_CNF, as: 'mycnf' },
      ],
      { limit: '2g' },
    );
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-dba', evidence, diagnosis: diagnose(evidence), writtenAt: new Date('2026-12-06T00:00:00Z'), sources: ['kern.log', 'my.cnf'] });
    const scenario = validateScenario(await load(text, 'dba'), 'dba.ts');
    const planned = planRun(scenario);
    expect(planned.map((c) => c.id)).toEqual(['production', 'pool-1024m', 'max-connections-10', 'default-buffers'].map((fix) => `image=oomlab/mariadb:10.11,fix=${fix},memory=2048m`));
    // The busy minute is scenarios/lib's, as buffer-pool-oom drives it, not a copy of its text; with the 16 MiB temporary table the diagnosis counts.
    expect(text).toContain('workload: () => busyMinute({ connections: 250, temporaryTables: true }),');
    expect(planned[0]!.workload).toMatchObject({
      kind: 'storm',
      target: 'db',
      maxInFlight: 250,
      stages: [{ targetPerSecond: 200, durationMs: 12_000 }],
      mix: [{ name: 'user-by-id' }, { name: 'report' }, { name: 'trending', fills: ['tmp_table_size'] }],
    });
    expect(scenario.production).toMatchObject({ instance: 'db', process: 'mariadbd', scope: 'memcg', anonRssKb: 2062148, limitBytes: 2 * 1024 ** 3, phase: 'unknown', line: KILL });
  });

  it("writes neighbours as the global-OOM shape: the server warm at the victim's size, then neighbours each smaller than it", async () => {
    const kernel = await readFile(join(ROOT, 'test', 'fixtures', 'incidents', 'bitnami-vms-927-neighbours', 'kernel.log'), 'utf8');
    const evidence = readEvidence([{ name: 'kernel.log', text: kernel }], { limit: '2g' });
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-neighbours', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(), sources: ['kernel.log'] });
    const scenario = validateScenario(await load(text, 'neighbours'), 'neighbours.ts');
    const planned = planRun(scenario);
    expect(planned.map((c) => c.id)).toEqual(['production', 'neighbours-fit', 'neighbours-first'].map((fix) => `image=oomlab/mariadb:10.11,fix=${fix}`));
    const [production, fit, first] = planned;
    expect(production!.host?.sides).toEqual({ host: { memory: 2 * 1024 ** 3 } });
    expect(production!.instances[0]).toMatchObject({ name: 'db', side: 'host', mycnf: { innodb_buffer_pool_size: '352M' }, warmup: { bufferPoolFraction: 0.95 } });
    // Warm, the lab's server holds what production's mysqld held at the kill (424 876 kB), within 1 %.
    const expected = predictConfigInstance(production!, production!.instances[0]!, { defaultNofile: 20_000, cpus: 2 }).expected!.bytes;
    expect(Math.abs(expected / (424_876 * 1024) - 1)).toBeLessThan(0.01);
    expect(poolHolding(424_876 * 1024)).toBe(352 * 1024 ** 2);
    // Six neighbours of 306 MiB overflow the budget; each is smaller than the server, so the kernel picks the server.
    expect(production!.steps?.map((s) => [s.name, s.action])).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => [`neighbour-${n}`, { action: 'neighbour', memory: 306 * 1024 ** 2, image: 'oomlab/mariadb:10.11', side: 'host' }]),
    );
    expect(fit!.steps?.[0]?.action).toMatchObject({ memory: 204 * 1024 ** 2 });
    expect(first!.steps?.[0]?.action).toMatchObject({ memory: 306 * 1024 ** 2, oomScoreAdj: 1000 });
    expect(scenario.production).toMatchObject({ process: 'mysqld', scope: 'global', anonRssKb: 424_876, limitBytes: 2 * 1024 ** 3 });
  });

  // A 512 MiB VPS's /var/log/messages as the stored page text gives it, on one line: https://xcroot.com/HelloWord/264.sh
  const VPS_LINE =
    '... Out of memory: Kill process 9682 (mysqld) score 9 or sacrifice child Killed process 9682, UID 27, (mysqld) total-vm:47388kB, anon-rss:3744kB, file-rss:80kB httpd invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=0 httpd cpuset=/ mems_allowed=0 Pid: 8911, comm: httpd Not tainted 2.6.32-279.1.1.el6.i686 #1 ... 21556 total pagecache pages 21049 pages in swap cache Swap cache stats: add 12819103, delete 12798054, find 3188096/4634617 Free swap = 0kB Total swap = 524280kB 131071 pages RAM 0 pages HighMem 3673 pages reserved 67960 pages shared 124940 pages non-shared';

  it("sizes the neighbours against the lab server's own smallest footprint when production's victim was smaller: a handful, not hundreds", async () => {
    // A 512 MiB CentOS 6 VPS (2.6.32) whose kernel killed a 3.7 MB mysqld while httpd filled it, as the stored page text
    // gives /var/log/messages, on one line: https://xcroot.com/HelloWord/264.sh (found by a newcomer, 2026-12-07).
    // The scenario once asked for 205 neighbours of 3 MiB, 3 s apart: ten minutes a configuration under TCG.
    const vps = readEvidence(
      [
        {
          name: 'messages',
          text: VPS_LINE,
        },
      ],
      { limit: '512m' },
    );
    // Its kernel printed the machine, `131071 pages RAM`: a global OOM's budget without --limit (it once asked for one).
    const unsized = readEvidence([{ name: 'messages', text: VPS_LINE }]);
    expect(unsized.limitBytes).toEqual({ value: 131_071 * 4096, source: 'kernel: 131071 pages RAM' });
    expect(diagnose(unsized).causes[0]?.id).toBe('neighbours');
    const text = scenarioText({ scenariosLib: LIB, name: 'tiny-victim', evidence: vps, diagnosis: diagnose(vps), writtenAt: new Date(), sources: ['messages'] });
    expect(text).toContain("// mysqld held anon-rss 3744 kB at the kill: less than the lab's server holds with its smallest pool, warmed to 95 % (about 105m); the neighbours are sized against that.");
    const [production] = planRun(validateScenario(await load(text, 'tiny-victim'), 'tiny-victim.ts'));
    expect(production!.steps).toHaveLength(6);
    expect(production!.steps?.[0]?.action).toMatchObject({ action: 'neighbour', memory: 76 * 1024 ** 2 });
  });

  it("writes a global OOM for a lab VM of the machine's size: no side and no container limit, the VM's memory as production's budget", async () => {
    const fixtures = join(ROOT, 'test', 'fixtures', 'incidents');
    const bitnami = readEvidence([{ name: 'kernel.log', text: await readFile(join(fixtures, 'bitnami-vms-927-neighbours', 'kernel.log'), 'utf8') }], { limit: '2g' });
    const globalLab = { host: 'lab,memory=2048m', memoryBytes: 2 * 1024 ** 3, machineBytes: 2 * 1024 ** 3, source: '--limit' };
    const neighbours = scenarioText({ scenariosLib: LIB, name: 'lab-neighbours', evidence: bitnami, diagnosis: diagnose(bitnami), writtenAt: new Date(), sources: ['kernel.log'], globalLab });
    expect(neighbours).toContain('so it needs no --host:  ./oomlab run scenarios/lab-neighbours.ts');
    const neighboursScenario = validateScenario(await load(neighbours, 'lab-neighbours'), 'lab-neighbours.ts');
    const [production, fit, first] = planRun(neighboursScenario);
    // The file names its VM: `oomlab run` alone boots the machine of production's size for every configuration.
    expect([production, fit, first].map((c) => c!.host?.runtime)).toEqual(['lab,memory=2048m', 'lab,memory=2048m', 'lab,memory=2048m']);
    expect(production!.host?.sides).toBeUndefined();
    expect(production!.instances[0]).toMatchObject({ name: 'db', mycnf: { innodb_buffer_pool_size: '352M' } });
    expect(production!.instances[0]).not.toHaveProperty('side');
    expect(production!.instances[0]!.memory).toBeUndefined();
    expect(production!.steps?.[0]?.action).toEqual({ action: 'neighbour', memory: 306 * 1024 ** 2, image: 'oomlab/mariadb:10.11' });
    // 2048 MiB − the server's 415 MiB − what a booted 2 GiB guest keeps (210 MiB + 6 %: 333 MiB) − a fifth free, over six neighbours.
    expect(fit!.steps?.[0]?.action).toMatchObject({ memory: 148 * 1024 ** 2 });
    expect(first!.steps?.[0]?.action).toMatchObject({ oomScoreAdj: 1000 });
    expect(neighboursScenario.production).toMatchObject({ scope: 'global', limitBytes: 2 * 1024 ** 3 });

    // minikube#5751: the machine's size from the kernel's `1535902 pages RAM`, nofile 1073741816 at start-up.
    const minikube = readEvidence([{ name: 'kernel.log', text: await readFile(join(fixtures, 'minikube-5751-nofile', 'kernel.log'), 'utf8') }]);
    expect(minikube.machineBytes).toEqual({ value: 1_535_902 * 4096, source: 'kernel: 1535902 pages RAM' });
    // Its room: mysqld's 4 469 476 kB anon + 4 kB file at the kill, which the guest leaves it once a ballast holds the rest.
    const nofileLab = { host: 'lab:nofile,memory=6000m,room=4365m', memoryBytes: 6000 * 1024 ** 2, machineBytes: 6000 * 1024 ** 2, roomBytes: 4365 * 1024 ** 2, source: minikube.machineBytes!.source };
    const nofile = scenarioText({
      scenariosLib: LIB,
      name: 'lab-nofile',
      evidence: minikube,
      diagnosis: diagnose(minikube),
      writtenAt: new Date(),
      sources: ['kernel.log'],
      phase: 'start-up',
      globalLab: nofileLab,
    });
    expect(nofile).toContain("// Its room (room= below): once booted, the guest leaves the server 4365m, what production's mysqld held (anon + file + shmem rss)");
    const nofileScenario = validateScenario(await load(nofile, 'lab-nofile'), 'lab-nofile.ts');
    const planned = planRun(nofileScenario);
    expect(planned.map((c) => c.id)).toEqual(['image=oomlab/mariadb:10.11,fix=production', 'image=oomlab/mariadb:10.11,fix=ulimit-4096']);
    expect(planned[0]!.instances[0]).toMatchObject({ name: 'db', nofile: 1_073_741_816, mycnf: { open_files_limit: 1_073_741_816 } });
    expect(planned[0]!.instances[0]!.memory).toBeUndefined();
    expect(planned.map((c) => c.host?.runtime)).toEqual(['lab:nofile,memory=6000m,room=4365m', 'lab:nofile,memory=6000m,room=4365m']);
    expect(nofileScenario.production).toMatchObject({ process: 'mysqld', scope: 'global', limitBytes: 6000 * 1024 ** 2, phase: 'start-up' });
  });

  it('names a lab host given for a memcg kill too: the container keeps its limit, the file its VM; without --host it names none', async () => {
    const k3s = readEvidence([{ name: 'k3s.log', text: 'Memory cgroup out of memory: Killed process 34888 (mysqld) total-vm:16832960kB, anon-rss:3895388kB, file-rss:1320kB, shmem-rss:0kB' }], {
      limit: '4g',
    });
    const inLab = scenarioText({ scenariosLib: LIB, name: 'memcg-lab', evidence: k3s, diagnosis: diagnose(k3s), writtenAt: new Date(), sources: ['k3s.log'], labHost: 'lab:nofile' });
    const planned = planRun(validateScenario(await load(inLab, 'memcg-lab'), 'memcg-lab.ts'));
    expect(planned.map((c) => [c.host?.runtime, c.instances[0]!.memory])).toEqual([
      ['lab:nofile', 4 * 1024 ** 3],
      ['lab:nofile', 4 * 1024 ** 3],
    ]);
    const here = scenarioText({ scenariosLib: LIB, name: 'memcg-here', evidence: k3s, diagnosis: diagnose(k3s), writtenAt: new Date(), sources: ['k3s.log'] });
    expect(planRun(validateScenario(await load(here, 'memcg-here'), 'memcg-here.ts')).map((c) => c.host?.runtime)).toEqual([undefined, undefined]);
    // Neighbours of a memcg budget in a lab: the side stays, and the VM rides beside it.
    const bitnami = readEvidence([{ name: 'kernel.log', text: await readFile(join(ROOT, 'test', 'fixtures', 'incidents', 'bitnami-vms-927-neighbours', 'kernel.log'), 'utf8') }], { limit: '2g' });
    const sided = scenarioText({ scenariosLib: LIB, name: 'sided-lab', evidence: bitnami, diagnosis: diagnose(bitnami), writtenAt: new Date(), sources: ['kernel.log'], labHost: 'lab' });
    const [production] = planRun(validateScenario(await load(sided, 'sided-lab'), 'sided-lab.ts'));
    expect(production!.host).toMatchObject({ runtime: 'lab', sides: { host: { memory: 2 * 1024 ** 3 } } });
  });

  it("writes a lowered limit as a server created at the spec's limit and cut to the kernel's once it answers", async () => {
    // A real kill from this project's limit-lowered run (2 GiB cut to 1 GiB, a warm 1024M pool), with the spec it was created with.
    const kernel = await readFile(join(ROOT, 'test', 'fixtures', 'dmesg-memcg-oom-limit-lowered.txt'), 'utf8');
    const evidence = readEvidence([
      { name: 'kernel.log', text: kernel },
      { name: 'inspect.json', text: JSON.stringify([{ Config: { Image: 'oomlab/mariadb:10.11' }, HostConfig: { Memory: 2 * 1024 ** 3 } }]) },
      { name: 'my.cnf', text: '[mysqld]\ninnodb_buffer_pool_size = 1024M\nmax_connections = 500\n', as: 'mycnf' },
    ]);
    const diagnosis = diagnose(evidence);
    // The pool fit the limit the container was created with: the cut, not the pool, comes first.
    expect(diagnosis.causes.map((c) => [c.id, c.score]).slice(0, 2)).toEqual([
      ['limit-lowered', 1],
      ['buffer-pool', 0.9],
    ]);
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-lowered', evidence, diagnosis, writtenAt: new Date(), sources: ['kernel.log', 'inspect.json', 'my.cnf'] });
    const scenario = validateScenario(await load(text, 'lowered'), 'lowered.ts');
    // The kill's task table lists mariadbd alone: production's others held nothing, and the report may set the lab's beside it.
    expect(scenario.production?.othersRssKb).toBe(0);
    const planned = planRun(scenario);
    expect(planned.map((c) => c.id)).toEqual(['production', 'pool-512m', 'limit-kept'].map((fix) => `image=oomlab/mariadb:10.11,fix=${fix}`));
    expect(planned[0]!.instances[0]).toMatchObject({ memory: 2 * 1024 ** 3, mycnf: { innodb_buffer_pool_size: '1024M' } });
    expect(planned[0]!.steps?.map((s) => [s.name, s.action])).toEqual([['lower-limit', { action: 'limit', instance: 'db', memory: 1024 * 1024 ** 2 }]]);
    expect(planned[2]!.steps ?? []).toEqual([]);
  });

  // test/fixtures/incidents/README.md, fulltext-tcmalloc-allocator: one busy minute of sorts had no repeated cycles and no
  // full-text search, and did not reproduce the article's tcmalloc page heap kept after heavy FULL-TEXT queries.
  it("writes the allocator cause as cycles of heavy work with quiet between, full-text searches among it, and the server's memory after each cycle", async () => {
    const fixture = join(ROOT, 'test', 'fixtures', 'incidents', 'fulltext-tcmalloc-allocator');
    const evidence = readEvidence(
      [
        { name: 'kernel.log', text: await readFile(join(fixture, 'kernel.log'), 'utf8') },
        { name: 'my.cnf', text: '[mysqld]\ninnodb_buffer_pool_size = 1073741824\n', as: 'mycnf' },
      ],
      { limit: '8g' },
    );
    const diagnosis = diagnose(evidence);
    expect(diagnosis.causes[0]!.id).toBe('allocator');
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-fulltext', evidence, diagnosis, writtenAt: new Date(), sources: ['kernel.log', 'my.cnf'] });
    expect(text).toContain(`import { memoryAfterEachCycle, workCycles } from "${LIB}/storms.ts";`);
    expect(text).not.toContain('busyMinute');
    expect(text).toContain("const CYCLES = 3; // allocator-retention's count");
    expect(text).toContain(
      "const QUIET_MS = 30_000; // three times jemalloc's default decay (dirty_decay_ms 10 s); with no background thread (its default) it returns what decayed as it next allocates",
    );
    expect(text).toContain('workload: () => workCycles({ connections: 16, cycles: CYCLES, burstMs: BURST_MS, quietMs: QUIET_MS, fullText: true, temporaryTables: true }),');
    expect(text).toContain(
      '// Each burst keeps 16 sessions busy at once (max_connections 151, as how many were open is unknown; at most 16, so that each burst ends before its quiet on a 2-core host),',
    );
    expect(text).toContain('innodb_ft_result_cache_limit (default 2 000 000 000 bytes; fts0que.cc)');
    // Production's server is the tcmalloc MySQL 9.7 links, not glibc's: the jemalloc fix says so.
    expect(text).toContain('"jemalloc": { because: "jemalloc returns freed memory that the tcmalloc mysqld links keeps: the server stays inside its limit", allocator: "jemalloc" },');

    const scenario = validateScenario(await load(text, 'fulltext'), 'fulltext.ts');
    const planned = planRun(scenario);
    expect(planned.map((c) => c.id)).toEqual(['production', 'jemalloc', 'default-buffers'].map((fix) => `image=oomlab/mysql:9.7,fix=${fix},memory=8192m`));
    const [production, jemalloc] = planned;
    expect(production!.instances[0]).toMatchObject({ image: 'oomlab/mysql:9.7', memory: 8 * 1024 ** 3, mycnf: { innodb_buffer_pool_size: '1073741824' }, warmup: { bufferPoolFraction: 0.95 } });
    expect(production!.instances[0]!.allocator).toBeUndefined();
    expect(jemalloc!.instances[0]!.allocator).toBe('jemalloc');
    const workload = production!.workload!;
    if (workload.kind !== 'storm') throw new Error(`a storm, got ${workload.kind}`);
    // The posts written as words with a FULLTEXT index on them, then three bursts of 20 s at 100 sessions a second, each followed by 30 s of quiet.
    expect(workload.seed).toEqual({ users: 2_000, posts: 40_000, followsPerUser: 20, fullText: true });
    const cycle = [
      { targetPerSecond: 100, durationMs: 1 },
      { targetPerSecond: 100, durationMs: 20_000 },
      { targetPerSecond: 0, durationMs: 1 },
      { targetPerSecond: 0, durationMs: 30_000 },
    ];
    expect(workload.stages).toEqual([...cycle, ...cycle, ...cycle]);
    expect(workload.maxInFlight).toBe(16);
    expect(workload.mix?.map((q) => q.name)).toEqual(['search', 'report', 'trending']);
    // The server's memory 2 s before each cycle ends, counted from the load's start, not from time zero (the seed's index build comes first).
    expect(production!.steps?.map((s) => [s.name, s.after, s.at, s.action.action])).toEqual([
      ['after-cycle-1', 'workload.seeded', 48_000, 'run'],
      ['after-cycle-2', 'workload.seeded', 98_000, 'run'],
      ['after-cycle-3', 'workload.seeded', 148_000, 'run'],
    ]);
    expect(scenario.production).toMatchObject({ process: 'mysqld', scope: 'global', anonRssKb: 7_444_620, limitBytes: 8 * 1024 ** 3 });
  });

  it('searches with several one-letter prefixes in BOOLEAN MODE, the same terms for the ranking and the match, beside a filter that keeps LIMIT out of the search', async () => {
    const { FULL_TEXT_SEARCH } = await import('../../scenarios/lib/storms.ts');
    expect(FULL_TEXT_SEARCH.sql).toBe(
      'SELECT p.id, MATCH (p.body) AGAINST (? IN BOOLEAN MODE) AS score FROM posts p WHERE MATCH (p.body) AGAINST (? IN BOOLEAN MODE) AND p.likes > ? ORDER BY score DESC LIMIT 10',
    );
    let state = 1;
    const random = () => {
      state = (state * 48_271) % 2_147_483_647;
      return state / 2_147_483_647;
    };
    for (let i = 0; i < 50; i++) {
      const [terms, again, likes] = FULL_TEXT_SEARCH.params!(random) as [string, string, number];
      expect(again).toBe(terms);
      const prefixes = terms.split(' ');
      expect(prefixes).toHaveLength(8);
      expect(prefixes.every((p) => /^[a-z]\*$/.test(p))).toBe(true);
      expect(new Set(prefixes).size).toBe(8);
      expect(likes).toBeGreaterThanOrEqual(0);
      expect(likes).toBeLessThan(100);
    }
  });

  it('sizes the posts and the prefixes of a search when a larger full-text table is asked for, and refuses a prefix count outside 1-26', async () => {
    const { workCycles, fullTextSearch } = await import('../../scenarios/lib/storms.ts');
    const workload = workCycles({ connections: 8, cycles: 3, burstMs: 20_000, quietMs: 30_000, fullText: true, posts: 400_000, searchPrefixes: 4 });
    expect(workload.seed).toEqual({ users: 2_000, posts: 400_000, followsPerUser: 20, fullText: true });
    expect(workload.mix?.map((q) => q.name)).toEqual(['search', 'report']);
    let state = 7;
    const random = () => {
      state = (state * 48_271) % 2_147_483_647;
      return state / 2_147_483_647;
    };
    const [terms] = workload.mix![0]!.params!(random) as [string];
    expect(terms.split(' ')).toHaveLength(4);
    // Without them, the seed and the search are the ones the 40 000-post runs were measured with.
    const usual = workCycles({ connections: 16, cycles: 3, burstMs: 20_000, quietMs: 30_000, fullText: true });
    expect(usual.seed).toEqual({ users: 2_000, posts: 40_000, followsPerUser: 20, fullText: true });
    expect(workCycles({ connections: 16, cycles: 3, burstMs: 20_000, quietMs: 30_000 }).seed).toEqual({ users: 2_000, posts: 40_000, followsPerUser: 20 });
    expect(() => fullTextSearch(27)).toThrow('Expected the number of one-letter prefixes to be an integer from 1 to 26, got `27`');
  });

  it("quotes production's innodb_ft_result_cache_limit, when given, where the search's cap is explained", async () => {
    const fixture = join(ROOT, 'test', 'fixtures', 'incidents', 'fulltext-tcmalloc-allocator');
    const evidence = readEvidence(
      [
        { name: 'kernel.log', text: await readFile(join(fixture, 'kernel.log'), 'utf8') },
        { name: 'my.cnf', text: `[mysqld]\ninnodb_buffer_pool_size = 1073741824\ninnodb_ft_result_cache_limit = ${HOSTILE}\n`, as: 'mycnf' },
      ],
      { limit: '8g' },
    );
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-fulltext-cap', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(), sources: ['kernel.log'] });
    const definition = await load(text, 'fulltext-cap');
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
    const [production] = planRun(validateScenario(definition, 'fulltext-cap.ts'));
    expect(production!.instances[0]!.mycnf?.innodb_ft_result_cache_limit).toBe(HOSTILE);
    expect(text).toContain(`innodb_ft_result_cache_limit (${literal(`production's ${HOSTILE}`).slice(1, -1)}; fts0que.cc)`);
  });

  // The file lands in scenarios/, which `npm test` type-checks: a generated scenario that does not compile breaks the user's tests.
  it('writes scenarios that type-check under the project tsconfig: a load cause, the allocator, a start-up cause, neighbours and a lowered limit, and the lab variants', {
    timeout: 60_000,
  }, async () => {
    const load = readEvidence(
      [
        { name: 'kern.log', text: KILL },
        { name: 'my.cnf', text: MY_CNF, as: 'mycnf' },
      ],
      { limit: '2g' },
    );
    const startUp = readEvidence([{ name: 'k3s.log', text: 'Memory cgroup out of memory: Killed process 34888 (mysqld) total-vm:16832960kB, anon-rss:3895388kB, file-rss:1320kB, shmem-rss:0kB' }], {
      limit: '4g',
    });
    const fixtures = join(ROOT, 'test', 'fixtures');
    const neighbours = readEvidence([{ name: 'kernel.log', text: await readFile(join(fixtures, 'incidents', 'bitnami-vms-927-neighbours', 'kernel.log'), 'utf8') }], { limit: '2g' });
    const lowered = readEvidence([
      { name: 'kernel.log', text: await readFile(join(fixtures, 'dmesg-memcg-oom-mariadbd-16GiB.txt'), 'utf8') },
      { name: 'inspect.json', text: JSON.stringify([{ Config: { Image: 'mariadb:10.11' }, HostConfig: { Memory: 2 * 1024 ** 3 } }]) },
    ]);
    const allocator = readEvidence(
      [
        { name: 'kernel.log', text: await readFile(join(fixtures, 'incidents', 'fulltext-tcmalloc-allocator', 'kernel.log'), 'utf8') },
        { name: 'my.cnf', text: '[mysqld]\ninnodb_buffer_pool_size = 1073741824\n', as: 'mycnf' },
      ],
      { limit: '8g' },
    );
    await mkdir(DIR, { recursive: true });
    const globalLab = { host: 'lab,memory=2048m', memoryBytes: 2 * 1024 ** 3, machineBytes: 2 * 1024 ** 3, source: '--limit' };
    for (const [name, evidence, lab] of [
      ['typed-load', load, undefined],
      ['typed-allocator', allocator, undefined],
      ['typed-startup', startUp, undefined],
      ['typed-neighbours', neighbours, undefined],
      ['typed-lowered', lowered, undefined],
      ['typed-neighbours-lab', neighbours, globalLab],
      ['typed-startup-lab', startUp, globalLab],
      ['typed-load-lab', load, 'lab'],
      ['typed-neighbours-memcg-lab', neighbours, 'lab'],
      ['typed-lowered-lab', lowered, 'lab'],
    ] as const) {
      const labInput = lab === undefined ? {} : typeof lab === 'string' ? { labHost: lab } : { globalLab: lab };
      const text = scenarioText({ scenariosLib: LIB, name, evidence, diagnosis: diagnose(evidence), writtenAt: new Date(), sources: [name], ...labInput });
      await writeFile(join(DIR, `${name}.ts`), text);
    }
    await writeFile(join(DIR, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['./*.ts'] }));
    const result = await execa(join(ROOT, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', join(DIR, 'tsconfig.json')], { reject: false });
    expect(result.stdout).toBe('');
    expect(result.exitCode).toBe(0);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: names the hostile text
  it('keeps hostile values as data: quotes, backticks, ${…}, */ and line separators run nothing', async () => {
    const kill = KILL.replace('(mariadbd)', `(${HOSTILE.replace(/[()]/g, '')})`);
    const evidence = readEvidence(
      [
        { name: `kern\n${HOSTILE}.log`, text: kill },
        { name: 'my.cnf', text: `${MY_CNF}init_connect = ${HOSTILE}\n`, as: 'mycnf' },
      ],
      { limit: '2g' },
    );
    expect(parseOomReports(kill)[0]!.process).toBe(HOSTILE.replace(/[()]/g, ''));
    const text = scenarioText({ scenariosLib: LIB, name: 'incident-hostile', evidence, diagnosis: diagnose(evidence), writtenAt: new Date(), sources: [`kern\n${HOSTILE}.log`, 'my.cnf'] });
    const definition = await load(text, 'hostile');
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
    const scenario = validateScenario(definition, 'hostile.ts');
    expect(scenario.production?.line).toBe(kill);
    const [config] = planRun(scenario);
    expect(config!.instances[0]!.mycnf?.init_connect).toBe(HOSTILE);
  });

  it('keeps hostile values as data in the neighbours and lowered-limit scenarios: the task table, the spec, the file names', async () => {
    const fixtures = join(ROOT, 'test', 'fixtures');
    const name = HOSTILE.replace(/[()]/g, '');
    // The bitnami kill with its victim renamed, and one task-table row of the reporter's named with the hostile text.
    const global = (await readFile(join(fixtures, 'incidents', 'bitnami-vms-927-neighbours', 'kernel.log'), 'utf8')).replace('(mysqld)', `(${name})`);
    const row = '[152619.400000] [   3736]     1  3736   120816    47549   663552        0             0 php-fpm'.replace('php-fpm', name);
    // A lab run's real memcg kill (limit 1048576kB), under a container created with 2 GiB whose spec names the hostile text.
    const memcg = (await readFile(join(fixtures, 'dmesg-memcg-oom-mariadbd-16GiB.txt'), 'utf8')).replaceAll('mariadbd', name);
    const inspect = JSON.stringify([{ Name: `/${HOSTILE}`, Config: { Image: 'mariadb:10.11', Cmd: ['mariadbd', `--init-connect=${HOSTILE}`] }, HostConfig: { Memory: 2 * 1024 ** 3 } }]);
    const shapes = [
      { cause: 'neighbours', inputs: [{ name: `kern\n${HOSTILE}.log`, text: `${row}\n${global}` }], mycnf: '[mysqld]\n', overrides: { limit: '2g' } },
      {
        cause: 'limit-lowered',
        inputs: [
          { name: `kern\n${HOSTILE}.log`, text: memcg },
          { name: `${HOSTILE}.json`, text: inspect },
        ],
        mycnf: '[mysqld]\ninnodb_buffer_pool_size = 768M\n',
        overrides: {},
      },
    ];
    for (const [index, shape] of shapes.entries()) {
      const evidence = readEvidence([...shape.inputs, { name: 'my.cnf', text: `${shape.mycnf}init_connect = ${HOSTILE}\n`, as: 'mycnf' }], shape.overrides);
      const diagnosis = diagnose(evidence);
      expect(diagnosis.causes.find((c) => c.id !== 'insufficient-evidence')?.id).toBe(shape.cause);
      const text = scenarioText({ scenariosLib: LIB, name: `incident-hostile-${index}`, evidence, diagnosis, writtenAt: new Date(), sources: shape.inputs.map((i) => i.name) });
      const scenario = validateScenario(await load(text, `hostile-${index}`), `hostile-${index}.ts`);
      expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
      expect(scenario.production?.process).toBe(name);
      expect(planRun(scenario)[0]!.instances[0]!.mycnf?.init_connect).toBe(HOSTILE);
    }
  });

  it('keeps a hostile lab host as data in every shape: the file loads, runs nothing, and its host is the text itself, which the planner refuses', async () => {
    const fixtures = join(ROOT, 'test', 'fixtures', 'incidents');
    const bitnami = readEvidence([{ name: 'kernel.log', text: await readFile(join(fixtures, 'bitnami-vms-927-neighbours', 'kernel.log'), 'utf8') }], { limit: '2g' });
    const load2g = readEvidence(
      [
        { name: 'kern.log', text: KILL },
        { name: 'my.cnf', text: MY_CNF, as: 'mycnf' },
      ],
      { limit: '2g' },
    );
    const memcg = await readFile(join(ROOT, 'test', 'fixtures', 'dmesg-memcg-oom-limit-lowered.txt'), 'utf8');
    const lowered = readEvidence([
      { name: 'kernel.log', text: memcg },
      { name: 'inspect.json', text: JSON.stringify([{ Config: { Image: 'oomlab/mariadb:10.11' }, HostConfig: { Memory: 2 * 1024 ** 3 } }]) },
    ]);
    const shapes = [
      { evidence: load2g, lab: { labHost: HOSTILE } },
      { evidence: load2g, lab: { globalLab: { host: HOSTILE, memoryBytes: 2 * 1024 ** 3, source: HOSTILE } } },
      { evidence: bitnami, lab: { globalLab: { host: HOSTILE, memoryBytes: 2 * 1024 ** 3, source: HOSTILE } } },
      { evidence: bitnami, lab: { labHost: HOSTILE } },
      { evidence: lowered, lab: { labHost: HOSTILE } },
    ];
    for (const [index, shape] of shapes.entries()) {
      const text = scenarioText({
        scenariosLib: LIB,
        name: `hostile-host-${index}`,
        evidence: shape.evidence,
        diagnosis: diagnose(shape.evidence),
        writtenAt: new Date(),
        sources: ['kernel.log'],
        ...shape.lab,
      });
      const loaded = await load(text, `hostile-host-${index}`);
      expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
      const scenario = validateScenario(loaded, `hostile-host-${index}.ts`);
      expect(scenario.host?.({ image: 'oomlab/mariadb:10.11', fix: 'production', memory: '2048m' })).toMatchObject({ runtime: HOSTILE });
      expect(() => planRun(scenario)).toThrow('`host.runtime`: expected docker');
    }
  });
});
