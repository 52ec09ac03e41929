// Production's kill beside the lab's, on a recorded run (report-nofile-oom.json: MariaDB 10.11 killed at
// start-up in 1 GiB) and the seed's own kill line (incident 1, mysqld in a 4G Deployment).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProductionKill, RunReport } from '../../src/0-model/index.ts';
import { othersAtKill, parseOomReports, serverKill } from '../../src/2-plan/index.ts';
import { parseKernelOomKills } from '../../src/4-observe/index.ts';
import { labSignatureContext, matchSignature } from '../../src/6-judge/index.ts';
import { signatureMarkdown } from '../../src/7-report/signature.ts';

const report = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'report-nofile-oom.json'), 'utf8')) as RunReport;
const killed = report.configs.filter((c) => c.outcome === 'oom-killed-at-startup');
const SEED_LINE = 'Memory cgroup out of memory: Killed process 34888 (mysqld) total-vm:16832960kB, anon-rss:3895388kB, file-rss:1320kB, shmem-rss:0kB';

describe('matchSignature', () => {
  it('reproduced: the same scope, phase and anon-rss within 10 % under the same limit; the file-table total-vm decides too', () => {
    const production: ProductionKill = { instance: 'db', process: 'mariadbd', scope: 'memcg', anonRssKb: 1_000_000, totalVmKb: 16_832_960, limitBytes: 1024 ** 3, phase: 'start-up' };
    const match = matchSignature(production, killed);
    expect(match.verdict).toBe('reproduced');
    expect(match.rows.map((r) => [r.figure, r.match, r.decisive])).toEqual([
      ['process', 'same', false],
      ['scope', 'same', true],
      ['anon-rss', 'same', true],
      ['total-vm', 'same', true],
      ['phase', 'same', true],
    ]);
  });

  it("partly: the seed's mysqld in 4G against the lab's mariadbd in 1 GiB; total-vm the same 16 GiB, but a kill at another size is not production's", () => {
    const production: ProductionKill = {
      instance: 'db',
      process: 'mysqld',
      scope: 'memcg',
      anonRssKb: 3_895_388,
      totalVmKb: 16_832_960,
      limitBytes: 4e9,
      oomScoreAdj: -998,
      phase: 'start-up',
      line: SEED_LINE,
    };
    const match = matchSignature(production, killed);
    // Once "Reproduced", with anon-rss 73 % apart behind a not-decisive note: the headline hid the gap.
    expect(match.verdict).toBe('partly');
    const anon = match.rows.find((r) => r.figure === 'anon-rss')!;
    expect(anon).toMatchObject({ match: 'differs', decisive: true });
    expect(match.summary).toContain("anon-rss 1,046,016 kB against production's 3,895,388 kB (73.1 % apart, under a limit of 1 GiB against production's 3.7 GiB: the lab's kill came at another size)");
    expect(match.rows.filter((r) => r.match === 'same').map((r) => r.figure)).toEqual(['scope', 'total-vm', 'phase']);
    expect(match.rows.find((r) => r.figure === 'process')).toMatchObject({ match: 'differs', decisive: false });
    // The lab's kill line ends `oom_score_adj:0` (a 5.x kernel): read, set beside production's -998, and not decisive.
    expect(match.rows.find((r) => r.figure === 'oom_score_adj')).toMatchObject({ production: '-998', lab: '0', match: 'differs', decisive: false });
    expect(signatureMarkdown({ ...report, signature: match }).slice(0, 3)).toEqual([`## Partly reproduced: production's kill beside the lab's`, '', match.summary]);
    // Where production's limit is unknown, anon-rss has nothing to be weighed against: the file table decides alone.
    const { limitBytes: _, ...unlimited } = production;
    const open = matchSignature(unlimited, killed);
    expect(open.verdict).toBe('reproduced');
    expect(open.rows.find((r) => r.figure === 'anon-rss')).toMatchObject({ match: 'differs', decisive: false, note: "73.1 % apart (production's limit is unknown: not decisive)" });
    // Under another limit but within 10 %: nothing is hidden, and the figure does not decide.
    const near = matchSignature({ ...production, anonRssKb: 1_000_000 }, killed);
    expect(near.verdict).toBe('reproduced');
    expect(near.rows.find((r) => r.figure === 'anon-rss')).toMatchObject({ match: 'same', decisive: false, note: '4.6 % apart (the limits differ: not decisive)' });
  });

  it("does not take a server's own terabyte reservation for the file table: MariaDB 10.11's total-vm under load is not decisive", () => {
    // total-vm:8591665136kB: MariaDB 10.11 OOM-killed under load in this project's scraping-burst run (report-scraping-burst.json).
    const production: ProductionKill = { instance: 'db', process: 'mariadbd', scope: 'memcg', totalVmKb: 8_591_665_136, phase: 'start-up' };
    expect(matchSignature(production, killed).rows.find((r) => r.figure === 'total-vm')).toMatchObject({ match: 'differs', decisive: false });
  });

  it('partly when a decisive figure differs or the scope does, not reproduced when nothing was killed', () => {
    const base: ProductionKill = { instance: 'db', process: 'mariadbd', scope: 'memcg', anonRssKb: 700_000, limitBytes: 1024 ** 3, phase: 'start-up' };
    expect(matchSignature(base, killed)).toMatchObject({ verdict: 'partly' });
    expect(matchSignature(base, killed).summary).toContain("anon-rss 1,046,016 kB against production's 700,000 kB");
    const global = matchSignature({ ...base, anonRssKb: 1_046_016, scope: 'global' }, killed);
    expect(global).toMatchObject({ verdict: 'partly' });
    expect(global.summary).toContain(
      "scope memcg against production's global (production's whole machine ran out; here a container's limit of the same size stands in for it (--host lab gives a machine of its own))",
    );
    const survivors = report.configs.filter((c) => c.outcome === 'survived');
    expect(matchSignature(base, survivors)).toMatchObject({ verdict: 'not-reproduced', rows: [] });
    // A newcomer's lab run: production's configuration ended in error (its steps lost the guest's engine) and the
    // report said "Not reproduced". A run that decided nothing is no evidence either way.
    const errored = {
      ...killed[0]!,
      axes: { ...killed[0]!.axes, fix: 'production' },
      verdict: 'error' as const,
      outcome: null,
      reason: 'a step of the timeline failed: step "neighbour-5" (neighbour) failed: socket hang up',
      observations: killed[0]!.observations.filter((o) => o.kind !== 'kernel-oom'),
    };
    const undecided = matchSignature(base, [errored]);
    expect(undecided.verdict).toBe('not-decided');
    expect(undecided.summary).toBe(
      `Not decided: ${killed[0]!.id} ended without a verdict (a step of the timeline failed: step "neighbour-5" (neighbour) failed: socket hang up), and db was not OOM-killed before it; run it again.`,
    );
    expect(matchSignature(base, [])).toMatchObject({ verdict: 'not-decided', summary: 'Not decided: no configuration ran.' });
  });

  // The lab's kill as a global OOM prints it (CONSTRAINT_NONE, global_oom): the recorded memcg kill with its constraint changed.
  const globalKilled = killed.map((c) => ({
    ...c,
    metrics: { ...c.metrics, memoryLimitBytes: undefined },
    observations: c.observations.map((o) => (o.kind === 'kernel-oom' ? { ...o, constraint: 'CONSTRAINT_NONE' } : o)),
  }));
  const bitnami: ProductionKill = { instance: 'db', process: 'mysqld', scope: 'global', constraint: 'CONSTRAINT_NONE', anonRssKb: 1_000_000, limitBytes: 2 * 1024 ** 3, phase: 'unknown' };

  it("reproduced: a global kill in a lab VM of production's machine size, anon-rss within 10 %; mysqld against mariadbd does not decide", () => {
    const match = matchSignature(bitnami, globalKilled, { labMemoryBytes: 2 * 1024 ** 3 });
    expect(match.verdict).toBe('reproduced');
    expect(match.rows.map((r) => [r.figure, r.match, r.decisive])).toEqual([
      ['process', 'differs', false],
      ['scope', 'same', true],
      ['anon-rss', 'same', true],
      ['other processes', 'unknown', false],
      ['phase', 'unknown', false],
    ]);
    expect(match.summary).toBe(
      `Reproduced by ${killed[0]!.id}: scope, anon-rss as in production; process differs (does not decide: the same server family under another name, the lab image runs the other of MySQL and MariaDB).`,
    );
    expect(match.rows.find((r) => r.figure === 'scope')?.note).toBe("the whole machine ran out in both: production's and the lab VM's");
    expect(match.rows.find((r) => r.figure === 'anon-rss')?.note).toBe("4.6 % apart, in a lab VM of production's machine size");
  });

  it("does not count an anon-rss the scenario sized the server to: a newcomer's neighbours run read 'Reproduced' on a figure it had put in", () => {
    const match = matchSignature({ ...bitnami, anonRssSizedTo: true }, globalKilled, { labMemoryBytes: 2 * 1024 ** 3 });
    expect(match.rows.find((r) => r.figure === 'anon-rss')).toMatchObject({
      match: 'same',
      decisive: false,
      note: "4.6 % apart: not decisive, the scenario sized the server's pool to hold production's anon-rss, so this figure is an input, not a finding",
    });
    expect(match.verdict).toBe('reproduced');
    expect(match.summary).toContain(': scope as in production;');
    // Sized to it and still far off is shown, and does not decide either.
    const above = matchSignature({ ...bitnami, anonRssKb: 700_000, anonRssSizedTo: true }, globalKilled, { labMemoryBytes: 2 * 1024 ** 3 });
    expect(above.verdict).toBe('reproduced');
    // It says the sizing missed instead of calling the figure an input it never became (a newcomer's t1.micro: MariaDB
    // 10.11's smallest server held 106,584 kB against production's whole 86,132 kB mysqld).
    expect(above.rows.find((r) => r.figure === 'anon-rss')?.note).toBe(
      "49.4 % apart: not decisive, and the sizing missed: the scenario sized the server's pool to hold production's anon-rss, but the lab's server held more when killed (a smallest pool and its own start-up are above production's whole server)",
    );
    expect(matchSignature({ ...bitnami, anonRssKb: 1_500_000, anonRssSizedTo: true }, globalKilled, { labMemoryBytes: 2 * 1024 ** 3 }).rows.find((r) => r.figure === 'anon-rss')?.note).toContain(
      "but the lab's server was killed before it held that much",
    );
  });

  it("weighs a global kill's anon-rss against the room the lab VM left (room=): a match is an input, a miss decides", () => {
    const lab = {
      host: 'lab,memory=2048m,room=977m',
      shape: 'default',
      accel: 'tcg',
      accelWhy: 'test',
      bootMs: 1,
      timeScale: 4,
      vcpus: 2,
      memoryMiB: 2048,
      cgroup: 'v2',
      overcommitMemory: 0,
    } as const;
    // The room the run had is what MemAvailable read after the ballast; with no ballast, all the guest had.
    expect(labSignatureContext({ ...lab, room: { roomMiB: 977, availableMiB: 1800, ballastMiB: 813, leftMiB: 975 } })).toEqual({ labMemoryBytes: 2048 * 1024 ** 2, labRoomBytes: 975 * 1024 ** 2 });
    expect(labSignatureContext({ ...lab, room: { roomMiB: 977, availableMiB: 900, ballastMiB: 0, leftMiB: 900, why: 'the guest had only 900 MiB available' } }).labRoomBytes).toBe(900 * 1024 ** 2);
    expect(labSignatureContext(lab)).toEqual({ labMemoryBytes: 2048 * 1024 ** 2 });
    const context = { labMemoryBytes: 2048 * 1024 ** 2, labRoomBytes: 977 * 1024 ** 2 };
    const met = matchSignature(bitnami, globalKilled, context);
    expect(met.rows.find((r) => r.figure === 'anon-rss')).toEqual({
      figure: 'anon-rss',
      production: '1,000,000 kB',
      lab: '1,046,016 kB',
      match: 'same',
      decisive: false,
      note: "4.6 % apart: not decisive, the lab VM left the server 977 MiB (a ballast held the rest), production's machine less what else it held at this kill, so the size is an input; it shows the server filled that room with anonymous memory",
    });
    expect(met.verdict).toBe('reproduced');
    // The same room, and the lab's server killed far from it: the kill came at another size, which decides.
    const missed = matchSignature({ ...bitnami, anonRssKb: 800_000 }, globalKilled, { ...context, labRoomBytes: 781 * 1024 ** 2 });
    expect(missed.rows.find((r) => r.figure === 'anon-rss')).toMatchObject({ match: 'differs', decisive: true });
    expect(missed.rows.find((r) => r.figure === 'anon-rss')?.note).toContain("the lab's kill came at another size (the server held more than the room)");
    expect(missed.verdict).toBe('partly');
    // A room that is not production's victim's (a user's own room=) is no budget of production's: the VM's size decides as before.
    const other = matchSignature(bitnami, globalKilled, { ...context, labRoomBytes: 1500 * 1024 ** 2 });
    expect(other.rows.find((r) => r.figure === 'anon-rss')?.note).toBe("4.6 % apart, in a lab VM of production's machine size");
  });

  it("sets what the other processes held beside a global kill's anon-rss: the lab guest's task table against production's, where it has one", () => {
    // A real global kill in a 16 GiB lab VM (lab:nofile, TCG; the containerd-7566 incident's scenario, 2026-12-07),
    // its OOM report as the guest's kernel printed it, and containerd#7566's own kill line, which has no task table.
    const labKill = parseKernelOomKills(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'dmesg-global-oom-mariadbd-16GiB-lab.txt'), 'utf8'));
    expect(labKill).toHaveLength(1);
    // systemd-journal 269, systemd-udevd 296, systemd-network 284, python3 (the agent) 2393, containerd 2127, dockerd 7477, containerd-shim 529 pages.
    expect(labKill[0]!.others).toEqual({
      rssKb: 13_375 * 4,
      count: 7,
      largest: [
        { name: 'dockerd', rssKb: 7477 * 4 },
        { name: 'python3', rssKb: 2393 * 4 },
        { name: 'containerd', rssKb: 2127 * 4 },
      ],
    });
    const k = labKill[0]!;
    const config = {
      ...globalKilled[0]!,
      observations: [
        {
          kind: 'kernel-oom' as const,
          t: 60_000,
          instance: 'db',
          process: k.process,
          pid: k.pid,
          totalVmKb: k.totalVmKb,
          anonRssKb: k.anonRssKb,
          constraint: k.constraint,
          memcg: k.memcg,
          line: k.line,
          others: k.others!,
        },
      ],
    };
    const containerd = parseOomReports(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'incidents', 'containerd-7566-nofile', 'kernel.log'), 'utf8'));
    expect(othersAtKill(serverKill(containerd)!)).toBeUndefined();
    const production: ProductionKill = { instance: 'db', process: 'mysqld', scope: 'global', anonRssKb: 15_376_132, totalVmKb: 16_827_684, phase: 'start-up' };
    const row = matchSignature(production, [config], { labMemoryBytes: 16 * 1024 ** 3 }).rows.find((r) => r.figure === 'other processes');
    expect(row).toEqual({
      figure: 'other processes',
      production: 'unknown: its kernel lines have no task table',
      lab: '52.2 MiB in 7 processes, the largest dockerd 29.2 MiB, python3 9.3 MiB, containerd 8.3 MiB',
      match: 'unknown',
      decisive: false,
      note: "the task table's other rows at the kill: production's are unknown, so a gap in anon-rss under the same machine size may be theirs",
    });
    // Production's table, where it has one, is set beside the lab's: 10 % apart or less reads the same, and never decides.
    const known = matchSignature({ ...production, othersRssKb: 50_000 }, [config], { labMemoryBytes: 16 * 1024 ** 3 });
    expect(known.rows.find((r) => r.figure === 'other processes')).toMatchObject({ production: '48.8 MiB', match: 'same', decisive: false });
    // A memcg kill on both sides has no such row: the cgroup, not the machine, was the budget.
    expect(matchSignature({ ...production, scope: 'memcg' }, killed).rows.some((r) => r.figure === 'other processes')).toBe(false);
  });

  it("partly: a global kill whose anon-rss is off by more than 10 %, in a VM of production's size, of another size, or of a size not known", () => {
    const far = matchSignature({ ...bitnami, anonRssKb: 424_876 }, globalKilled, { labMemoryBytes: 2 * 1024 ** 3 });
    expect(far.verdict).toBe('partly');
    expect(far.summary).toContain("anon-rss 1,046,016 kB against production's 424,876 kB (146.2 % apart, in a lab VM of production's machine size)");
    const notes = [
      "146.2 % apart, under a limit of 3 GiB against production's 2 GiB: the lab's kill came at another size",
      "146.2 % apart, under a limit not known against production's 2 GiB: the lab's kill came at another size",
    ];
    for (const [index, context] of [{ labMemoryBytes: 3 * 1024 ** 3 }, {}].entries()) {
      const other = matchSignature({ ...bitnami, anonRssKb: 424_876 }, globalKilled, context);
      expect(other.verdict).toBe('partly');
      expect(other.rows.find((r) => r.figure === 'anon-rss')).toMatchObject({ match: 'differs', decisive: true, note: notes[index] });
    }
  });
});
