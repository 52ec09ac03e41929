// A configuration's verdict: each instance's outcome against its expectation, and the load's claims.
import type { Timeline } from '../4-observe/index.ts';
import type { PlannedConfig } from '../2-plan/index.ts';
import type { Outcome } from '../1-scenario/index.ts';
import type { ConfigResult, EmulatedFact, EndedBy, SharedMemoryBudget } from '../0-model/report.ts';
import { loadCaveats } from '../0-model/load-caveats.ts';
import { stepContainerText } from '../0-model/step-kills.ts';
import { judgeLoad } from './load-expectations.ts';
import { loadMetrics } from './metrics.ts';
import { classifyOutcome, judgeInstance, killsOf, loadWindowOf } from './outcome.ts';
import { marginsOf } from './margins.ts';
import { judgeNumaKill } from './numa.ts';
import { judgeStepExpectations, judgeWindowedLatency, stepFailureEvidence } from './step-expectations.ts';

export interface ConfigRun {
  endedBy: EndedBy;
  /** Why the run of the configuration failed, when it did. */
  failure?: string;
  emulated: EmulatedFact[];
  startedAt: number;
  /** The servers' log tails, each named when there are several. */
  logTail: string;
  /** Each side budget's own cgroup as sampled: its peak (page cache counted) and anonymous peak, every tenant's. @default not measured */
  sidePeaks?: Record<string, { peakBytes: number; anonPeakBytes?: number }>;
}

export function judgeConfig(config: PlannedConfig, timeline: Pick<Timeline, 'of' | 'observations'>, run: ConfigRun, now: () => number = Date.now): ConfigResult {
  const expected = Object.fromEntries(Object.entries(config.expect).map(([name, e]) => [name, e.outcome])) as Record<string, Outcome>;
  const oomKills = killsOf(config, timeline.observations);
  const shared = sharedBudgets(config, run.sidePeaks);
  const base = {
    id: config.id,
    axes: config.axes,
    expected,
    ...becauseOf(config.expect),
    emulated: run.emulated,
    durationMs: now() - run.startedAt,
    endedBy: run.endedBy,
    observations: timeline.observations,
    ...(run.logTail ? { serverLogTail: run.logTail } : {}),
    ...(config.predictions ? { predictions: config.predictions } : {}),
    ...(shared.length > 0 ? { sharedMemory: shared } : {}),
    ...(oomKills.length > 0 ? { oomKills } : {}),
  };
  // A server killed while a step ran: the kill is the outcome, the step's failure (its connection cut) a consequence.
  const killedUnderStep = run.endedBy === 'error' && serverKilledDuringFailedStep(config, timeline.observations);
  if (run.endedBy !== 'done' && !killedUnderStep) {
    // A step that failed or timed out is what ended it: its output is the evidence.
    const evidence = stepFailureEvidence(timeline.observations);
    const failed = evidence.length > 0 ? 'a step of the timeline failed' : 'the harness failed';
    const why = run.endedBy === 'cancel' ? 'cancelled before it was decided' : run.endedBy === 'timeout' ? 'timed out before it was decided' : failed;
    return { ...base, outcome: null, verdict: 'error', reason: `${why}${run.failure ? `: ${run.failure}` : ''}`, evidence, metrics: {}, instances: [] };
  }
  const loadSpan = loadWindowOf(timeline.observations);
  const loadEndedAt = loadSpan.endedAt;
  // A neighbour is judged only when the scenario says what should happen to it.
  const judgements = config.instances
    .filter((spec) => spec.role !== 'neighbour' || config.expect[spec.name])
    .map((spec) =>
      judgeInstance(
        spec.name,
        config.expect[spec.name],
        timeline.observations.filter((o) => !('instance' in o) || o.instance === spec.name),
        { ...(loadEndedAt !== undefined ? { loadEndedAt } : {}), ...(spec.traceEvidence !== undefined ? { listSyscalls: spec.traceEvidence } : {}) },
      ),
    );
  const deciding = judgements.find((j) => j.verdict === 'fail') ?? judgements[0]!;
  const multiple = judgements.length > 1;
  const readiness = timeline.of('readiness', deciding.instance)[0];
  const load = loadMetrics(timeline, config.workload, deciding.instance);
  const checks = [
    ...judgements.flatMap((j) => judgeStepExpectations(j.instance, config.expect[j.instance], j.outcome, timeline.observations)),
    ...judgements.flatMap((j) => judgeNumaKill(j.instance, config.expect[j.instance], timeline.observations)),
    ...(config.workload ? judgeLoad(config.workload, { metrics: load, timeline }) : []),
    ...(config.workload?.expect ? judgeWindowedLatency(config.workload.expect, timeline.observations) : []),
  ];
  // The claims that missed come first: they are what a reader of a failed verdict looks for.
  const lines = [...checks.filter((c) => !c.met), ...checks.filter((c) => c.met)].map((c) => c.line);
  const margins = marginsOf(config, timeline, judgements, checks, { kills: oomKills, load: loadSpan, shared });
  const outcomes = multiple ? judgements.map((j) => `${j.instance}: ${j.reason}`).join('; ') : deciding.reason;
  // A step that failed in a judged configuration was background work, or failed as its server died: its output is evidence still.
  const stepEvidence = stepFailureEvidence(timeline.observations);
  if (killedUnderStep) lines.push(`a step failed as the server died${run.failure ? ` (${run.failure})` : ''}`);
  // An instance nobody judges (a neighbour) killed by the kernel is still a kill on this host: a reader must see it.
  const unjudgedKills = unjudgedKernelKills(timeline.observations, new Set(judgements.map((j) => j.instance)));
  lines.push(...unjudgedKills.map((k) => (k.step !== undefined ? stepKillLine(config, k, judgements, timeline.observations) : `${k.instance} (not judged) was OOM-killed too`)));
  // A survival whose load was not served (barely ran, refused clients, p99 ballooned) is not a clean pass: said beside it.
  const caveats = deciding.outcome === 'survived' ? loadCaveats(load, { ownP99: config.workload?.expect?.p99Ms !== undefined }) : [];
  return {
    ...base,
    // Kept for every survivor, none included: a reader must not re-derive them without the scenario's own bounds.
    ...(deciding.outcome === 'survived' ? { loadCaveats: caveats } : {}),
    outcome: deciding.outcome,
    verdict: judgements.every((j) => j.verdict === 'pass') && checks.every((c) => c.met) ? 'pass' : 'fail',
    reason: [outcomes, ...lines].join('; '),
    evidence: [
      ...judgements.flatMap((j) => j.evidence.map((e) => (multiple ? { ...e, text: `[${j.instance}] ${e.text}` } : e))),
      ...unjudgedKills.flatMap((k) => {
        const who = k.step !== undefined ? `step ${k.step}'s container ${k.instance}` : k.instance;
        // A step's container: the `oom-kill:` line too, whose oom_memcg names the budget that ran out.
        const lines = k.step !== undefined && k.constraintLine ? [k.line, k.constraintLine] : [k.line];
        return lines.map((line) => ({ source: 'kernel' as const, text: `[${who}, not judged] ${line}` }));
      }),
      ...stepEvidence,
    ],
    metrics: {
      ...(deciding.openFilesLimit !== undefined ? { openFilesLimit: deciding.openFilesLimit } : {}),
      ...(deciding.peakMemoryBytes !== undefined ? { peakMemoryBytes: deciding.peakMemoryBytes } : {}),
      ...(deciding.peakCacheBytes !== undefined ? { peakCacheBytes: deciding.peakCacheBytes } : {}),
      ...(deciding.peakUsageBytes !== undefined ? { peakUsageBytes: deciding.peakUsageBytes } : {}),
      ...(deciding.memoryLimitBytes !== undefined ? { memoryLimitBytes: deciding.memoryLimitBytes } : {}),
      ...(readiness?.ready ? { readyAfterMs: readiness.afterMs } : {}),
      ...predictedFigures(config, deciding.instance),
      ...anonPeak(timeline, deciding.instance),
      ...load,
    },
    instances: judgements,
    ...(checks.length > 0 ? { expectations: checks } : {}),
    ...(margins.length > 0 ? { margins } : {}),
  };
}

/** Each expectation's `because`, where the scenario gave one: the report's answer groups claims by it. */
export function becauseOf(expect: PlannedConfig['expect']): { because?: Record<string, string> } {
  const because = Object.fromEntries(Object.entries(expect).flatMap(([name, e]) => (e.because ? [[name, e.because]] : [])));
  return Object.keys(because).length > 0 ? { because } : {};
}

/** A step failed and a server of the configuration was OOM-killed (the post-mortem's kernel line or the engine's state says so). */
function serverKilledDuringFailedStep(config: PlannedConfig, observations: ConfigResult['observations']): boolean {
  if (stepFailureEvidence(observations).length === 0) return false;
  return config.instances.some(
    (spec) =>
      (spec.role !== 'neighbour' || config.expect[spec.name] !== undefined) && classifyOutcome(observations.filter((o) => !('instance' in o) || o.instance === spec.name)).startsWith('oom-killed'),
  );
}

interface UnjudgedKill {
  instance: string;
  line: string;
  process: string;
  constraintLine?: string;
  /** The step that started the container (a neighbour), when a step did. */
  step?: string;
}

/** The kernel's kills of instances the verdict does not judge (a neighbour instance, a step's container), one per instance. */
function unjudgedKernelKills(observations: ConfigResult['observations'], judged: Set<string>): UnjudgedKill[] {
  const kills = new Map<string, UnjudgedKill>();
  for (const o of observations) {
    if (o.kind === 'kernel-oom' && !judged.has(o.instance) && !kills.has(o.instance)) {
      kills.set(o.instance, {
        instance: o.instance,
        line: o.line,
        process: o.process,
        ...(o.constraintLine !== undefined ? { constraintLine: o.constraintLine } : {}),
        ...(o.step !== undefined ? { step: o.step } : {}),
      });
    }
  }
  return [...kills.values()];
}

/**
 * A step's container killed by the kernel, with the side budget it was in: the judged members of that side that
 * lived through an engine `oom` event got it from the budget's limit (cgroup v1 tells every cgroup under the one
 * that ran out), not from their own.
 */
function stepKillLine(config: PlannedConfig, kill: UnjudgedKill, judgements: readonly { instance: string; outcome: Outcome }[], observations: ConfigResult['observations']): string {
  const action = config.steps?.find((s) => s.name === kill.step)?.action;
  const side = action?.action === 'neighbour' ? action.side : undefined;
  const line = `${stepContainerText(kill)} was OOM-killed`;
  if (side === undefined) return line;
  const members = config.instances.filter((spec) => spec.side === side).map((spec) => spec.name);
  const eventOnly = judgements
    .filter((j) => members.includes(j.instance) && !j.outcome.startsWith('oom-killed'))
    .filter((j) => observations.some((o) => o.kind === 'docker-event' && o.action === 'oom' && o.instance === j.instance))
    .map((j) => j.instance);
  const because = eventOnly.length > 0 ? `: the engine's oom event on ${eventOnly.join(' and ')} is that budget's, not ${eventOnly.length > 1 ? 'theirs' : 'its own'}` : '';
  return `${line} in side ${side}'s budget${members.length > 0 ? ` (shared with ${members.join(', ')})` : ''}${because}`;
}

/** The memory model's worst case, where a workload runs its peak for that load, and the expected peak. */
function predictedFigures(config: PlannedConfig, instance: string): Partial<ConfigResult['metrics']> {
  const prediction = config.predictions?.[instance];
  if (!prediction) return {};
  return {
    predictedPeakBytes: prediction.predictedPeakBytes,
    ...(prediction.load ? { predictedLoadPeakBytes: prediction.load.peakBytes, predictedLoadConnections: prediction.load.connections } : {}),
    ...(prediction.expected ? { expectedPeakBytes: prediction.expected.bytes } : {}),
  };
}

/** The highest anonymous memory sampled over the configuration: a start-up-only configuration has no workload to sample it. */
function anonPeak(timeline: Pick<Timeline, 'of'>, instance: string): Partial<ConfigResult['metrics']> {
  const anon = timeline.of('sample', instance).filter((s) => s.source === 'cgroup' && s.metric === 'memoryRssBytes');
  return anon.length > 0 ? { peakRssBytes: Math.max(...anon.map((s) => s.value)) } : {};
}

/** The sides whose budget several tenants share (instances, the steps' neighbours): a member's limit is the side's, not its own. */
function sharedBudgets(config: PlannedConfig, measured: ConfigRun['sidePeaks']): SharedMemoryBudget[] {
  return Object.entries(config.host?.sides ?? {}).map(([side, budget]) => {
    const steps = (config.steps ?? []).filter((s) => s.action.action === 'neighbour' && s.action.side === side).map((s) => s.name);
    const peak = measured?.[side];
    return {
      side,
      instances: config.instances.filter((spec) => spec.side === side).map((spec) => spec.name),
      limitBytes: budget.memory,
      ...(steps.length > 0 ? { steps } : {}),
      ...(peak ? { peakBytes: peak.peakBytes, ...(peak.anonPeakBytes !== undefined ? { anonPeakBytes: peak.anonPeakBytes } : {}) } : {}),
    };
  });
}
