import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectPostMortem, containerIdOfMemcg, parseKernelOomKills, Timeline, type KernelOomKill } from '../../src/4-observe/index.ts';
import type { StartedInstance } from '../../src/3-runtime/index.ts';

const DMESG = readFileSync(new URL('../fixtures/dmesg-memcg-oom-mariadbd-16GiB.txt', import.meta.url), 'utf8');
const KILLED = parseKernelOomKills(DMESG);
const CONTAINER = containerIdOfMemcg(KILLED[0]!.memcg)!;

/** An instance whose server was OOM-killed at start-up: exited, OOMKilled, a log tail. */
function killedInstance(): StartedInstance {
  return {
    spec: { name: 'db', image: 'oomlab/mariadb:10.11', memory: 1024 ** 3 },
    containerId: CONTAINER,
    hasExited: () => true,
    state: async () => ({ status: 'exited', running: false, oomKilled: true, exitCode: 137 }),
    logTail: async () => '2025-11-20 10:00:00 0 [Note] Starting MariaDB',
  } as unknown as StartedInstance;
}

async function postMortemOf(kills: Map<string, KernelOomKill[]>): Promise<{ timeline: Timeline; tails: string[] }> {
  const timeline = new Timeline(() => 0);
  const tails = await collectPostMortem({
    instances: [killedInstance()],
    timeline,
    dmesgReadable: true,
    samplers: new Map([['db', { stop: async () => 1_000_000_000 }]]),
    limitBytes: () => 1024 ** 3,
    bounded: (work) => work,
    kernelKills: async () => kills,
  });
  return { timeline, tails };
}

describe('collectPostMortem on a kill from a real kernel log', () => {
  it("records each kill once, with both of the kernel's lines", async () => {
    const { timeline } = await postMortemOf(new Map([[CONTAINER, KILLED]]));
    expect(timeline.of('kernel-oom')).toEqual([
      {
        kind: 'kernel-oom',
        t: 0,
        instance: 'db',
        process: 'mariadbd',
        pid: 18470,
        totalVmKb: 16827320,
        anonRssKb: 1046016,
        constraint: 'CONSTRAINT_MEMCG',
        memcg: `/docker/${CONTAINER}`,
        line: 'Memory cgroup out of memory: Killed process 18470 (mariadbd) total-vm:16827320kB, anon-rss:1046016kB, file-rss:684kB, shmem-rss:0kB, UID:0 pgtables:2172kB oom_score_adj:0',
        constraintLine: `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=${CONTAINER},mems_allowed=0,oom_memcg=/docker/${CONTAINER},task_memcg=/docker/${CONTAINER},task=mariadbd,pid=18470,uid=0`,
        // The task table listed only the victim: nothing else held the container's memory.
        others: { rssKb: 0, count: 0, largest: [] },
      },
    ]);
  });

  it("takes the kernel's memcg usage as the peak when the sampler saw less, its anon-rss as the anonymous peak, and keeps the state and the log tail", async () => {
    const { timeline, tails } = await postMortemOf(new Map([[CONTAINER, KILLED]]));
    expect(timeline.of('memory-peak')).toEqual([
      { kind: 'memory-peak', t: 0, instance: 'db', peakBytes: 1048532 * 1024, limitBytes: 1024 ** 3, source: 'kernel memcg report', anonPeakBytes: 1046016 * 1024 },
    ]);
    expect(timeline.of('container-state')).toEqual([{ kind: 'container-state', t: 0, instance: 'db', status: 'exited', oomKilled: true, exitCode: 137 }]);
    expect(tails).toEqual(['2025-11-20 10:00:00 0 [Note] Starting MariaDB']);
  });

  it("puts the kill at the kernel's own time on the configuration's timeline, before the post-mortem read it", async () => {
    const timeline = new Timeline(() => 1_000_000);
    await collectPostMortem({
      instances: [killedInstance()],
      timeline,
      dmesgReadable: true,
      samplers: new Map([['db', { stop: async () => 1_000_000_000 }]]),
      limitBytes: () => 1024 ** 3,
      bounded: (work) => work,
      kernelKills: async () => new Map([[CONTAINER, [{ ...KILLED[0]!, atMs: 1_012_345 }]]]),
    });
    expect(timeline.of('kernel-oom').map((o) => o.t)).toEqual([12_345]);
  });

  it('says so when the kernel log cannot be read', async () => {
    const timeline = new Timeline(() => 0);
    await collectPostMortem({
      instances: [killedInstance()],
      timeline,
      dmesgReadable: false,
      samplers: new Map([['db', { stop: async () => undefined }]]),
      limitBytes: () => undefined,
      bounded: (w) => w,
    });
    expect(timeline.of('observer-unavailable')).toEqual([{ kind: 'observer-unavailable', t: 0, observer: 'kernel-log', reason: 'dmesg is not readable (run as root or set kernel.dmesg_restrict=0)' }]);
    expect(timeline.of('kernel-oom')).toEqual([]);
  });
});
