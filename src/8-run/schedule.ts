// `--jobs`: which configurations may run side by side, how many at once, and the loop that runs them so.
// Only start-up configurations share the host by default: load competes for the same cores and would
// change its own timing, and a host-wide switch (THP, drop_caches, a neighbour) would reach the others.
import type { PlannedConfig } from '../2-plan/index.ts';
import type { MemoryHeadroom } from '../4-observe/index.ts';
import { formatBytes } from '../0-model/units.ts';
import { UsageError } from '../0-model/errors.ts';
import type { ConfigConcurrency } from '../0-model/report.ts';

/** How a configuration may share the host: `start-up` with any, `load` only when the user asks (`--jobs`), `alone` never. */
export type Sharing = 'start-up' | 'load' | 'alone';

export interface Placement {
  sharing: Sharing;
  /** Why it does not run with the start-up configurations; absent for `start-up`. */
  why?: string;
  /** The most memory its containers can be charged (their limits, a side's budget once); undefined when some instance has none. */
  chargeBytes: number | undefined;
}

/** What a scenario's hooks are, as far as sharing goes: code that runs around each configuration. */
export interface ScenarioHooks {
  before?: unknown;
  after?: unknown;
}

/** The memory limits a configuration can fill: each instance's own, a side's budget once, a raised `limit` step's. */
export function chargeOf(config: Pick<PlannedConfig, 'instances' | 'host' | 'steps'>): number | undefined {
  const raised = new Map<string, number>();
  for (const step of config.steps ?? []) {
    if (step.action.action === 'limit' && step.action.memory !== undefined) raised.set(step.action.instance, Math.max(raised.get(step.action.instance) ?? 0, step.action.memory));
  }
  let total = 0;
  const sides = new Set<string>();
  for (const instance of config.instances) {
    if (instance.side !== undefined) {
      const budget = config.host?.sides?.[instance.side]?.memory;
      if (budget === undefined) return undefined;
      if (!sides.has(instance.side)) total += budget;
      sides.add(instance.side);
      continue;
    }
    if (instance.memory === undefined) return undefined;
    total += Math.max(instance.memory, raised.get(instance.name) ?? 0);
  }
  return total;
}

/** How this configuration may share the host with others of the run. */
export function placementOf(config: PlannedConfig, hooks: ScenarioHooks = {}): Placement {
  const chargeBytes = chargeOf(config);
  const alone = (why: string): Placement => ({ sharing: 'alone', why, chargeBytes });
  const actions = new Set((config.steps ?? []).map((s) => s.action.action));
  if (config.host?.thp !== undefined || actions.has('thp')) return alone('it switches THP, a host-wide setting');
  if (actions.has('drop-caches')) return alone('it drops the page cache, host-wide');
  if (actions.has('neighbour') || actions.has('cpu-hog')) return alone('it starts a neighbour or a CPU hog beside the server');
  if (config.host?.sides && Object.keys(config.host.sides).length > 0) return alone('its side budgets stand for a host of their own');
  if (config.instances.some((i) => i.role === 'neighbour')) return alone('it runs a neighbour on the host');
  if (actions.has('run')) return alone('a `run` step executes commands whose reach oomlab cannot know');
  if (chargeBytes === undefined) return alone('an instance has no memory limit, so its memory cannot be counted');
  const load = config.workload
    ? 'it drives a load, which competes for the cores'
    : config.instances.some((i) => i.warmup)
      ? 'it warms a buffer pool, which competes for the cores'
      : (config.steps ?? []).length > 0
        ? 'its steps are timed'
        : hooks.before !== undefined || hooks.after !== undefined
          ? 'the scenario runs its own code around it'
          : undefined;
  return load ? { sharing: 'load', why: load, chargeBytes } : { sharing: 'start-up', chargeBytes };
}

/** Left to the kernel, the engine and the harness itself: the budget is what is available less this. */
export function memoryReserveBytes(headroom: Pick<MemoryHeadroom, 'totalBytes'>): number {
  return Math.max(1024 ** 3, Math.round(headroom.totalBytes / 10));
}

/** The memory configurations running at once may be limited to in total: MemAvailable less the reserve. */
export function memoryBudgetBytes(headroom: MemoryHeadroom | undefined): number | undefined {
  return headroom ? Math.max(0, headroom.availableBytes - memoryReserveBytes(headroom)) : undefined;
}

export interface JobsChoice {
  /** The most configurations that run at once. */
  jobs: number;
  /** Given with `--jobs`, or chosen from the host and the scenario. */
  source: 'option' | 'default';
  why: string;
  /** The sum of the memory limits running at once stays at or below this (undefined: nothing shares). */
  memoryBudgetBytes?: number;
}

/** Start-up configurations mostly wait (ready, settle), so two per core keep the cores busy without queueing on them. */
export const JOBS_PER_CORE = 2;

/** `--jobs N` as given, else the default this host and this matrix allow. */
export function chooseJobs(placements: readonly Placement[], host: { cpus: number; headroom: MemoryHeadroom | undefined }, requested?: number): JobsChoice {
  const budget = memoryBudgetBytes(host.headroom);
  const budgetText = budget !== undefined ? `memory limits up to ${formatBytes(budget)} at once (MemAvailable less ${formatBytes(memoryReserveBytes(host.headroom!))})` : '';
  if (requested !== undefined) {
    return { jobs: requested, source: 'option', why: `--jobs ${requested}${requested > 1 && budgetText ? `; ${budgetText}` : ''}`, ...(budget !== undefined ? { memoryBudgetBytes: budget } : {}) };
  }
  const startUp = placements.filter((p) => p.sharing === 'start-up');
  if (startUp.length < 2) {
    const reason = placements.find((p) => p.sharing !== 'start-up')?.why;
    return { jobs: 1, source: 'default', why: `one at a time: ${startUp.length === 0 && reason ? reason : 'fewer than two configurations only start and settle'}` };
  }
  if (budget === undefined) return { jobs: 1, source: 'default', why: 'one at a time: /proc/meminfo is unreadable, so the memory running at once cannot be bounded' };
  // Strict overcommit charges every mapping (a 16 GiB file table) against one host-wide CommitLimit: side by side, one configuration's allocation could fail for another's.
  if (host.headroom!.overcommitMemory === 2) return { jobs: 1, source: 'default', why: 'one at a time: vm.overcommit_memory=2 charges every allocation against the host-wide CommitLimit' };
  const largest = Math.max(...startUp.map((p) => p.chargeBytes ?? 0));
  const byMemory = largest > 0 ? Math.floor(budget / largest) : startUp.length;
  const byCores = JOBS_PER_CORE * host.cpus;
  const jobs = Math.max(1, Math.min(byCores, byMemory, startUp.length));
  const bound =
    jobs === startUp.length ? `${startUp.length} start-up configurations` : jobs === byCores ? `${JOBS_PER_CORE} per core on ${host.cpus} cores` : `${byMemory} × ${formatBytes(largest)} limits fit`;
  return { jobs, source: 'default', why: `${bound}; ${budgetText}`, memoryBudgetBytes: budget };
}

/** `--jobs N`: a whole number from 1 up. */
export function parseJobs(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--jobs takes how many configurations run at once, a whole number from 1 up, got \`${value}\` — e.g. --jobs 4`);
  return n;
}

/** One run of one configuration (a repeat of it under `--repeat`), as the scheduler sees it. */
export interface Unit {
  /** The most units (itself included) it may run beside: 1 runs alone. */
  limit: number;
  chargeBytes: number | undefined;
  /** Why its limit is below the run's jobs. */
  why?: string;
}

export interface ScheduleOptions {
  jobs: number;
  memoryBudgetBytes?: number;
  /** Once aborted, no further unit starts; those running finish (they see the same signal). */
  signal: AbortSignal;
}

/**
 * Runs the units in order, starting the next one as soon as it fits: fewer running than its limit and every running
 * unit's limit, and their memory limits' sum within the budget. A unit that does not fit waits for running ones to end
 * (first come, first served), and one always runs when nothing else does. The first error stops new starts and is thrown
 * once the running units have ended.
 */
export async function runScheduled(units: readonly Unit[], options: ScheduleOptions, work: (position: number, concurrency: () => ConfigConcurrency) => Promise<void>): Promise<void> {
  const running = new Map<number, { unit: Unit; slot: number; done: Promise<void>; concurrency: ConfigConcurrency }>();
  let failure: { error: unknown } | undefined;
  const fits = (unit: Unit): boolean => {
    if (running.size === 0) return true;
    const limit = Math.min(options.jobs, unit.limit, ...[...running.values()].map((r) => r.unit.limit));
    if (running.size >= limit) return false;
    if (options.memoryBudgetBytes === undefined || unit.chargeBytes === undefined) return false;
    let sum = unit.chargeBytes;
    for (const r of running.values()) {
      if (r.unit.chargeBytes === undefined) return false;
      sum += r.unit.chargeBytes;
    }
    return sum <= options.memoryBudgetBytes;
  };
  let next = 0;
  while (next < units.length || running.size > 0) {
    while (next < units.length && !options.signal.aborted && !failure && fits(units[next]!)) {
      const position = next++;
      const unit = units[position]!;
      const used = new Set([...running.values()].map((r) => r.slot));
      let slot = 1;
      while (used.has(slot)) slot++;
      const concurrency: ConfigConcurrency = {
        jobs: Math.min(options.jobs, unit.limit),
        slots: [slot],
        runningAtMost: running.size + 1,
        ...(unit.why && unit.limit < options.jobs ? { why: unit.why } : {}),
      };
      for (const other of running.values()) other.concurrency.runningAtMost = Math.max(other.concurrency.runningAtMost, running.size + 1);
      const done = work(position, () => concurrency)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => running.delete(position));
      running.set(position, { unit, slot, done, concurrency });
    }
    if (running.size === 0) break;
    await Promise.race([...running.values()].map((r) => r.done));
  }
  if (failure) throw failure.error;
}
