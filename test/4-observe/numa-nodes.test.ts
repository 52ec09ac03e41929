import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { nodeFreeMetric, parseNodeList, parseNodeMeminfo, parseNumaStat, readNodeMemory, startNumaSampler, Timeline } from '../../src/4-observe/index.ts';
import type { NodeAccess } from '../../src/3-runtime/index.ts';

const fixture = (name: string) => readFileSync(`test/fixtures/numa/${name}`, 'utf8');

/** A node whose /sys holds the recorded files: what a lab guest's agent served. */
function recordedNode(files: Record<string, string>): NodeAccess {
  return { readFile: async (path) => files[path], kernelLog: async () => '' };
}

const thisHost: NodeAccess = { readFile: (path) => readFile(path, 'utf8').catch(() => undefined), kernelLog: async () => '' };

describe('parseNodeList', () => {
  it('reads the kernel lists of nodes', () => {
    expect(parseNodeList('0\n')).toEqual([0]);
    expect(parseNodeList('0-1\n')).toEqual([0, 1]);
    expect(parseNodeList('0,2-3')).toEqual([0, 2, 3]);
    expect(parseNodeList('')).toEqual([]);
  });
});

describe('parseNodeMeminfo', () => {
  it("reads a node's total and free memory from this host's meminfo", () => {
    expect(parseNodeMeminfo(fixture('host-node0-meminfo.txt'))).toEqual({ node: 0, totalBytes: 24_683_784 * 1024, freeBytes: 17_471_040 * 1024 });
  });

  it("reads a lab guest's two unequal nodes (numa2-uneven) after boot and while a burst held node 1 at its low watermark", () => {
    expect(parseNodeMeminfo(fixture('guest-node0-meminfo-boot.txt'))).toEqual({ node: 0, totalBytes: 2_533_756 * 1024, freeBytes: 1_830_952 * 1024 });
    expect(parseNodeMeminfo(fixture('guest-node1-meminfo-boot.txt'))).toEqual({ node: 1, totalBytes: 963_248 * 1024, freeBytes: 747_548 * 1024 });
    expect(parseNodeMeminfo(fixture('guest-node1-meminfo-burst.txt'))).toEqual({ node: 1, totalBytes: 963_248 * 1024, freeBytes: 32_772 * 1024 });
  });

  it('gives undefined for text that is not a node meminfo', () => {
    expect(parseNodeMeminfo('MemTotal:       24683784 kB\nMemFree:        17471040 kB\n')).toBeUndefined();
  });
});

describe('parseNumaStat', () => {
  it("reads a guest's numastat: node 0 took the pages meant for node 1 (numa_miss), and interleaving hit both", () => {
    expect(parseNumaStat(fixture('guest-node0-numastat-burst.txt'))).toMatchObject({ numa_miss: 459_370, interleave_hit: 344_219 });
    expect(parseNumaStat(fixture('guest-node1-numastat-burst.txt'))).toMatchObject({ numa_miss: 0, interleave_hit: 127_470 });
  });

  it("reads a node's numastat counters", () => {
    expect(parseNumaStat(fixture('host-node0-numastat.txt'))).toMatchObject({ numa_miss: 0, numa_foreign: 0, other_node: 0 });
    expect(Object.keys(parseNumaStat(fixture('host-node0-numastat.txt')))).toEqual(['numa_hit', 'numa_miss', 'numa_foreign', 'interleave_hit', 'local_node', 'other_node']);
  });
});

describe('readNodeMemory', () => {
  it("reads every online node of a guest's recorded /sys", async () => {
    const guest = recordedNode({
      '/sys/devices/system/node/online': fixture('guest-online.txt'),
      '/sys/devices/system/node/node0/meminfo': fixture('guest-node0-meminfo-burst.txt'),
      '/sys/devices/system/node/node1/meminfo': fixture('guest-node1-meminfo-burst.txt'),
    });
    expect((await readNodeMemory(guest)).map(({ node, freeBytes }) => [node, freeBytes / 1024])).toEqual([
      [0, 1_177_372],
      [1, 32_772],
    ]);
  });

  it("reads this host's one node through NodeAccess", async () => {
    const nodes = await readNodeMemory(thisHost);
    expect(nodes.map((n) => n.node)).toEqual([0]);
    expect(nodes[0]!.freeBytes).toBeGreaterThan(0);
    expect(nodes[0]!.freeBytes).toBeLessThan(nodes[0]!.totalBytes);
  });
});

describe('startNumaSampler', () => {
  it('files each node free memory under one instance, and numa_miss per second from the second sample on', async () => {
    let free = 1_000;
    let miss = 10;
    const node: NodeAccess = {
      readFile: async (path) =>
        ({
          '/sys/devices/system/node/online': '0-1\n',
          '/sys/devices/system/node/node0/meminfo': `Node 0 MemTotal:       2000 kB\nNode 0 MemFree:        ${free} kB\n`,
          '/sys/devices/system/node/node1/meminfo': 'Node 1 MemTotal:       1000 kB\nNode 1 MemFree:        20 kB\n',
          '/sys/devices/system/node/node0/numastat': 'numa_hit 5\nnuma_miss 0\ninterleave_hit 0\n',
          '/sys/devices/system/node/node1/numastat': `numa_hit 5\nnuma_miss ${(miss += 10)}\ninterleave_hit 0\n`,
        })[path],
      kernelLog: async () => '',
    };
    const timeline = new Timeline();
    const sampler = await startNumaSampler({ node, timeline, instance: 'a', intervalMs: 20 });
    free = 500;
    await new Promise((resolve) => setTimeout(resolve, 70));
    await sampler.stop();
    const samples = timeline.of('sample', 'a');
    expect(samples[0]).toMatchObject({ source: 'host', metric: nodeFreeMetric(0), value: 1_000 * 1024 });
    expect(samples[1]).toMatchObject({ source: 'host', metric: 'node1FreeBytes', value: 20 * 1024 });
    expect(samples.some((s) => s.metric === 'node0FreeBytes' && s.value === 500 * 1024)).toBe(true);
    expect(samples.find((s) => s.metric === 'node1_numa_missPerSecond')?.value).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.metric))).toEqual(
      new Set(['node0FreeBytes', 'node1FreeBytes', 'node0_numa_missPerSecond', 'node1_numa_missPerSecond', 'node0_interleave_hitPerSecond', 'node1_interleave_hitPerSecond']),
    );
  });

  it('reads a node without NUMA files as none', async () => {
    expect(await readNodeMemory(recordedNode({}))).toEqual([]);
  });
});
