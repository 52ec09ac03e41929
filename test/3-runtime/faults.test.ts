import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildCommand, quotePosix } from '../../src/3-runtime/docker/container-shell.ts';
import { cachedBytes, cpuHogScript, cpusetSize, netemArgs, nftLossRuleset, restoreUpdate, swapFor } from '../../src/3-runtime/docker/faults/index.ts';
import { linesOf } from '../../src/3-runtime/docker/host-shell.ts';

describe('fault arguments', () => {
  it('netem takes delay, jitter and loss; a partition is loss 100%', () => {
    expect(netemArgs({ delay: 200, jitter: 50, loss: 10 })).toEqual(['delay', '200ms', '50ms', 'loss', '10%']);
    expect(netemArgs({ partition: true })).toEqual(['loss', '100%']);
    expect(nftLossRuleset(12.5)).toContain('oifname "eth0" numgen random mod 10000 < 1250 drop');
    expect(nftLossRuleset(100)).toContain('oifname "eth0" drop');
  });

  it('a new memory limit keeps the swap allowance the container had', () => {
    expect(swapFor({ Memory: 1024, MemorySwap: 1024 }, 512)).toBe(512);
    expect(swapFor({ Memory: 1024, MemorySwap: 1536 }, 512)).toBe(1024);
    expect(swapFor({ Memory: 1024, MemorySwap: -1 }, 512)).toBe(-1);
    expect(swapFor({ Memory: 0, MemorySwap: 0 }, 512)).toBe(512);
  });

  it('undo writes back the limits read before, an absent one as unlimited', () => {
    const before = { Memory: 1024, MemorySwap: 1024, NanoCpus: 0, CpuQuota: 0, CpuPeriod: 0 };
    expect(restoreUpdate(before, true, true)).toEqual({ Memory: 1024, MemorySwap: 1024, CpuQuota: -1 });
    expect(restoreUpdate({ ...before, Memory: 0, MemorySwap: 0, NanoCpus: 2e9 }, true, true)).toEqual({ Memory: -1, MemorySwap: -1, NanoCpus: 2e9 });
    expect(restoreUpdate({ ...before, CpuQuota: 50_000, CpuPeriod: 100_000 }, false, true)).toEqual({ CpuQuota: 50_000, CpuPeriod: 100_000 });
  });

  it('reads Cached from /proc/meminfo as captured on this host (head -6 /proc/meminfo)', () => {
    const meminfo = 'MemTotal:       24683664 kB\nMemFree:        16395044 kB\nMemAvailable:   16973500 kB\nBuffers:           27444 kB\nCached:           824636 kB\nSwapCached:            0 kB\n';
    expect(cachedBytes(meminfo)).toBe(824_636 * 1024);
    expect(cachedBytes('MemTotal: 1 kB\n')).toBeUndefined();
  });

  it('counts the CPUs of a cpuset and writes one loop per worker', () => {
    expect(cpusetSize('0')).toBe(1);
    expect(cpusetSize('0-3,6')).toBe(5);
    expect(cpuHogScript(2)).toBe('i=0; while [ $i -lt 2 ]; do (while :; do :; done) & i=$((i+1)); done; wait');
  });
});

describe('shell quoting', () => {
  const awkward = `it's "quoted" $HOME and\nspaced`;
  it('POSIX quoting survives dash as one word', () => {
    const command = buildCommand(Object.assign(['printf %s ', ''], { raw: ['printf %s ', ''] }) as unknown as TemplateStringsArray, [awkward], quotePosix);
    expect(command).toBe(`printf %s 'it'\\''s "quoted" $HOME and\nspaced'`);
    expect(execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' })).toBe(awkward);
  });

  it('arrays are one word each, safe words stay bare', () => {
    const pieces = Object.assign(['ls ', ''], { raw: ['ls ', ''] }) as unknown as TemplateStringsArray;
    expect(buildCommand(pieces, [['-l', 'a b', '']], quotePosix)).toBe(`ls -l 'a b' ''`);
  });

  it('splits output chunks into lines, without the newline zx adds at the end', () => {
    expect(linesOf('a\nb\n')).toEqual(['a', 'b']);
    expect(linesOf('\n')).toEqual([]);
    expect(linesOf('partial')).toEqual(['partial']);
  });
});
