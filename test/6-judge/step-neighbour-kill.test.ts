// The newcomer's incident-nc1192 run, configuration neighbours-first: db shares a 1 GiB side budget with six
// neighbours that steps started at oom_score_adj 1000. The kernel killed one neighbour's perl (the real dmesg below),
// and the report showed only an unexplained `docker-event: oom` under db: the post-mortem read kills of the
// configuration's instances alone. The run did not record which step's container it was: here it is neighbour-3's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectPostMortem, containerIdOfMemcg, parseKernelOomKills, Timeline, type KernelOomKill, type Observation } from '../../src/4-observe/index.ts';
import { decodeSamples, type EventObservation, type SampleSeries } from '../../src/0-model/report-file.ts';
import { defineScenario } from '../../src/1-scenario/index.ts';
import { planRun } from '../../src/2-plan/index.ts';
import { judgeConfig } from '../../src/6-judge/index.ts';
import { answerOf, headroomText, peakText } from '../../src/0-model/answer.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import { rankByHeadroom } from '../../src/0-model/explore.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const KILLS = parseKernelOomKills(fixture('dmesg-memcg-oom-side-neighbour-perl.txt'));
const NEIGHBOUR = containerIdOfMemcg(KILLS[0]!.memcg)!;
const RECORDED = JSON.parse(fixture('incident-nc1192-neighbours-first.json')) as { observations: EventObservation[]; samples: SampleSeries[] };

/** The generated scenario's neighbours-first configuration, as from-incident wrote it. */
const scenario = defineScenario({
  name: 'incident-nc1192',
  incident: 'mysqld OOM-killed (global) in a 1 GiB limit: other processes in the same memory budget; mysqld killed as the largest',
  matrix: { image: ['oomlab/mariadb:10.11'], fix: ['neighbours-first'] },
  host: () => ({ sides: { host: { memory: '1024m' } } }),
  instances: (c) => ({ db: { image: c.image, side: 'host', mycnf: { innodb_buffer_pool_size: '168M' }, warmup: { bufferPoolFraction: 0.95 }, settleMs: 5_000 } }),
  steps: (c) =>
    Array.from({ length: 6 }, (_, i) => ({ name: `neighbour-${i + 1}`, at: `${2 + 3 * i}s`, action: 'neighbour' as const, memory: '148m', image: c.image, side: 'host', oomScoreAdj: 1000 })),
  expect: () => ({ db: { outcome: 'survived', because: 'the neighbours at oom_score_adj 1000: the kernel kills one of them instead of the server' } }),
});

/** The post-mortem of a configuration whose steps started `stepContainers`: what it observes of the kernel's kills. */
async function killsObserved(stepContainers: { step: string; instance: string; containerId: string }[]): Promise<Observation[]> {
  const timeline = new Timeline(() => 19_500);
  const asked: string[] = [];
  await collectPostMortem({
    instances: [],
    stepContainers,
    timeline,
    dmesgReadable: true,
    samplers: new Map(),
    limitBytes: () => undefined,
    bounded: (work) => work,
    kernelKills: async (ids) => {
      asked.push(...ids);
      return new Map<string, KernelOomKill[]>(ids.filter((id) => id === NEIGHBOUR).map((id) => [id, KILLS]));
    },
  });
  expect(asked).toEqual(stepContainers.map((c) => c.containerId));
  return timeline.observations;
}

describe("a step's neighbour killed by the kernel", () => {
  it('is observed by the post-mortem, named by its step', async () => {
    const observed = await killsObserved([
      { step: 'neighbour-1', instance: 'neighbour-13', containerId: 'a'.repeat(64) },
      { step: 'neighbour-3', instance: 'neighbour-15', containerId: NEIGHBOUR },
    ]);
    expect(observed).toEqual([
      {
        kind: 'kernel-oom',
        t: 0,
        instance: 'neighbour-15',
        step: 'neighbour-3',
        process: 'perl',
        pid: 27005,
        totalVmKb: 159020,
        anonRssKb: 151936,
        constraint: 'CONSTRAINT_MEMCG',
        memcg: `/oomlab-side-e1e502-2-host/${NEIGHBOUR}`,
        line: 'Memory cgroup out of memory: Killed process 27005 (perl) total-vm:159020kB, anon-rss:151936kB, file-rss:4192kB, shmem-rss:0kB, UID:0 pgtables:356kB oom_score_adj:1000',
        constraintLine: `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=d379e7083a329003d387d050902fff3fdf53be09c59a41f195f72ecc654092e1,mems_allowed=0,oom_memcg=/oomlab-side-e1e502-2-host,task_memcg=/oomlab-side-e1e502-2-host/${NEIGHBOUR},task=perl,pid=27005,uid=0`,
        // The budget's other rows: db's mariadbd and the other neighbours, as the kernel's task table listed them.
        others: {
          rssKb: 934_500,
          count: 6,
          largest: [
            { name: 'mariadbd', rssKb: 276_520 },
            { name: 'perl', rssKb: 156_128 },
            { name: 'perl', rssKb: 156_012 },
          ],
        },
      },
    ]);
  });

  it("is a reason line and kernel evidence naming the step, and explains db's oom event as the budget's", async () => {
    const config = planRun({ ...scenario, file: 'scenarios/incident-nc1192.ts' })[0]!;
    const timeline = new Timeline(() => 0);
    const recorded = decodeSamples(RECORDED.observations, RECORDED.samples, 'incident-nc1192-neighbours-first.json');
    for (const o of [...recorded, ...(await killsObserved([{ step: 'neighbour-3', instance: 'neighbour-15', containerId: NEIGHBOUR }]))]) timeline.add(o);
    const result = judgeConfig(config, timeline, { endedBy: 'done', emulated: [], startedAt: 0, logTail: '' }, () => 1);
    expect(result.outcome).toBe('survived');
    expect(result.verdict).toBe('pass');
    expect(result.reason).toBe(
      "survived, as expected: the neighbours at oom_score_adj 1000: the kernel kills one of them instead of the server; step neighbour-3's container neighbour-15 (perl) was OOM-killed in side host's budget (shared with db): the engine's oom event on db is that budget's, not its own",
    );
    expect(result.evidence.filter((e) => e.text.includes('not judged'))).toEqual([
      { source: 'kernel', text: `[step neighbour-3's container neighbour-15, not judged] ${KILLS[0]!.line}` },
      { source: 'kernel', text: `[step neighbour-3's container neighbour-15, not judged] ${KILLS[0]!.constraintLine}` },
    ]);
    expect(result.oomKills?.map((k) => k.instance)).toEqual(['neighbour-15']);
  });
});

describe("the headroom of a budget the steps' neighbours share", () => {
  // The kernel's report of that kill, for the side's own cgroup: `memory: usage 1048576kB, limit 1048576kB` and
  // `total_rss 1067606016`: what the budget's own cgroup holds, where db's own peak was 360 MiB.
  const measured = { host: { peakBytes: 1048576 * 1024, anonPeakBytes: 1067606016 } };
  const STEPS = ['neighbour-1', 'neighbour-2', 'neighbour-3', 'neighbour-4', 'neighbour-5', 'neighbour-6'];

  async function judged(sidePeaks?: typeof measured, { kill = true } = {}) {
    const config = planRun({ ...scenario, file: 'scenarios/incident-nc1192.ts' })[0]!;
    const timeline = new Timeline(() => 0);
    const recorded = decodeSamples(RECORDED.observations, RECORDED.samples, 'incident-nc1192-neighbours-first.json');
    const kills = kill ? await killsObserved([{ step: 'neighbour-3', instance: 'neighbour-15', containerId: NEIGHBOUR }]) : [];
    for (const o of [...recorded, ...kills]) timeline.add(o);
    return judgeConfig(config, timeline, { endedBy: 'done', emulated: [], startedAt: 0, logTail: '', ...(sidePeaks ? { sidePeaks } : {}) }, () => 1);
  }

  it("is the side's own cgroup's peak, which ran out, not db's 664 MiB short", async () => {
    const result = await judged(measured);
    expect(result.sharedMemory).toEqual([{ side: 'host', instances: ['db'], steps: STEPS, limitBytes: 2 ** 30, peakBytes: 2 ** 30, anonPeakBytes: 1067606016 }]);
    expect(result.margins?.map((m) => m.line)).toEqual([
      "host peak 1 GiB of 1 GiB with page cache, anon (rss) 1018 MiB in its own cgroup (db 360 MiB at its own peak; the rest the neighbours of steps neighbour-1, neighbour-2, neighbour-3, neighbour-4, neighbour-5, neighbour-6): the budget ran out: the kernel killed step neighbour-3's container neighbour-15 (perl)",
    ]);
    expect(result.margins?.[0]).toMatchObject({ held: false, distance: 0 });
    const ranked = answerOf({ configs: [result] } as unknown as RunReport).ranking[0]!;
    expect([peakText(ranked), headroomText(ranked)]).toEqual(['side host 1018 MiB / 1 GiB anon', "none: side host ran out: the kernel killed step neighbour-3's container neighbour-15 (perl)"]);
    expect(rankByHeadroom({ configs: [result] })[0]!.headroomBytes).toBe(0);
    // The answer says the same: the server's own peak beside its budget's, and that it survived at a neighbour's
    // cost (a newcomer read "survived, peak 105 MiB of 613 MiB" above a ranking that said the side ran out).
    const survived = answerOf({ configs: [result] } as unknown as RunReport).headlines[0]!;
    const text = survived.parts.map((part) => (typeof part === 'string' ? part : part.code)).join('');
    expect(survived.tone).toBe('mixed');
    expect(text).toContain('peak anonymous memory 247 MiB of 1 GiB for the server alone; side host, shared with its neighbours, peaked at 1018 MiB');
    expect(text).toContain(" At its neighbours' cost: its budget ran out and the kernel killed step neighbour-3's container neighbour-15 (perl) instead.");
  });

  it("says the neighbours are not counted where the side's cgroup was not measured", async () => {
    // Without the kill either (the report before the post-mortem read it): nothing says the budget ran out.
    const result = await judged(undefined, { kill: false });
    expect(result.margins?.map((m) => m.line)).toEqual([
      'host peak 360 MiB of 1 GiB (db 360 MiB, not counting the neighbours of steps neighbour-1, neighbour-2, neighbour-3, neighbour-4, neighbour-5, neighbour-6): 664 MiB short of the limit',
    ]);
    const ranked = answerOf({ configs: [result] } as unknown as RunReport).ranking[0]!;
    expect(rankByHeadroom({ configs: [result] })[0]!.headroomBytes).toBeUndefined();
    expect(headroomText(ranked)).toBe("not known: side host's neighbours (steps neighbour-1, neighbour-2, neighbour-3, neighbour-4, neighbour-5, neighbour-6) were not measured");
  });
});
