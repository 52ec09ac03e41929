// The configurations as the page names and colours them, with their samples indexed once for every chart.
import type { ObservationOf } from '../../0-model/observation.ts';
import type { ConfigResult, RunReport } from '../../0-model/report.ts';
import { limitChanges } from '../../0-model/limits.ts';
import { killsOf } from '../../0-model/oom-kill.ts';
import { configTag } from '../../0-model/answer.ts';

/** A sample's source widens as observers are added; the report reads it as a plain string. */
export type Sample = Omit<ObservationOf<'sample'>, 'source'> & { source: string };
export type SampleIndex = Map<string, Sample[]>;

export interface Labelled {
  config: ConfigResult;
  tag: string;
  color: string;
  /** `axis=value, ...` of the axes that vary: for headings. */
  label: string;
  /** Short enough for a legend chip: the varying values, or what differs from #1 in a one-at-a-time matrix. */
  shortLabel: string;
  samples: SampleIndex;
  instances: string[];
}

// d3's category10, then golden-angle hues: distinct colours for any number of configurations.
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

export function colorOf(index: number): string {
  const fixed = PALETTE[index];
  if (fixed) return fixed;
  const hue = Math.round((index * 137.508) % 360);
  return hslToHex(hue, 0.6, 0.42);
}

function hslToHex(hue: number, saturation: number, lightness: number): string {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    const value = lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

export const sampleKey = (instance: string, source: string, metric: string) => `${instance}\u0000${source}\u0000${metric}`;

/** A configuration's samples by instance, source and metric: read once, looked up for every chart. */
function indexSamples(config: ConfigResult): SampleIndex {
  const index: SampleIndex = new Map();
  for (const o of config.observations) {
    if (o.kind !== 'sample' || !Number.isFinite(o.value)) continue;
    const key = sampleKey(o.instance, o.source, o.metric);
    const list = index.get(key);
    if (list) list.push(o);
    else index.set(key, [o]);
  }
  return index;
}

/** Judged instances first, then the others in the order first observed, so roles and dashes stay stable across charts. */
export function instanceOrder(config: ConfigResult): string[] {
  const names = config.instances.map((i) => i.instance);
  for (const o of config.observations) if ('instance' in o && o.instance !== undefined && !names.includes(o.instance)) names.push(o.instance);
  return names;
}

/** The axes that differ between configurations name them best; the others go above the table. */
export function varyingAxes(report: RunReport): string[] {
  const axes = Object.keys(report.configs[0]?.axes ?? {});
  if (report.configs.length < 2) return axes;
  const varying = axes.filter((axis) => new Set(report.configs.map((c) => String(c.axes[axis]))).size > 1);
  return varying.length > 0 ? varying : axes;
}

/** In a one-at-a-time matrix (each configuration changes at most one axis of #1), that one change names it. */
function shortLabels(report: RunReport, axes: readonly string[]): string[] {
  const values = (config: ConfigResult) => axes.map((axis) => String(config.axes[axis]));
  const full = report.configs.map((config) => values(config).join(' · '));
  const first = report.configs[0];
  if (!first || axes.length < 2) return full;
  const changes = report.configs.map((config) => axes.filter((axis) => String(config.axes[axis]) !== String(first.axes[axis])));
  if (changes.some((changed) => changed.length > 1)) return full;
  return changes.map((changed, i) => (i === 0 || changed.length === 0 ? full[i]! : `${changed[0]}=${String(report.configs[i]!.axes[changed[0]!])}`));
}

export function labelConfigs(report: RunReport, axes: readonly string[]): Labelled[] {
  const short = shortLabels(report, axes);
  return report.configs.map((config, index) => ({
    config,
    tag: configTag(report, config),
    color: colorOf(index),
    label: axes.map((axis) => `${axis}=${String(config.axes[axis])}`).join(', ') || config.id,
    shortLabel: short[index]!,
    samples: indexSamples(config),
    instances: instanceOrder(config),
  }));
}

/** Instance names across configurations, in first-seen order: each is a role a small-multiple chart shows. */
export function rolesOf(configs: readonly Labelled[]): string[] {
  const roles: string[] = [];
  for (const { instances } of configs) for (const instance of instances) if (!roles.includes(instance)) roles.push(instance);
  return roles;
}

/**
 * The instance's memory limit over time, as the run recorded it (`limit` observations: at start, at each
 * `limit` step, at its undo); a report written before those were kept has one value, its memory peak's.
 */
export function limitStepsOf(config: ConfigResult, instance: string): { t: number; limitBytes?: number }[] {
  const changes = limitChanges(config.observations, instance);
  if (changes.length > 0) return changes;
  const peak = config.observations.findLast((o): o is ObservationOf<'memory-peak'> => o.kind === 'memory-peak' && o.instance === instance);
  const bytes = peak?.limitBytes ?? config.instances.find((i) => i.instance === instance)?.memoryLimitBytes ?? config.metrics.memoryLimitBytes;
  return bytes !== undefined ? [{ t: 0, limitBytes: bytes }] : [];
}

/** The judge's record of each kill (report.json's `oomKills`); a report written before it was kept is judged by the same rule. */
export function oomKillTimes(config: ConfigResult): { instance: string; t: number }[] {
  const kills = config.oomKills ?? killsOf({ instances: config.instances.map((i) => ({ name: i.instance })) }, config.observations);
  return kills.map((k) => ({ instance: k.instance, t: k.t }));
}
