// Two runs side by side (`oomlab compare`): configurations paired by id, or by their axes without the
// image axis (and any axis each run held at one value of its own, e.g. `--set memory=2g`), so the same
// scenario on the old and on the new server lines up row by row.
import type { ConfigResult, RunReport } from '../../0-model/report.ts';
import { REGRESSION_THRESHOLDS } from '../../6-judge/baseline.ts';

export interface RunSide {
  file: string;
  runId: string;
  scenario: string;
  startedAt: string;
  summary: RunReport['summary'];
  /** Images of the configurations that were decided (not skipped). */
  ranOn: string[];
}

/** A figure on both sides; `notable` when it moved by more than run-to-run noise (the baseline thresholds, either way). */
export interface FigurePair {
  a?: number;
  b?: number;
  notable: boolean;
}

export interface PairedConfig {
  /** The id both share, or the id without the axes the runs differ in. */
  key: string;
  matchedBy: 'id' | 'axes';
  a: ConfigResult;
  b: ConfigResult;
  image?: { a: string; b: string };
  outcomeChanged: boolean;
  verdictChanged: boolean;
  peakMemoryBytes: FigurePair;
  p99LatencyMs: FigurePair;
  openFilesLimit: FigurePair;
}

export interface RunComparison {
  a: RunSide;
  b: RunSide;
  /** One line each: what a reader must know before trusting the rows (different scenarios, how rows were matched). */
  notes: string[];
  pairs: PairedConfig[];
  onlyA: ConfigResult[];
  onlyB: ConfigResult[];
}

/** Axes whose every value is an image the run needed: the server-version axis, whatever a scenario calls it. */
export function imageAxes(report: RunReport): string[] {
  const images = new Set(report.images.map((i) => i.name));
  const axes = Object.keys(report.configs[0]?.axes ?? {});
  return axes.filter((axis) => report.configs.every((c) => typeof c.axes[axis] === 'string' && images.has(c.axes[axis] as string)));
}

function keyWithout(config: ConfigResult, drop: ReadonlySet<string>): string {
  return Object.entries(config.axes)
    .filter(([axis]) => !drop.has(axis))
    .map(([axis, value]) => `${axis}=${value}`)
    .join(',');
}

function figure(a: number | undefined, b: number | undefined, threshold: { ratio: number; floor: number }): FigurePair {
  // A figure one side has and the other lacks changed too (a server that now survives reports what it did not).
  const notable = a === undefined || b === undefined ? a !== b : Math.abs(b - a) > threshold.floor && (b > a * threshold.ratio || a > b * threshold.ratio);
  return { ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}), notable };
}

function pair(key: string, matchedBy: PairedConfig['matchedBy'], a: ConfigResult, b: ConfigResult, imageAxesBoth: readonly string[]): PairedConfig {
  const t = REGRESSION_THRESHOLDS;
  const imageAxis = imageAxesBoth.find((axis) => a.axes[axis] !== b.axes[axis]);
  return {
    key,
    matchedBy,
    a,
    b,
    ...(imageAxis ? { image: { a: String(a.axes[imageAxis] ?? '—'), b: String(b.axes[imageAxis] ?? '—') } } : {}),
    outcomeChanged: a.outcome !== b.outcome,
    verdictChanged: a.verdict !== b.verdict,
    peakMemoryBytes: figure(a.metrics.peakMemoryBytes, b.metrics.peakMemoryBytes, { ratio: t.peakMemory.ratio, floor: t.peakMemory.floorBytes }),
    p99LatencyMs: figure(a.metrics.latencyMs?.p99, b.metrics.latencyMs?.p99, { ratio: t.p99Latency.ratio, floor: t.p99Latency.floorMs }),
    openFilesLimit: figure(a.metrics.openFilesLimit, b.metrics.openFilesLimit, { ratio: 1, floor: 0 }),
  };
}

function side(report: RunReport, file: string): RunSide {
  const axes = imageAxes(report);
  const ranOn = new Set(report.configs.filter((c) => c.verdict !== 'skipped').flatMap((c) => axes.map((axis) => String(c.axes[axis]))));
  return { file, runId: report.runId, scenario: report.scenario, startedAt: report.startedAt, summary: report.summary, ranOn: [...ranOn] };
}

/** Axes each run held at a single value, different in the other: a setting of the whole run, not of a row. */
function runLevelAxes(a: RunReport, b: RunReport): { axis: string; a: string; b: string }[] {
  const only = (report: RunReport, axis: string) => {
    const values = new Set(report.configs.map((c) => c.axes[axis]));
    return values.size === 1 && !values.has(undefined) ? String([...values][0]) : undefined;
  };
  const axes = Object.keys(a.configs[0]?.axes ?? {}).filter((axis) => axis in (b.configs[0]?.axes ?? {}));
  return axes.flatMap((axis) => {
    const [x, y] = [only(a, axis), only(b, axis)];
    return x !== undefined && y !== undefined && x !== y ? [{ axis, a: x, b: y }] : [];
  });
}

/**
 * Pairs configurations by id first; those left over by their axes without the image axis and the
 * run-level axes, where that names one configuration on each side (or one that was decided, when the
 * other run skipped the rest, e.g. the 5.x images a run did not have).
 */
export function compareRuns(a: RunReport, fileA: string, b: RunReport, fileB: string): RunComparison {
  const notes: string[] = [];
  if (a.scenario !== b.scenario) notes.push(`A is a run of \`${a.scenario}\` and B of \`${b.scenario}\`: configurations are matched by their axes all the same.`);
  const imageAxesBoth = [...new Set([...imageAxes(a), ...imageAxes(b)])];
  const runLevel = runLevelAxes(a, b).filter((r) => !imageAxesBoth.includes(r.axis));
  const pairs: PairedConfig[] = [];
  const byIdB = new Map(b.configs.map((c) => [c.id, c]));
  const leftA: ConfigResult[] = [];
  for (const config of a.configs) {
    const other = byIdB.get(config.id);
    if (other) {
      pairs.push(pair(config.id, 'id', config, other, imageAxesBoth));
      byIdB.delete(config.id);
    } else leftA.push(config);
  }
  const leftB = [...byIdB.values()];
  const drop = new Set([...imageAxesBoth, ...runLevel.map((r) => r.axis)]);
  const paired = new Set<ConfigResult>();
  if (drop.size > 0) {
    for (const key of new Set(leftA.map((c) => keyWithout(c, drop)))) {
      const pick = (configs: ConfigResult[]) => {
        const all = configs.filter((c) => keyWithout(c, drop) === key);
        const decided = all.filter((c) => c.verdict !== 'skipped');
        return all.length === 1 ? all[0] : decided.length === 1 ? decided[0] : undefined;
      };
      const [x, y] = [pick(leftA), pick(leftB)];
      if (!x || !y) continue;
      pairs.push(pair(key, 'axes', x, y, imageAxesBoth));
      paired.add(x).add(y);
    }
    const byAxes = pairs.filter((p) => p.matchedBy === 'axes');
    // Name only the axes the paired rows really differ in.
    const differ = [...drop].filter((axis) => byAxes.some((p) => p.a.axes[axis] !== p.b.axes[axis]));
    const settings = runLevel.filter((r) => differ.includes(r.axis)).map((r) => `A ran ${r.axis}=${r.a}, B ${r.axis}=${r.b}`);
    if (byAxes.length > 0) {
      notes.push(
        `${byAxes.length} configuration(s) matched by their axes without \`${differ.join('`, `')}\`${settings.length > 0 ? ` (${settings.join('; ')})` : ''}${pairs.length > byAxes.length ? '; the rest by id' : ''}.`,
      );
    }
  }
  return { a: side(a, fileA), b: side(b, fileB), notes, pairs, onlyA: leftA.filter((c) => !paired.has(c)), onlyB: leftB.filter((c) => !paired.has(c)) };
}

/** Outcome and verdict changes, and figures that moved past noise: the summary line of a comparison. */
export function changesOf(comparison: RunComparison): { outcome: number; verdict: number; peakMemory: number; p99Latency: number; openFilesLimit: number } {
  const count = (test: (p: PairedConfig) => boolean) => comparison.pairs.filter(test).length;
  return {
    outcome: count((p) => p.outcomeChanged),
    verdict: count((p) => p.verdictChanged),
    peakMemory: count((p) => p.peakMemoryBytes.notable),
    p99Latency: count((p) => p.p99LatencyMs.notable),
    openFilesLimit: count((p) => p.openFilesLimit.notable),
  };
}
