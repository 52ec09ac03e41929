import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { confinedNodes, judgeNumaKill } from '../../src/6-judge/index.ts';
import { parseKernelOomKills, type Observation } from '../../src/4-observe/index.ts';

const GIB = 1024 ** 3;
/** A real kill in a lab guest (numa2-uneven): mariadbd under docker --cpuset-mems=1, node 1 out of memory. */
const kill = parseKernelOomKills(readFileSync('test/fixtures/numa/dmesg-cpuset-oom-mariadbd-node1.txt', 'utf8'))[0]!;
const kernelOom: Observation = { kind: 'kernel-oom', t: 40_000, instance: 'a', ...kill };
const free = (t: number, node: number, kb: number): Observation => ({ kind: 'sample', t, instance: 'a', source: 'host', metric: `node${node}FreeBytes`, value: kb * 1024 });
const oomEvent: Observation = { kind: 'docker-event', t: 30_500, instance: 'a', action: 'oom' };
const expectation = { outcome: 'oom-killed-under-load' as const, numaKill: { constraint: 'cpuset' as const, otherNodesFreeAtLeast: GIB } };

describe('confinedNodes', () => {
  it("reads the nodes from the kernel's own line: mems_allowed of a cpuset, nodemask of a memory policy", () => {
    expect(confinedNodes(kill.constraintLine, 'cpuset')).toEqual([1]);
    expect(confinedNodes('oom-kill:constraint=CONSTRAINT_MEMORY_POLICY,nodemask=1,cpuset=/,mems_allowed=0-1,global_oom', 'memory-policy')).toEqual([1]);
    expect(confinedNodes(undefined, 'cpuset')).toBeUndefined();
  });
});

describe('judgeNumaKill', () => {
  it('holds with the constraint line and the other node free at the kill, read from the last sample before it', () => {
    // The guest's figures, 5 s apart, around the kill (numa2-uneven, docker --cpuset-mems=1).
    const observations = [free(25_000, 0, 1_771_420), free(25_000, 1, 35_416), free(30_000, 0, 1_771_196), free(30_000, 1, 33_484), oomEvent, free(35_000, 0, 1_797_224), kernelOom];
    expect(judgeNumaKill('a', expectation, observations)).toEqual([
      { expected: 'a OOM-killed with CONSTRAINT_CPUSET', source: 'kernel', met: true, line: 'a OOM-killed with CONSTRAINT_CPUSET, confined to node 1' },
      expect.objectContaining({ met: true, measured: 1729.7, source: 'numa', line: 'node 0 free at the kill 1730 MiB ≥ 1024 MiB' }),
    ]);
  });

  it('fails when the other node had less than the bound, saying by how much', () => {
    const [, other] = judgeNumaKill('a', expectation, [free(30_000, 0, 524_288), free(30_000, 1, 33_484), oomEvent, kernelOom]);
    expect(other).toMatchObject({ met: false, line: 'node 0 free at the kill 512 MiB < 1024 MiB (short by 512 MiB)' });
  });

  it("fails on another constraint, quoting the kernel's line", () => {
    const memcg: Observation = {
      ...(kernelOom as Extract<Observation, { kind: 'kernel-oom' }>),
      constraint: 'CONSTRAINT_MEMCG',
      constraintLine: 'oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null)',
    };
    expect(judgeNumaKill('a', expectation, [oomEvent, memcg])).toEqual([
      {
        expected: 'a OOM-killed with CONSTRAINT_CPUSET',
        source: 'kernel',
        met: false,
        line: 'a OOM-killed with CONSTRAINT_CPUSET: the kernel said CONSTRAINT_MEMCG (oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null))',
      },
    ]);
  });

  it('fails without a kernel line, and says when no node was sampled before the kill', () => {
    expect(judgeNumaKill('a', expectation, [oomEvent])[0]).toMatchObject({ met: false, line: 'a OOM-killed with CONSTRAINT_CPUSET: the kernel log has no OOM kill of a' });
    expect(judgeNumaKill('a', expectation, [oomEvent, kernelOom, free(31_000, 0, 1_797_224)])[1]).toMatchObject({
      met: false,
      line: 'other nodes free at the kill not measured (no per-node sample before the kill), expected ≥ 1024 MiB',
    });
  });

  it('says nothing without a numaKill expectation', () => {
    expect(judgeNumaKill('a', { outcome: 'survived' }, [kernelOom])).toEqual([]);
  });
});
