// Whether and when an instance was OOM-killed: one rule, applied once by the judge (report.json's `oomKills`);
// here, below every stage, so a report written before the record was kept is read by the same rule.
import type { OomKill, OomKillSign } from './judgement.ts';
import { limitAt } from './limits.ts';
import type { Observation, ObservationOf } from './observation.ts';

/**
 * Whether and when one instance (its own observations) was OOM-killed: the kernel's line naming it, its
 * `State.OOMKilled`, or the engine's `oom` event with the container gone after it. The time is the
 * kernel's own timestamp of the kill; else (no line, or one read without its time, after the death) the
 * first of the engine's `oom` event and the `die` that followed. An `oom` event can come before the kill
 * (measured: 61 ms, the memcg at its limit while the kernel still reclaimed), so it is not preferred.
 */
export function oomKillOf(instance: string, observations: readonly Observation[]): OomKill | undefined {
  const state = observations.findLast((o): o is ObservationOf<'container-state'> => o.kind === 'container-state');
  const kernel = observations.filter((o): o is ObservationOf<'kernel-oom'> => o.kind === 'kernel-oom');
  const oomEvent = observations.find((o) => o.kind === 'docker-event' && o.action === 'oom');
  const seenBy: OomKillSign[] = [];
  if (kernel.length > 0) seenBy.push('kernel');
  if (oomEvent && state?.status !== 'running') seenBy.push('oom-event');
  if (state?.oomKilled) seenBy.push('oom-killed-state');
  if (seenBy.length === 0) return undefined;
  // The post-mortem reads the state just before the teardown: a `die` after it is the teardown's.
  const judgedAt = state?.t ?? Number.POSITIVE_INFINITY;
  const die = observations.find((o) => o.kind === 'docker-event' && o.action === 'die' && o.t <= judgedAt);
  const kernelT = kernel.length > 0 ? Math.min(...kernel.map((k) => k.t)) : undefined;
  const engineTimes = [...(seenBy.includes('oom-event') ? [oomEvent!.t] : []), ...(die ? [die.t] : [])];
  const t = kernelT !== undefined && (die === undefined || kernelT <= die.t) ? kernelT : engineTimes.length > 0 ? Math.min(...engineTimes) : (kernelT ?? state?.t ?? 0);
  const limitBytes = limitAt(observations, instance, t);
  const anonRssKb = kernel[0]?.anonRssKb;
  return { instance, t, seenBy, ...(limitBytes !== undefined ? { limitBytes } : {}), ...(anonRssKb !== undefined ? { anonRssBytes: anonRssKb * 1024 } : {}) };
}

/** The judge's one record of the kills: every instance of the configuration (a step's neighbour too) the observations show OOM-killed. */
export function killsOf(config: { instances: readonly { name: string }[] }, observations: readonly Observation[]): OomKill[] {
  const names = config.instances.map((spec) => spec.name);
  for (const o of observations) if ('instance' in o && o.instance !== undefined && !names.includes(o.instance)) names.push(o.instance);
  return names.flatMap(
    (name) =>
      oomKillOf(
        name,
        observations.filter((o) => !('instance' in o) || o.instance === name),
      ) ?? [],
  );
}
