import { describe, expect, it } from 'vitest';
import { peakMemoryText } from '../../src/0-model/figures.ts';
import { readFileSync } from 'node:fs';
import type { RunReport } from '../../src/0-model/report.ts';
import { classifyOutcome, judgeInstance } from '../../src/6-judge/index.ts';
import type { Observation } from '../../src/4-observe/index.ts';
import type { Expectation } from '../../src/1-scenario/index.ts';

const KILLED_LINE = 'Memory cgroup out of memory: Killed process 18470 (mariadbd) total-vm:16827320kB, anon-rss:1046016kB, file-rss:684kB, shmem-rss:0kB, UID:0 pgtables:2172kB oom_score_adj:0';

const nofile: Observation = { kind: 'nofile', t: 0, instance: 'db', requested: 1073741816, realLimit: 20000, emulated: true };
const readyAfter = (afterMs: number): Observation => ({ kind: 'readiness', t: afterMs, instance: 'db', ready: true, afterMs, why: 'ping' });
const notReady = (why: string): Observation => ({ kind: 'readiness', t: 60_000, instance: 'db', ready: false, afterMs: 60_000, why });
const state = (status: string, oomKilled: boolean, exitCode: number): Observation => ({ kind: 'container-state', t: 61_000, instance: 'db', status, oomKilled, exitCode });
const oomEvent: Observation = { kind: 'docker-event', t: 900, instance: 'db', action: 'oom' };
const dieEvent: Observation = { kind: 'docker-event', t: 901, instance: 'db', action: 'die', exitCode: 137 };
const startEvent: Observation = { kind: 'docker-event', t: 10, instance: 'db', action: 'start' };
const kernelKill: Observation = {
  kind: 'kernel-oom',
  t: 61_500,
  instance: 'db',
  process: 'mariadbd',
  pid: 18470,
  totalVmKb: 16827320,
  anonRssKb: 1046016,
  constraint: 'CONSTRAINT_MEMCG',
  memcg: '/docker/6457a0ad443a405b3eaea5ad15c3e65b962c461e182c2fd699cd7f6ed71759d3',
  line: KILLED_LINE,
};
const variables = (openFilesLimit: string): Observation => ({
  kind: 'server-variables',
  t: 5_000,
  instance: 'db',
  variables: { open_files_limit: openFilesLimit, version: '10.11.6-MariaDB-0+deb12u1' },
});
const peak = (peakBytes: number, limitBytes?: number): Observation => ({
  kind: 'memory-peak',
  t: 62_000,
  instance: 'db',
  peakBytes,
  ...(limitBytes ? { limitBytes } : {}),
  source: 'cgroup',
});

const oomKilledAtStartup: Observation[] = [nofile, startEvent, oomEvent, dieEvent, notReady('exited'), state('exited', true, 137), kernelKill, peak(1073709056, 1073741824)];
const survivedWith = (openFilesLimit: string): Observation[] => [nofile, startEvent, readyAfter(4_200), variables(openFilesLimit), state('running', false, 0), peak(209715200, 4294967296)];

describe('classifyOutcome', () => {
  it('OOMKilled without readiness is oom-killed-at-startup', () => {
    expect(classifyOutcome([state('exited', true, 137)])).toBe('oom-killed-at-startup');
  });

  it('OOMKilled after the server answered a ping is oom-killed-under-load', () => {
    expect(classifyOutcome([readyAfter(3_000), state('exited', true, 137)])).toBe('oom-killed-under-load');
  });

  it('a kernel OOM line alone is an OOM kill, even when docker missed it', () => {
    expect(classifyOutcome([notReady('exited'), state('exited', false, 137), kernelKill])).toBe('oom-killed-at-startup');
  });

  it('a docker oom event of a container that is no longer running is an OOM kill', () => {
    expect(classifyOutcome([oomEvent, state('exited', false, 137)])).toBe('oom-killed-at-startup');
  });

  it('a docker oom event of a container still running is not an OOM kill', () => {
    expect(classifyOutcome([readyAfter(1_000), oomEvent, state('running', false, 0)])).toBe('survived');
  });

  it('exited non-zero without an OOM is crashed', () => {
    expect(classifyOutcome([readyAfter(1_000), state('exited', false, 1)])).toBe('crashed');
    expect(classifyOutcome([notReady('exited')])).toBe('crashed');
  });

  it('not ready by the deadline is never-ready', () => {
    expect(classifyOutcome([notReady('timeout'), state('running', false, 0)])).toBe('never-ready');
  });

  it('ready and still running is survived', () => {
    expect(classifyOutcome([readyAfter(4_200), state('running', false, 0)])).toBe('survived');
  });

  it('the last container state decides', () => {
    expect(classifyOutcome([readyAfter(4_200), state('running', false, 0), state('exited', true, 137)])).toBe('oom-killed-under-load');
  });
});

describe('judgeInstance', () => {
  const expectOom: Expectation = { outcome: 'oom-killed-at-startup', because: '16 bytes × 1073741816 files = 16 GiB, above the memory limit' };
  const expectWrapperFix: Expectation = { outcome: 'survived', openFilesLimit: { atMost: 4096 } };

  it('passes when the outcome is the expected one, and says why', () => {
    const judgement = judgeInstance('db', expectOom, oomKilledAtStartup);
    expect(judgement.outcome).toBe('oom-killed-at-startup');
    expect(judgement.verdict).toBe('pass');
    expect(judgement.reason).toBe('oom-killed-at-startup, as expected: 16 bytes × 1073741816 files = 16 GiB, above the memory limit');
  });

  it('keeps the open_files_limit read once ready for a server killed under load, and lists only the last reading', () => {
    // The post-mortem has nothing to read from a dead server: the reading taken at readiness is what stands.
    const killedUnderLoad = [nofile, startEvent, readyAfter(4_200), variables('1073741816'), state('exited', true, 137), kernelKill];
    expect(judgeInstance('db', expectOom, killedUnderLoad).openFilesLimit).toBe(1073741816);
    const readTwice = judgeInstance('db', { outcome: 'survived' }, [...survivedWith('4096'), { ...variables('4096'), t: 70_000 }]);
    expect(readTwice.evidence.filter((e) => e.text.startsWith('@@open_files_limit'))).toHaveLength(1);
  });

  it('fails with the exact reason when the outcome differs', () => {
    const judgement = judgeInstance('db', { outcome: 'oom-killed-at-startup' }, survivedWith('4096'));
    expect(judgement.verdict).toBe('fail');
    expect(judgement.reason).toBe('expected oom-killed-at-startup, got survived');
  });

  it('passes the wrapper fix when open_files_limit is within the bound', () => {
    const judgement = judgeInstance('db', expectWrapperFix, survivedWith('4096'));
    expect(judgement).toMatchObject({ verdict: 'pass', reason: 'survived, as expected', openFilesLimit: 4096 });
  });

  it('fails when open_files_limit is above atMost', () => {
    const judgement = judgeInstance('db', expectWrapperFix, survivedWith('20000'));
    expect(judgement.verdict).toBe('fail');
    expect(judgement.reason).toBe('open_files_limit 20000 > 4096');
    expect(judgement.openFilesLimit).toBe(20000);
  });

  it('fails when open_files_limit differs from equals', () => {
    const judgement = judgeInstance('db', { outcome: 'survived', openFilesLimit: { equals: 32184 } }, survivedWith('4096'));
    expect(judgement.reason).toBe('open_files_limit 4096 ≠ 32184');
  });

  it('fails when an open_files_limit is expected but was never read', () => {
    const judgement = judgeInstance('db', expectWrapperFix, [readyAfter(4_200), state('running', false, 0)]);
    expect(judgement).toMatchObject({ verdict: 'fail', reason: 'open_files_limit was not read' });
  });

  it('fails when peak memory reaches the bound, in readable units', () => {
    const judgement = judgeInstance('db', { outcome: 'survived', peakMemoryBelowBytes: 100 * 1024 ** 2 }, survivedWith('4096'));
    expect(judgement.verdict).toBe('fail');
    expect(judgement.reason).toBe('peak memory 200 MiB ≥ 100 MiB');
    expect(judgement).toMatchObject({ peakMemoryBytes: 209715200, memoryLimitBytes: 4294967296 });
  });

  it('joins every failure into the reason', () => {
    const judgement = judgeInstance('db', { outcome: 'oom-killed-at-startup', peakMemoryBelowBytes: 1024 }, survivedWith('4096'));
    expect(judgement.reason).toBe('expected oom-killed-at-startup, got survived; peak memory 200 MiB ≥ 1 KiB');
  });

  it('passes without an expectation and says so', () => {
    expect(judgeInstance('db', undefined, survivedWith('4096'))).toMatchObject({ verdict: 'pass', reason: 'survived (no expectation)' });
  });

  it('lists the kernel line first for an OOM kill, then the docker events and the state', () => {
    const { evidence } = judgeInstance('db', expectOom, oomKilledAtStartup);
    expect(evidence).toEqual([
      { source: 'kernel', text: KILLED_LINE },
      { source: 'docker-event', text: 'oom' },
      { source: 'docker-event', text: 'die exitCode=137' },
      { source: 'docker-inspect', text: 'State.Status=exited OOMKilled=true ExitCode=137' },
      { source: 'nofile', text: 'nofile 1073741816 emulated (real limit 20000, getrlimit shim)' },
      { source: 'cgroup', text: 'peak 1024 MiB of 1 GiB limit' },
      { source: 'readiness', text: 'not ready after 60000ms: exited' },
    ]);
  });

  it('gives one kill one evidence entry, the Killed process line first, then the oom-kill line that names the cgroup', () => {
    const constraintLine = 'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),task_memcg=/docker/6457a0ad443a405b3eaea5ad15c3e65b962c461e182c2fd699cd7f6ed71759d3,task=mariadbd,pid=18470,uid=0';
    const { evidence } = judgeInstance('db', expectOom, [state('exited', true, 137), { ...kernelKill, constraintLine } as Observation]);
    expect(evidence.filter((e) => e.source === 'kernel')).toEqual([{ source: 'kernel', text: `${KILLED_LINE}\n${constraintLine}` }]);
  });

  it('lists the server variables first for a survivor', () => {
    const { evidence } = judgeInstance('db', expectWrapperFix, survivedWith('4096'));
    expect(evidence[0]).toEqual({ source: 'server', text: '@@open_files_limit=4096 (10.11.6-MariaDB-0+deb12u1)' });
    expect(evidence[1]).toEqual({ source: 'readiness', text: 'answered a ping after 4200ms' });
    expect(evidence.some((e) => e.text === 'start')).toBe(false);
  });
});

describe("teardown's events", () => {
  // A recorded burst-oom survivor (test/fixtures/report-burst-oom.json): the post-mortem read it running at
  // 49.6 s, then the teardown removed it (kill at 49.9 s, die 137 at 50.0 s).
  const report = JSON.parse(readFileSync(new URL('../fixtures/report-burst-oom.json', import.meta.url), 'utf8')) as RunReport;
  const survivor = report.configs.find((c) => c.outcome === 'survived')!;

  it('are never listed as evidence', () => {
    const instance = survivor.instances[0]!.instance;
    const judged = judgeInstance(
      instance,
      { outcome: 'survived' },
      survivor.observations.filter((o) => !('instance' in o) || o.instance === instance),
    );
    expect(judged.outcome).toBe('survived');
    expect(judged.evidence.filter((e) => e.source === 'docker-event')).toEqual([]);
  });

  it('leave the events of a kill before the post-mortem as evidence', () => {
    const evidence = judgeInstance('db', { outcome: 'oom-killed-at-startup' }, oomKilledAtStartup).evidence;
    expect(evidence.filter((e) => e.source === 'docker-event').map((e) => e.text)).toEqual(['oom', 'die exitCode=137']);
  });
});

describe('the headline peak', () => {
  // The cgroup counts page cache up to the limit; the kill's anon-rss (a real kernel line) is what the OOM killer weighed.
  const split: Observation = {
    kind: 'memory-peak',
    t: 62_000,
    instance: 'db',
    peakBytes: 1073709056,
    limitBytes: 1073741824,
    source: 'cgroup',
    anonPeakBytes: 1046016 * 1024,
    cacheBytes: 27 * 2 ** 20,
  };

  it('is the anonymous memory, with the page cache beside it and the cgroup usage kept', () => {
    const judged = judgeInstance('db', { outcome: 'oom-killed-at-startup' }, [...oomKilledAtStartup.filter((o) => o.kind !== 'memory-peak'), split]);
    expect([judged.peakMemoryBytes, judged.peakCacheBytes, judged.peakUsageBytes]).toEqual([1046016 * 1024, 27 * 2 ** 20, 1073709056]);
    expect(judged.evidence.find((e) => e.source === 'cgroup')?.text).toBe('peak anon 1022 MiB of 1 GiB limit (+ 27 MiB page cache), cgroup usage peak 1024 MiB');
  });

  it('reads anon / limit with the page cache beside it, and a report from before the split as it was', () => {
    expect(peakMemoryText({ peakMemoryBytes: 1536 * 2 ** 20, peakCacheBytes: 512 * 2 ** 20, peakUsageBytes: 2 * 2 ** 30, memoryLimitBytes: 2 * 2 ** 30 })).toBe(
      '1.5 GiB anon / 2 GiB (+ 512 MiB page cache)',
    );
    expect(peakMemoryText({ peakMemoryBytes: 2 * 2 ** 30, memoryLimitBytes: 2 * 2 ** 30 })).toBe('2 GiB / 2 GiB');
  });
});

describe('bpftrace evidence', () => {
  const fixtureReport = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as RunReport;
  const ofInstance = (config: RunReport['configs'][number], instance: string) => config.observations.filter((o) => !('instance' in o) || o.instance === instance);
  const bpftrace = (evidence: readonly { source: string; text: string }[]) => evidence.filter((e) => e.source === 'bpftrace').map((e) => e.text);

  it('is one line for a configuration that was not killed at start-up', () => {
    // A recorded scraping-burst survivor: 152 traced calls, each its own evidence line before.
    const survivor = fixtureReport('report-scraping-burst.json').configs.find((c) => c.outcome === 'survived')!;
    const instance = survivor.observations.find((o) => o.kind === 'syscall')!.instance;
    const lines = bpftrace(judgeInstance(instance, undefined, ofInstance(survivor, instance)).evidence);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d+ traced calls \((mmap|brk|prlimit64) ×\d+(, (mmap|brk|prlimit64) ×\d+)*\), largest [\d.]+ [KMGT]iB; `traceEvidence: true` on the instance lists them$/);
  });

  it('lists every call where the scenario asks for it', () => {
    const survivor = fixtureReport('report-scraping-burst.json').configs.find((c) => c.outcome === 'survived')!;
    const instance = survivor.observations.find((o) => o.kind === 'syscall')!.instance;
    const calls = ofInstance(survivor, instance).filter((o) => o.kind === 'syscall').length;
    expect(bpftrace(judgeInstance(instance, undefined, ofInstance(survivor, instance), { listSyscalls: true }).evidence)).toHaveLength(calls);
  });

  it('lists every call of a kill at start-up', () => {
    const killed = fixtureReport('report-nofile-oom.json').configs.find((c) => c.outcome === 'oom-killed-at-startup')!;
    const instance = killed.instances[0]!.instance;
    const calls = ofInstance(killed, instance).filter((o) => o.kind === 'syscall');
    expect(bpftrace(judgeInstance(instance, undefined, ofInstance(killed, instance)).evidence)).toEqual(calls.map((c) => (c as { line: string }).line));
  });
});
