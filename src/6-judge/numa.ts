// Incident 2's NUMA claim: the replica is OOM-killed because the nodes it may use ran out, while another
// node still had memory. The nodes it was confined to come from the kernel's own line (`mems_allowed=` of
// a cpuset, `nodemask=` of a memory policy); the free memory from the per-node sampler, last before the kill.
import type { Expectation } from '../1-scenario/index.ts';
import { nodeOfFreeMetric, parseNodeList, type Observation, type ObservationOf } from '../4-observe/index.ts';
import type { ExpectationCheck } from '../0-model/report.ts';
import { check } from './load-expectations.ts';

const MIB = 1024 * 1024;
const KERNEL_CONSTRAINTS = { cpuset: 'CONSTRAINT_CPUSET', 'memory-policy': 'CONSTRAINT_MEMORY_POLICY' } as const;

/** The nodes the kernel says the killed task could use: `mems_allowed=1` (a cpuset) or `nodemask=0-1` (a memory policy). */
export function confinedNodes(constraintLine: string | undefined, constraint: 'cpuset' | 'memory-policy'): number[] | undefined {
  const field = constraint === 'cpuset' ? 'mems_allowed' : 'nodemask';
  const value = new RegExp(`\\b${field}=([0-9,-]+)`).exec(constraintLine ?? '')?.[1];
  return value === undefined ? undefined : parseNodeList(value);
}

/** The last sample of each node's free memory at or before `t`, over every instance's host samples. */
function nodesFreeAt(observations: readonly Observation[], t: number): Map<number, number> {
  const latest = new Map<number, { t: number; value: number }>();
  for (const o of observations) {
    if (o.kind !== 'sample' || o.source !== 'host' || o.t > t) continue;
    const node = nodeOfFreeMetric(o.metric);
    if (node === undefined) continue;
    const seen = latest.get(node);
    if (!seen || o.t >= seen.t) latest.set(node, { t: o.t, value: o.value });
  }
  return new Map([...latest].map(([node, { value }]) => [node, value]));
}

/** `numaKill`: the constraint the kernel named, then one line per node outside its nodemask, free memory at the kill against the bound. */
export function judgeNumaKill(instance: string, expectation: Expectation | undefined, observations: readonly Observation[]): ExpectationCheck[] {
  const claim = expectation?.numaKill;
  if (!claim) return [];
  const because = expectation.because ? { because: expectation.because } : {};
  const wanted = KERNEL_CONSTRAINTS[claim.constraint];
  const expected = `${instance} OOM-killed with ${wanted}`;
  const base = { expected, source: 'kernel', ...because };
  const mine = observations.filter((o) => 'instance' in o && o.instance === instance);
  const kill = mine.find((o): o is ObservationOf<'kernel-oom'> => o.kind === 'kernel-oom');
  if (!kill) return [{ ...base, met: false, line: `${expected}: the kernel log has no OOM kill of ${instance}` }];
  if (kill.constraint !== wanted) return [{ ...base, met: false, line: `${expected}: the kernel said ${kill.constraint}${kill.constraintLine ? ` (${kill.constraintLine})` : ''}` }];
  const confined = confinedNodes(kill.constraintLine, claim.constraint) ?? [];
  const checks: ExpectationCheck[] = [{ ...base, met: true, line: `${instance} OOM-killed with ${wanted}, confined to node ${confined.join(',') || '?'}` }];
  // The kernel's lines carry no time: the engine's oom or die event says when.
  const killedAt = mine.find((o) => o.kind === 'docker-event' && o.action === 'oom')?.t ?? mine.find((o) => o.kind === 'docker-event' && o.action === 'die')?.t;
  const free = killedAt !== undefined ? nodesFreeAt(observations, killedAt) : new Map<number, number>();
  const others = [...free.keys()].filter((node) => !confined.includes(node)).sort((a, b) => a - b);
  const boundMiB = claim.otherNodesFreeAtLeast / MIB;
  const claimOf = (node?: number) => ({
    label: node === undefined ? 'other nodes free at the kill' : `node ${node} free at the kill`,
    operator: '>=' as const,
    bound: boundMiB,
    unit: ' MiB',
    source: 'numa',
    ...because,
  });
  if (others.length === 0) {
    const why = killedAt === undefined ? 'no kill time' : free.size === 0 ? 'no per-node sample before the kill' : `only node ${[...free.keys()].join(',')} sampled`;
    return [...checks, check(claimOf(), undefined, `not measured (${why})`)];
  }
  for (const node of others) checks.push(check(claimOf(node), Math.round((free.get(node)! / MIB) * 10) / 10));
  return checks;
}
