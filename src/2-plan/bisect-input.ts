// What `oomlab bisect` is asked, checked against the scenario before anything runs: the axis (a number or a
// size), the range and its step, the configuration, and how often the boundary is repeated.
import { UnknownAxisError, UsageError } from '../0-model/errors.ts';
import { formatBytes, parseBytes } from '../0-model/units.ts';
import type { Scenario } from '../1-scenario/index.ts';
import { configId, planRun } from './index.ts';
import { axisKind, parseAssignment } from './overrides.ts';
import type { SearchGrid } from './bisect-search.ts';

const MIB = 1024 * 1024;
const INTEGER = /^\d+$/;

export interface BisectRequest {
  axis: string;
  kind: 'number' | 'size';
  grid: SearchGrid;
  /** The other axes of the configuration, as `--only` filters: they pick one configuration per value. */
  only: string[];
  /** The configuration's id without the bisected axis: `image=…,allocator=glibc,…,memory=1g`. */
  configLabel: string;
  repeat: number;
}

export interface BisectArgs {
  axis: string;
  range: string;
  config: string;
  /** @default '1' for a number axis, '1m' for a size axis */
  step?: string;
  /** @default '2' */
  repeat?: string;
}

/** The value as `--set` and the report write it: a size in whole MiB as `600m`, else a number. */
export function axisLabel(kind: BisectRequest['kind'], value: number): string {
  if (kind === 'size' && value % MIB === 0) return `${value / MIB}m`;
  return String(value);
}

/** A value as a person reads it: sizes as `600 MiB`. */
export function axisText(kind: BisectRequest['kind'], value: number): string {
  return kind === 'size' ? formatBytes(value) : String(value);
}

function readValue(kind: BisectRequest['kind'], raw: string): number | undefined {
  if (kind === 'number') return INTEGER.test(raw) ? Number(raw) : undefined;
  try {
    const bytes = parseBytes(raw);
    return Number.isSafeInteger(bytes) ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Checks every argument against the scenario; each mistake is one line naming what was received and what to give. */
export function parseBisectArgs(scenario: Scenario, args: BisectArgs): BisectRequest {
  const where = scenario.file ?? scenario.name;
  const axes = Object.keys(scenario.matrix);
  if (!scenario.matrix[args.axis]) throw new UnknownAxisError(args.axis, axes);
  const numeric = axes.filter((a) => ['number', 'size'].includes(axisKind(scenario, a)));
  const kind = axisKind(scenario, args.axis);
  if (kind !== 'number' && kind !== 'size') {
    throw new UsageError(
      `--axis ${args.axis}: \`${args.axis}\` is not numeric (its values: ${scenario.matrix[args.axis]!.join(', ')}); bisect searches a number or size axis: ${numeric.join(', ') || 'this scenario has none'}`,
    );
  }
  const example = kind === 'size' ? '512m..4g' : '300..2000';
  const takes = kind === 'size' ? 'sizes' : 'whole numbers';
  const ends = args.range.split('..');
  const lo = ends.length === 2 ? readValue(kind, ends[0]!) : undefined;
  const hi = ends.length === 2 ? readValue(kind, ends[1]!) : undefined;
  if (lo === undefined || hi === undefined) throw new UsageError(`--range ${args.range}: write LO..HI with ${takes}, e.g. --range ${example}`);
  if (lo >= hi) throw new UsageError(`--range ${args.range}: LO must be below HI, e.g. --range ${example}`);
  const stepRaw = args.step ?? (kind === 'size' ? '1m' : '1');
  const step = readValue(kind, stepRaw);
  if (step === undefined || step < 1) throw new UsageError(`--step ${stepRaw}: \`${args.axis}\` takes a step of ${kind === 'size' ? 'a size, e.g. --step 16m' : 'a whole number ≥ 1, e.g. --step 50'}`);
  const repeatRaw = args.repeat ?? '2';
  if (!INTEGER.test(repeatRaw)) throw new UsageError(`--repeat-boundary ${repeatRaw}: give a whole number of repeats ≥ 0, e.g. --repeat-boundary 2`);

  const only = selectConfig(scenario, args.axis, axisLabel(kind, lo), args.config, where);
  return { axis: args.axis, kind, grid: { lo, hi, step }, only, configLabel: only.join(','), repeat: Number(repeatRaw) };
}

/**
 * `--config` names one configuration by its axes: the id of any value of the bisected axis, or the id
 * without it, or only the axes that tell it apart (single-valued ones may be left out).
 */
function selectConfig(scenario: Scenario, axis: string, lo: string, text: string, where: string): string[] {
  const planned = planRun(scenario, { set: [`${axis}=${lo}`] });
  const idsWithout = planned.map((c) => configId(Object.fromEntries(Object.entries(c.axes).filter(([name]) => name !== axis))));
  const none = () => new UsageError(`--config ${text} matches no configuration of ${where}; give one of (any ${axis}): ${idsWithout.join(' | ')}`);
  const pairs: [string, string][] = [];
  for (const part of text.split(',')) {
    if (!part.includes('=')) throw none();
    const [name, value] = parseAssignment(part, '--config');
    if (!scenario.matrix[name]) throw none();
    if (name !== axis) pairs.push([name, value]);
  }
  const matching = planned.filter((c) => pairs.every(([name, value]) => String(c.axes[name]) === value));
  if (matching.length === 0) throw none();
  if (matching.length > 1) {
    const ids = matching.map((c) => idsWithout[planned.indexOf(c)]);
    throw new UsageError(`--config ${text} matches ${matching.length} configurations of ${where}; name one: ${ids.join(' | ')}`);
  }
  const chosen = matching[0]!;
  // Every other axis pinned, so each probe plans exactly this configuration.
  return Object.entries(chosen.axes)
    .filter(([name]) => name !== axis)
    .map(([name, value]) => `${name}=${value}`);
}
