import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Answer, answerOf, type Headline, peakText } from '../../src/0-model/answer.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import { becauseOf } from '../../src/6-judge/index.ts';

const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures', `report-${name}.json`), 'utf8')) as RunReport;
const text = (h: Headline) => `${h.lead} ${h.parts.map((p) => (typeof p === 'string' ? p : `\`${p.code}\``)).join('')}`;

describe('the answer of the flagship (nofile-oom, 33 configurations, mysql:5.x not here)', () => {
  const answer: Answer = answerOf(fixture('nofile-oom-33'));

  it('plays the incident against the first configuration expected to be killed that ran (mysql:5.7 is not here)', () => {
    expect(answer.baseline?.id).toBe('image=oomlab/mariadb:10.11,nofile=1073741816,fix=none,open_files_limit=explicit,memory=4g');
  });

  it('says in its first lines whether the incident was reproduced, which fix worked and what the red herring did', () => {
    expect(answer.headlines.map(text)).toEqual([
      'Reproduced: 16 bytes × 1073741816 files = 16 GiB, above the memory limit — OOM-killed at start-up in 1 of 1 configuration (nofile=1073741816 fix=none); 2 configurations not run; the kernel: `total-vm:16827320kB, anon-rss:4185600kB`.',
      'Killed all the same with fix=tuned-my.cnf: 1 of 1 configuration, as expected: shrinking the buffers does not shrink the 16 GiB file table — `total-vm:16827320kB, anon-rss:4185600kB`.',
      'Survived with fix=ulimit-4096: 5 of 5 configurations, peak 191 MiB of 4 GiB — as expected: the wrapper lowers nofile to 4096 before mysqld reads it.',
      'Survived with open_files_limit=auto: 2 of 2 configurations, peak 191 MiB of 4 GiB — as expected: the server caps an automatic open_files_limit.',
      'Survived across nofile=default or 1048576, fix=none or tuned-my.cnf, open_files_limit=auto or explicit: 6 of 6 configurations, peak 207 MiB of 4 GiB — as expected: the file table fits.',
      '18 configurations not run: 9 because image mysql:5.7 is not here and no registry is used; 9 because image mysql:5.5 is not here and no registry is used (what to do: below).',
    ]);
    expect(answer.headlines.map((h) => h.tone)).toEqual(['good', 'good', 'good', 'good', 'good', 'none']);
  });

  it('groups the 18 skipped configurations in two lines, one per reason', () => {
    expect(answer.skipped.map((g) => [g.configs.length, g.configs[0]!.axes.image])).toEqual([
      [9, 'mysql:5.7'],
      [9, 'mysql:5.5'],
    ]);
  });

  it('ranks the 15 that ran by headroom, the two kills last', () => {
    expect(answer.ranking).toHaveLength(15);
    expect(answer.ranking.slice(-2).map((r) => [r.label, r.killed])).toEqual([
      ["the incident's configuration", true],
      ['fix=tuned-my.cnf', true],
    ]);
    for (const group of [answer.ranking.slice(0, 5), answer.ranking.slice(5, -2)]) {
      const shares = group.map((r) => r.headroomBytes! / r.limitBytes!);
      expect(shares).toEqual([...shares].sort((a, b) => b - a));
    }
  });

  it('ranks the fix that never died first, and a fix killed elsewhere after it, saying where (the red herring had more headroom)', () => {
    expect(answer.ranking.slice(0, 5).map((r) => [r.config.axes.fix, r.caveat])).toEqual(Array(5).fill(['ulimit-4096', undefined]));
    const herring = answer.ranking.find((r) => r.label === 'fix=tuned-my.cnf open_files_limit=auto');
    expect(herring?.caveat).toBe('fix=tuned-my.cnf was OOM-killed with open_files_limit=explicit');
    expect(answer.ranking.slice(5, -2).every((r) => r.caveat !== undefined)).toBe(true);
  });
});

describe('the answer of scraping-burst (one fix at a time against the baseline)', () => {
  const answer = answerOf(fixture('scraping-burst'));

  it('names the fixes that did not save A in the reproduction, and the one that did', () => {
    const [reproduced, roomy, notRun] = answer.headlines.map(text);
    expect(reproduced).toMatch(
      /^Reproduced: A shares its host with the neighbour; .* — \[a\] OOM-killed under load in 4 of 4 configurations \(headroom=tight\): the incident's configuration, with thp=never, with innodb_thread_concurrency=32 and with allocator=jemalloc; 1 configuration not run; the kernel: `total-vm:8591665136kB, anon-rss:908104kB`\.$/,
    );
    expect(roomy).toBe(
      'Survived with headroom=roomy: 1 of 1 configuration, peak anonymous memory 1.7 GiB of 9 GiB — as expected: with memory left beside the neighbour, A carries its share of the burst.' +
        ' But not a clean pass, the load was not served: only 959 of 2,175 requests the load asked for completed: 702 waited at the in-flight cap and never started, 1 still running at the drain deadline; 513 of 1,473 requests failed (timeout ×513); query p99 10.0 s.',
    );
    expect(notRun).toBe('1 configuration not run: 1 because 1 NUMA node (what to do: below).');
  });

  it('ranks by the anonymous peak where it was sampled', () => {
    expect(answer.ranking[0]).toMatchObject({ label: 'headroom=roomy', anonymous: true, killed: false });
  });
});

describe('the answer when a claim did not hold (burst-oom, recorded with sized buffers at 2000 connections killed)', () => {
  it('says not as expected, what happened and what was expected, and why', () => {
    const lines = answerOf(fixture('burst-oom')).headlines.map(text);
    expect(lines[1]).toBe(
      'Not as expected with buffers=sized: in 2 configurations: survived 1, OOM-killed under load 1 — expected survival, because buffers × max_connections fit: the burst costs latency and 1040 errors, not the process.',
    );
    expect(answerOf(fixture('burst-oom')).headlines[1]!.tone).toBe('bad');
  });
});

describe('becauseOf', () => {
  it("keeps each expectation's because, by instance, and nothing when none gave one", () => {
    expect(becauseOf({ a: { outcome: 'survived', because: 'room' }, b: { outcome: 'survived' } })).toEqual({ because: { a: 'room' } });
    expect(becauseOf({ a: { outcome: 'survived' } })).toEqual({});
  });
});

describe('the answer of a scenario made from an incident (fix=production and each fix on its own)', () => {
  const base = fixture('nofile-oom').configs;
  const killed = base.find((c) => c.outcome === 'oom-killed-at-startup')!;
  const survived = base.find((c) => c.outcome === 'survived')!;
  const config = (fix: string, from: typeof killed, because: string, peak?: number) => ({
    ...from,
    id: `image=oomlab/mariadb:10.11,fix=${fix}`,
    axes: { image: 'oomlab/mariadb:10.11', fix },
    because: { db: because },
    metrics: { ...from.metrics, ...(peak !== undefined ? { peakMemoryBytes: peak } : {}) },
  });
  const report = {
    ...fixture('nofile-oom'),
    configs: [
      config('production', killed, "production's outcome reproduces: the file table"),
      config('ulimit-4096', survived, 'the fix keeps the server inside its limit', 200 * 2 ** 20),
      config('limitnofile-1048576', survived, 'the fix keeps the server inside its limit', 300 * 2 ** 20),
    ],
  };

  it('says which fix survived, each on its own line, though they share one because', () => {
    const answer = answerOf(report);
    expect(answer.baseline?.axes.fix).toBe('production');
    expect(answer.headlines.map((h) => h.lead)).toEqual(['Reproduced:', 'Survived with fix=ulimit-4096:', 'Survived with fix=limitnofile-1048576:']);
    expect(answer.ranking.map((r) => r.label)).toEqual(['fix=ulimit-4096', 'fix=limitnofile-1048576', "the incident's configuration"]);
  });
});

describe("the ranking in a lab VM that left a room (a global OOM's budget)", () => {
  it("sets a survivor's peak against the room when the server had no container limit, and says so", () => {
    const nofile = fixture('nofile-oom');
    const lab = {
      host: 'lab:nofile,memory=6000m,room=4365m',
      shape: 'nofile',
      accel: 'tcg' as const,
      accelWhy: 'TCG',
      bootMs: 52_761,
      timeScale: 4,
      vcpus: 2,
      memoryMiB: 6000,
      cgroup: 'v2' as const,
      overcommitMemory: 1,
    };
    const room = { roomMiB: 4365, availableMiB: 5447, ballastMiB: 1072, leftMiB: 4376 };
    const unlimited = nofile.configs.map((c) => ({ ...c, metrics: { ...c.metrics, memoryLimitBytes: undefined } }));
    const ranking = answerOf({ ...nofile, host: { ...nofile.host, lab: { ...lab, room } }, configs: unlimited }).ranking;
    const survivor = ranking.find((r) => !r.killed && r.peakBytes !== undefined)!;
    expect(survivor).toMatchObject({ limitBytes: 4376 * 1024 ** 2, limitIsRoom: true, headroomBytes: 4376 * 1024 ** 2 - survivor.peakBytes! });
    expect(peakText(survivor)).toContain(" / 4.3 GiB (the lab VM's room)");
    // No room, no limit: nothing to stand against, as before.
    expect(answerOf({ ...nofile, host: { ...nofile.host, lab }, configs: unlimited }).ranking.find((r) => !r.killed)?.headroomBytes).toBeUndefined();
  });
});

describe('the answer of a run cancelled before its one configuration was decided', () => {
  const production = fixture('nofile-oom').configs.find((c) => c.outcome === 'oom-killed-at-startup')!;
  const cancelled = {
    ...production,
    outcome: null,
    verdict: 'error' as const,
    reason: 'not decided: cancelled before it was decided',
    endedBy: 'cancel' as const,
    evidence: [],
    metrics: {},
    instances: [],
  };
  const report = { ...fixture('nofile-oom'), endedBy: 'cancel' as const, configs: [cancelled] };

  it('says it was not decided (cancelled), not that the incident did not reproduce', () => {
    const [first] = answerOf(report).headlines;
    expect(first!.lead).toBe('Not decided:');
    expect(text(first!)).toMatch(/1 configuration ended before it was decided \(cancelled 1\)/);
    expect(first!.tone).toBe('mixed');
  });

  it('says a fix that only ended in a harness error was not decided, not that it was not as expected (a newcomer read it as the fix failing)', () => {
    const nofile = fixture('nofile-oom');
    const fix = nofile.configs.find((c) => c.outcome === 'survived')!;
    const broken = { ...fix, outcome: null, verdict: 'error' as const, reason: 'not decided: a step of the timeline failed: socket hang up', evidence: [], metrics: {}, instances: [] };
    const leads = answerOf({ ...nofile, configs: nofile.configs.map((c) => (c === fix ? broken : c)) }).headlines.map((h) => h.lead);
    expect(leads.some((lead) => lead.startsWith('Not decided across '))).toBe(true);
    expect(leads.some((lead) => lead.startsWith('Not as expected'))).toBe(false);
  });

  it('counts only decided configurations toward not reproduced', () => {
    const survived = {
      ...fixture('nofile-oom').configs.find((c) => c.outcome === 'survived')!,
      axes: production.axes,
      expected: production.expected,
      because: production.because,
      id: `${production.id}-2`,
    };
    const [first] = answerOf({ ...report, configs: [cancelled, { ...survived, verdict: 'fail' as const }] }).headlines;
    expect(first!.lead).toBe('Not reproduced:');
    expect(text(first!)).toContain('in 0 of 1 configuration');
  });
});
