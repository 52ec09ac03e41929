// How close each judgement came to going the other way, from the figures the judge already compares:
// peak memory against the limit (a side's members summed), open_files_limit against its bound, the
// load's claims against theirs, and for a kill how long before the load's end it came. A verdict that
// flaps across repeats has a narrow margin here first.
import type { Timeline } from '../4-observe/index.ts';
import type { PlannedConfig } from '../2-plan/index.ts';
import type { InstanceJudgement, Margin, OomKill } from '../0-model/judgement.ts';
import type { LoadWindow } from './outcome.ts';
import { NARROW_MARGIN } from '../0-model/judgement.ts';
export { isNarrow, NARROW_MARGIN } from '../0-model/judgement.ts';
import type { ExpectationCheck, SharedMemoryBudget } from '../0-model/report.ts';
import { formatBytes } from '../0-model/units.ts';
import { stepContainerText, stepKills, stepNeighboursText } from '../0-model/step-kills.ts';

type Observed = Pick<Timeline, 'of'>;

/** Figures as people read them: whole numbers from 100 up, else at most two decimals. */
export function formatFigure(value: number): string {
  return String(Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100);
}

export function margin(fields: Omit<Margin, 'relative'>): Margin {
  // Float noise (2 − 1.4 = 0.6000000000000001) would reach the report.
  const distance = Math.round(fields.distance * 1e6) / 1e6;
  const relative = fields.bound !== 0 ? distance / Math.abs(fields.bound) : distance;
  return { ...fields, distance, relative: Math.round(relative * 1000) / 1000 };
}

const seconds = (ms: number) => `${formatFigure(ms / 1000)} s`;

/** The side budget an instance belongs to, with its members: their sum is what the limit held. */
function sideOf(config: PlannedConfig, instance: string): { side: string; members: string[]; limitBytes: number } | undefined {
  const side = config.instances.find((spec) => spec.name === instance)?.side;
  const budget = side ? config.host?.sides?.[side] : undefined;
  if (!side || !budget) return undefined;
  return { side, members: config.instances.filter((spec) => spec.side === side).map((spec) => spec.name), limitBytes: budget.memory };
}

/**
 * The highest sum of the members' sampled memory (each member's latest sample at every sample time),
 * before the first of them died: what the side's budget actually held, where each member's own peak
 * alone (A's 893 MiB) hides the neighbour's 640 MiB beside it.
 */
export function sidePeak(
  timeline: Observed,
  members: readonly string[],
  metric: 'memoryUsageBytes' | 'memoryRssBytes' = 'memoryUsageBytes',
): { peakBytes: number; byMember: Record<string, number> } | undefined {
  const died = timeline.of('docker-event').filter((e) => members.includes(e.instance) && e.action === 'die');
  const before = died.length > 0 ? Math.min(...died.map((e) => e.t)) : Number.POSITIVE_INFINITY;
  const samples = members.flatMap((name) => timeline.of('sample', name).filter((s) => s.source === 'cgroup' && s.metric === metric && s.t < before)).sort((a, b) => a.t - b.t);
  const latest = new Map<string, number>();
  let best: { peakBytes: number; byMember: Record<string, number> } | undefined;
  for (const sample of samples) {
    latest.set(sample.instance, sample.value);
    if (latest.size < members.length) continue;
    const sum = [...latest.values()].reduce((a, b) => a + b, 0);
    if (!best || sum > best.peakBytes) best = { peakBytes: sum, byMember: Object.fromEntries(latest) };
  }
  return best;
}

/** Peak memory against the limit that decided an instance's outcome (the judge's: in force at the kill, else at the end). */
function memoryMargin(config: PlannedConfig, timeline: Observed, judgement: InstanceJudgement, shared: readonly SharedMemoryBudget[] = []): Margin | undefined {
  const limit = judgement.memoryLimitBytes;
  if (limit === undefined || judgement.peakMemoryBytes === undefined) return undefined;
  const killed = judgement.outcome.startsWith('oom-killed');
  // The members' sum counts where the side's budget is the limit in force; an own limit below it holds the instance alone.
  const inForce = timeline
    .of('limit', judgement.instance)
    .filter((o) => o.limitBytes === limit)
    .at(-1);
  const side = inForce && inForce.side === undefined ? undefined : sideOf(config, judgement.instance);
  if (killed) {
    // Under load the kill's margin is its time (killTimeMargin); at start-up, the model's start-up figure against the limit.
    if (judgement.outcome !== 'oom-killed-at-startup') return undefined;
    const prediction = config.predictions?.[judgement.instance];
    if (!prediction) return undefined;
    const startup = prediction.terms.filter((t) => t.phase !== 'per-connection').reduce((sum, t) => sum + t.bytes, 0);
    const whose = side ? `${side.side}'s budget` : 'its limit';
    const distance = Math.max(0, startup - limit);
    return margin({
      what: `${judgement.instance} start-up memory`,
      measured: startup,
      bound: limit,
      unit: 'bytes',
      held: false,
      distance,
      line: `${judgement.instance} killed at ${formatBytes(limit)}, ${whose}: the memory model puts its start-up at ${formatBytes(startup)}, ${formatBytes(distance)} over`,
    });
  }
  const budget = side ? shared.find((b) => b.side === side.side) : undefined;
  if (side && budget?.peakBytes !== undefined) return budgetMargin(timeline, judgement, { ...budget, peakBytes: budget.peakBytes });
  const members = side?.members ?? [judgement.instance];
  const own = judgement.peakUsageBytes ?? judgement.peakMemoryBytes;
  const usage = side ? sidePeak(timeline, members) : { peakBytes: own, byMember: { [judgement.instance]: own } };
  if (!usage) return undefined;
  // At the limit and alive: the kernel reclaimed page cache instead of killing; anonymous memory is what it could not reclaim.
  const anon = usage.peakBytes >= limit * (1 - NARROW_MARGIN) ? sidePeak(timeline, members, 'memoryRssBytes') : undefined;
  const peak = anon ?? usage;
  const label = side ? side.side : judgement.instance;
  // Steps' neighbours in the side were not measured here (a report without the budget's own cgroup): the sum lacks them.
  const unknown = budget?.steps?.length ? `, not counting ${stepNeighboursText(budget.steps)}` : '';
  const parts = side ? ` (${members.map((name) => `${name} ${formatBytes(peak.byMember[name] ?? 0)}`).join(' + ')}${unknown})` : '';
  const distance = Math.max(0, limit - peak.peakBytes);
  const figure = anon
    ? `peak ${formatBytes(usage.peakBytes)} of ${formatBytes(limit)} with page cache, anon (rss) ${formatBytes(peak.peakBytes)}`
    : `peak ${formatBytes(peak.peakBytes)} of ${formatBytes(limit)}`;
  return margin({
    what: `${label} ${anon ? 'anon memory' : 'peak memory'}`,
    measured: peak.peakBytes,
    bound: limit,
    unit: 'bytes',
    held: peak.peakBytes < limit,
    distance,
    line: `${label} ${figure}${parts}: ${formatBytes(distance)} short of the limit`,
  });
}

/**
 * A side measured in its own cgroup: its peak is every tenant's (the instances and the steps' neighbours), where the
 * members' sum misses what the steps started. At the limit, anonymous memory is what the kernel could not reclaim; a
 * tenant it killed there (a step's neighbour) says the budget ran out.
 */
function budgetMargin(timeline: Observed, judgement: InstanceJudgement, budget: SharedMemoryBudget & { peakBytes: number }): Margin {
  const limit = budget.limitBytes;
  const anon = budget.peakBytes >= limit * (1 - NARROW_MARGIN) ? budget.anonPeakBytes : undefined;
  const peak = anon ?? budget.peakBytes;
  const own = judgement.peakUsageBytes ?? judgement.peakMemoryBytes ?? 0;
  const figure =
    anon !== undefined ? `peak ${formatBytes(budget.peakBytes)} of ${formatBytes(limit)} with page cache, anon (rss) ${formatBytes(anon)}` : `peak ${formatBytes(peak)} of ${formatBytes(limit)}`;
  const others = budget.instances.filter((name) => name !== judgement.instance);
  const tenants = [...others, ...(budget.steps?.length ? [stepNeighboursText(budget.steps)] : [])];
  const parts = ` in its own cgroup (${judgement.instance} ${formatBytes(own)} at its own peak${tenants.length > 0 ? `; the rest ${tenants.join(' and ')}` : ''})`;
  const killed = stepKills(timeline.of('kernel-oom'), budget.steps);
  const distance = Math.max(0, limit - peak);
  const ending = killed.length > 0 ? `the budget ran out: the kernel killed ${killed.map(stepContainerText).join(', ')}` : `${formatBytes(distance)} short of the limit`;
  return margin({
    what: `${budget.side} ${anon !== undefined ? 'anon memory' : 'peak memory'}`,
    measured: peak,
    bound: limit,
    unit: 'bytes',
    held: killed.length === 0 && peak < limit,
    distance: killed.length > 0 ? 0 : distance,
    line: `${budget.side} ${figure}${parts}: ${ending}`,
  });
}

/** A kill under load: how long before the load's planned end it came (a kill in its last second is a coin toss). */
function killTimeMargin(config: PlannedConfig, judgement: InstanceJudgement, kill: OomKill | undefined, load: LoadWindow): Margin | undefined {
  if (judgement.outcome !== 'oom-killed-under-load' || !config.workload || !kill || load.startedAt === undefined) return undefined;
  const limitBytes = kill.limitBytes ?? judgement.memoryLimitBytes;
  if (limitBytes === undefined) return undefined;
  const plannedMs = config.workload.stages.reduce((sum, stage) => sum + stage.durationMs, 0);
  const into = Math.max(0, kill.t - load.startedAt);
  const distance = Math.max(0, plannedMs - into);
  return margin({
    what: `${judgement.instance} kill into the load`,
    measured: into,
    bound: plannedMs,
    unit: 'ms',
    held: into < plannedMs,
    distance,
    // Past the planned stages the load is its sessions still running: "0 s before its end" read as a kill after it.
    line:
      into >= plannedMs
        ? `${judgement.instance} killed at ${formatBytes(limitBytes)}, ${seconds(into)} into the load: after its ${seconds(plannedMs)} of arrivals, while the sessions they started still ran${load.endedAt !== undefined ? ` (the load ended ${seconds(Math.max(0, load.endedAt - load.startedAt))} in)` : ''}`
        : `${judgement.instance} killed at ${formatBytes(limitBytes)}, ${seconds(into)} into the ${seconds(plannedMs)} load: ${seconds(distance)} before its end`,
  });
}

/** A kill after the load: how long after the load's end it came (a kill in the second after it is a coin toss with under the load). */
function killAfterLoadMargin(judgement: InstanceJudgement, kill: OomKill | undefined, load: LoadWindow): Margin | undefined {
  if (judgement.outcome !== 'oom-killed-after-load' || !kill || load.endedAt === undefined) return undefined;
  const { startedAt, endedAt } = load;
  const loadMs = startedAt !== undefined ? Math.max(0, endedAt - startedAt) : undefined;
  const after = Math.max(0, kill.t - endedAt);
  const limitBytes = kill.limitBytes ?? judgement.memoryLimitBytes;
  const limit = limitBytes !== undefined ? ` at ${formatBytes(limitBytes)}` : '';
  return margin({
    what: `${judgement.instance} kill after the load`,
    measured: kill.t - (startedAt ?? endedAt),
    bound: loadMs ?? 0,
    unit: 'ms',
    held: false,
    distance: after,
    line: `${judgement.instance} killed${limit} ${seconds(after)} after the load ended${loadMs !== undefined ? ` (a ${seconds(loadMs)} load)` : ''}: not under the load`,
  });
}

/** open_files_limit against the bound the scenario set (`atMost`, `equals`). */
function openFilesMargin(config: PlannedConfig, judgement: InstanceJudgement): Margin | undefined {
  const bound = config.expect[judgement.instance]?.openFilesLimit;
  const measured = judgement.openFilesLimit;
  if (!bound || measured === undefined || judgement.outcome !== 'survived') return undefined;
  const what = `${judgement.instance} open_files_limit`;
  if (bound.atMost !== undefined) {
    const held = measured <= bound.atMost;
    const distance = Math.abs(bound.atMost - measured);
    return margin({
      what,
      measured,
      bound: bound.atMost,
      unit: '',
      held,
      distance,
      line: `${what} ${measured} ${held ? '≤' : '>'} ${bound.atMost}: ${distance} ${held ? 'below' : 'above'} the bound`,
    });
  }
  if (bound.equals !== undefined) {
    const held = measured === bound.equals;
    return margin({ what, measured, bound: bound.equals, unit: '', held, distance: Math.abs(measured - bound.equals), line: `${what} ${measured} ${held ? '=' : '≠'} ${bound.equals}` });
  }
  return undefined;
}

/** Every margin of a judged configuration: per instance its memory, its kill time, its open_files_limit; then the load's claims. */
export function marginsOf(
  config: PlannedConfig,
  timeline: Observed,
  judgements: readonly InstanceJudgement[],
  checks: readonly ExpectationCheck[],
  decided: { kills: readonly OomKill[]; load: LoadWindow; shared?: readonly SharedMemoryBudget[] },
): Margin[] {
  const margins: Margin[] = [];
  const seen = new Set<string>();
  for (const judgement of judgements) {
    const kill = decided.kills.find((k) => k.instance === judgement.instance);
    for (const m of [
      memoryMargin(config, timeline, judgement, decided.shared),
      killTimeMargin(config, judgement, kill, decided.load),
      killAfterLoadMargin(judgement, kill, decided.load),
      openFilesMargin(config, judgement),
    ]) {
      // Two members of one side report the same side margin once.
      if (m && !seen.has(m.line)) margins.push(m);
      if (m) seen.add(m.line);
    }
  }
  for (const check of checks) if (check.margin) margins.push(check.margin);
  return margins;
}
