// The charts' data: which samples each chart draws, one line per configuration, one small multiple per
// instance role where a chart is about instances (memory against its own limit, connections).
import { formatBytes } from '../../0-model/units.ts';
import type { ChartSeries, PeakBar, TimeChart, Unit } from './chart-data.ts';
import { downsample, MAX_CHART_POINTS } from './downsample.ts';
import { stepMarks } from './steps.ts';
import { limitStepsOf, oomKillTimes, rolesOf, sampleKey, type Labelled, type SampleIndex } from './configs.ts';

interface LineSpec {
  source: string;
  /** Summed at equal times (allocstall_normal + allocstall_movable). */
  metrics: readonly string[];
  suffix?: string;
  style: 'main' | 'faint' | 'hidden';
}

export interface TimeChartSpec {
  id: string;
  title: string;
  note?: string;
  unit: Unit;
  lines: readonly LineSpec[];
  /** Host counters are host-wide: one line per configuration, not per instance. */
  hostWide?: boolean;
  withLimits?: boolean;
  /** One small chart per instance role (A, B, the neighbour), each on its own scale. */
  perRole?: boolean;
  /** Only some hosts have its data (a second NUMA node): drawn where two of its lines have data, else left out without a word. */
  optional?: boolean;
}

export const TIME_CHARTS: readonly TimeChartSpec[] = [
  {
    id: 'memory',
    title: 'Container memory against its limit',
    note: 'cgroup memory usage; the dashed line is the limit',
    unit: 'bytes',
    lines: [{ source: 'cgroup', metrics: ['memoryUsageBytes'], style: 'main' }],
    withLimits: true,
    perRole: true,
  },
  {
    id: 'connections',
    title: 'Connections',
    note: 'Threads_connected from SHOW GLOBAL STATUS',
    unit: 'count',
    lines: [{ source: 'status', metrics: ['Threads_connected'], style: 'main' }],
    perRole: true,
  },
  {
    id: 'latency',
    title: 'Query latency percentiles',
    note: 'per second: p99 bold, p50 thin, p90 hidden until shown',
    unit: 'ms',
    lines: [
      { source: 'workload', metrics: ['latencyP99Ms'], suffix: 'p99', style: 'main' },
      { source: 'workload', metrics: ['latencyP50Ms'], suffix: 'p50', style: 'faint' },
      { source: 'workload', metrics: ['latencyP90Ms'], suffix: 'p90', style: 'hidden' },
    ],
  },
  {
    id: 'requests',
    title: 'Requests per second',
    note: 'sessions the workload started each second',
    unit: 'rate',
    lines: [{ source: 'workload', metrics: ['requestsPerSecond'], style: 'main' }],
  },
  {
    id: 'context-switches',
    title: 'Context switches per second',
    note: 'host-wide, /proc/stat ctxt',
    unit: 'rate',
    hostWide: true,
    lines: [{ source: 'host', metrics: ['contextSwitchesPerSecond'], style: 'main' }],
  },
  {
    id: 'direct-reclaim',
    title: 'Direct reclaim',
    note: 'host-wide pages scanned per second by allocating tasks (pgscan_direct bold) and by kswapd (thin)',
    unit: 'rate',
    hostWide: true,
    lines: [
      { source: 'host', metrics: ['pgscan_directPerSecond'], suffix: 'direct', style: 'main' },
      { source: 'host', metrics: ['pgscan_kswapdPerSecond'], suffix: 'kswapd', style: 'faint' },
    ],
  },
  {
    id: 'allocation-stalls',
    title: 'Allocation stalls per second',
    note: 'host-wide allocstall_normal + allocstall_movable',
    unit: 'rate',
    hostWide: true,
    lines: [{ source: 'host', metrics: ['allocstall_normalPerSecond', 'allocstall_movablePerSecond'], style: 'main' }],
  },
  {
    id: 'compaction',
    title: 'Compaction per second',
    note: 'host-wide compact_stall bold, compact_fail thin',
    unit: 'rate',
    hostWide: true,
    lines: [
      { source: 'host', metrics: ['compact_stallPerSecond'], suffix: 'stall', style: 'main' },
      { source: 'host', metrics: ['compact_failPerSecond'], suffix: 'fail', style: 'faint' },
    ],
  },
  {
    id: 'numa-free',
    title: 'Free memory per NUMA node',
    note: 'host-wide MemFree of each node (/sys/devices/system/node/nodeN/meminfo): node 0 bold, the others thin',
    unit: 'bytes',
    hostWide: true,
    optional: true,
    lines: [0, 1, 2, 3].map((node) => ({ source: 'host', metrics: [`node${node}FreeBytes`], suffix: `node ${node}`, style: node === 0 ? 'main' : 'faint' })),
  },
];

/** Instances of one configuration in one chart share its colour and differ by dash. */
const INSTANCE_DASHES: (number[] | undefined)[] = [undefined, [8, 4], [2, 3], [12, 3, 3, 3]];
const LIMIT_COLOR = '#444444';
/** A limit more than this many times the highest line is named above the chart rather than drawn. */
const LIMIT_SCALE_FACTOR = 3;

export type ChartState = 'drawn' | 'zero' | 'empty';

/** One chart spec as drawn: a single chart, or one small multiple per instance role. */
export interface ChartGroup {
  spec: TimeChartSpec;
  charts: { role?: string; chart: TimeChart }[];
  state: ChartState;
}

function pointsOf(samples: SampleIndex, instance: string, line: LineSpec): [number, number][] {
  const byTime = new Map<number, number>();
  for (const metric of line.metrics) {
    for (const s of samples.get(sampleKey(instance, line.source, metric)) ?? []) byTime.set(s.t, (byTime.get(s.t) ?? 0) + s.value);
  }
  return [...byTime].sort((a, b) => a[0] - b[0]).map(([t, value]) => [Math.round(t) / 1000, value]);
}

/** The side's usage over time: at each member's sample, the sum of every member's latest value (while all have one). */
function sideUsage(samples: SampleIndex, members: readonly string[], line: LineSpec): [number, number][] {
  const perMember = members.map((member) => pointsOf(samples, member, line));
  if (perMember.some((points) => points.length === 0)) return [];
  // Until the first member's samples end (an instance killed): a held last value would add memory it no longer has.
  const until = Math.min(...perMember.map((points) => points.at(-1)![0]));
  const times = [...new Set(perMember.flatMap((points) => points.map(([t]) => t)))].filter((t) => t <= until).sort((a, b) => a - b);
  const next = members.map(() => 0);
  const latest: (number | undefined)[] = members.map(() => undefined);
  const sums: [number, number][] = [];
  for (const t of times) {
    perMember.forEach((points, m) => {
      while (next[m]! < points.length && points[next[m]!]![0] <= t) latest[m] = points[next[m]!++]![1];
    });
    if (latest.every((value) => value !== undefined)) sums.push([t, latest.reduce<number>((sum, value) => sum + value!, 0)]);
  }
  return sums;
}

const hasData = (spec: TimeChartSpec, samples: SampleIndex, instance: string) => spec.lines.some((line) => pointsOf(samples, instance, line).length > 0);

/** An instance's limit over time as drawn: stepped where a step changed it; `none` ends the line. */
interface LimitProfile {
  steps: { t: number; limitBytes?: number }[];
  tags: string[];
}

const profileKey = (steps: LimitProfile['steps']) => steps.map((s, i) => `${i === 0 ? 0 : Math.round(s.t)}:${s.limitBytes ?? 'none'}`).join(' ');

/** The limits of the configurations drawn, one line per distinct profile (a limit lowered by a step steps down); one far above every line is only named. */
function limitLines(limits: Map<string, LimitProfile>, series: readonly ChartSeries[], endT: number): { lines: ChartSeries[]; above: string[] } {
  const highest = Math.max(0, ...series.flatMap((s) => s.points.map(([, value]) => value)));
  const profiles = [...limits.values()].sort((a, b) => (a.steps[0]?.limitBytes ?? 0) - (b.steps[0]?.limitBytes ?? 0));
  const lines: ChartSeries[] = [];
  const above: string[] = [];
  for (const { steps, tags } of profiles) {
    const values = steps.map((s) => (s.limitBytes !== undefined ? formatBytes(s.limitBytes) : 'none')).filter((text, i, all) => i === 0 || text !== all[i - 1]);
    const label = profiles.length === 1 ? `limit ${values.join(' → ')}` : `limit ${values.join(' → ')} (${tags.join(' ')})`;
    const drawnBytes = steps.flatMap((s) => (s.limitBytes !== undefined ? [s.limitBytes] : []));
    if (highest > 0 && drawnBytes.every((bytes) => bytes > highest * LIMIT_SCALE_FACTOR)) {
      above.push(label);
      continue;
    }
    // From 0 to the chart's end, stepping at each change: the limit in force at t.
    const points: [number, number][] = [];
    let current: number | undefined;
    steps.forEach((step, i) => {
      const t = i === 0 ? 0 : Math.min(endT, Math.round(step.t) / 1000);
      if (current !== undefined) points.push([t, current]);
      current = step.limitBytes;
      if (current !== undefined) points.push([t, current]);
    });
    const last = steps.at(-1);
    if (last?.limitBytes !== undefined) points.push([endT, last.limitBytes]);
    const config = tags.length === 1 ? { config: tags[0]! } : {};
    lines.push({ label, key: label, color: LIMIT_COLOR, width: 1.5, dash: [4, 4], show: true, points, ...config, limit: true });
  }
  return { lines, above };
}

/** One chart: a line per configuration (per instance where a configuration has several), or a role's small multiple. */
function buildTimeChart(spec: TimeChartSpec, configs: readonly Labelled[], id: string, role?: string): TimeChart {
  const series: ChartSeries[] = [];
  const limits = new Map<string, LimitProfile>();
  const markers: TimeChart['markers'] = [];
  const steps: TimeChart['steps'] = [];
  for (const { config, tag, color, shortLabel, samples, instances: order } of configs) {
    const candidates = role === undefined ? order : order.filter((instance) => instance === role);
    const withData = candidates.filter((instance) => hasData(spec, samples, instance));
    const instances = spec.hostWide ? withData.slice(0, 1) : withData;
    for (const instance of instances) {
      const perInstance = instances.length > 1 && !spec.hostWide;
      const name = `${tag} ${shortLabel}${perInstance ? ` · ${instance}` : ''}`;
      const key = `${tag}${perInstance ? ` ${instance}` : ''}`;
      const dash = perInstance ? INSTANCE_DASHES[order.indexOf(instance) % INSTANCE_DASHES.length] : undefined;
      for (const line of spec.lines) {
        const points = pointsOf(samples, instance, line);
        if (points.length === 0) continue;
        series.push({
          label: line.suffix ? `${name} ${line.suffix}` : name,
          key: line.suffix ? `${key} ${line.suffix}` : key,
          color: line.style === 'faint' ? `${color}99` : color,
          width: line.style === 'faint' ? 1 : 2,
          ...(dash ? { dash } : {}),
          show: line.style !== 'hidden',
          points,
          config: tag,
          ...(spec.lines.length > 1 && line.suffix ? { line: line.suffix } : {}),
        });
      }
      // An instance on a shared side is killed when the side's sum reaches the limit: draw that sum beside it.
      const budget = spec.withLimits ? config.sharedMemory?.find((b) => b.instances.includes(instance) && b.instances.length > 1) : undefined;
      const sum = budget ? sideUsage(samples, budget.instances, spec.lines[0]!) : [];
      if (budget && sum.length > 0) {
        const together = budget.instances.join(' + ');
        series.push({ label: `${name} · ${together}`, key: `${key} ${together}`, color: `${color}bb`, width: 1, dash: [3, 3], show: true, points: sum, config: tag, shared: together });
      }
      const limitSteps = spec.withLimits ? limitStepsOf(config, instance) : [];
      if (limitSteps.length > 0) {
        const profile = limits.get(profileKey(limitSteps)) ?? { steps: limitSteps, tags: [] };
        if (!profile.tags.includes(tag)) profile.tags.push(tag);
        limits.set(profileKey(limitSteps), profile);
      }
    }
    // Every chart of a configuration shows its kills (latency at the app tier turns at replica a's kill); a role's only its own.
    if (instances.length > 0) {
      const several = order.length > 1 && role === undefined;
      for (const kill of oomKillTimes(config)) {
        if (role !== undefined && kill.instance !== role) continue;
        markers.push({ t: Math.round(kill.t) / 1000, color, label: `OOM ${tag}${several ? ` ${kill.instance}` : ''}`, config: tag });
      }
      // A step acts on the whole configuration (a limit on a moves b's connections): every chart of it shows them all.
      steps.push(...stepMarks(config, tag, color));
    }
  }
  const endT = Math.max(0, ...series.map((s) => s.points.at(-1)![0]), ...markers.map((m) => m.t), ...steps.map((s) => s.end ?? s.t));
  const { lines, above } = limitLines(limits, series, endT);
  // A long run has more samples than the chart has pixels: cut them, keeping peaks and what surrounds each marker.
  const keep = [...markers.map((m) => m.t), ...steps.map((s) => s.t)];
  const drawn = series.map((s) => ({ ...s, points: downsample(s.points, MAX_CHART_POINTS, keep) }));
  return { id, unit: spec.unit, series: [...drawn, ...lines], markers, steps, ...(above.length > 0 ? { above } : {}) };
}

/** A flat line at zero says less than one sentence does, and takes a screen's height. */
function stateOf(charts: readonly TimeChart[]): ChartState {
  const series = charts.flatMap((c) => c.series);
  if (series.length === 0) return 'empty';
  return series.every((s) => s.points.every(([, value]) => value === 0)) ? 'zero' : 'drawn';
}

export function buildCharts(configs: readonly Labelled[]): ChartGroup[] {
  const roles = rolesOf(configs);
  return TIME_CHARTS.map((spec) => {
    const withData = spec.perRole ? roles.filter((role) => configs.some((c) => c.instances.includes(role) && hasData(spec, c.samples, role))) : [];
    const charts = withData.length > 1 ? withData.map((role) => ({ role, chart: buildTimeChart(spec, configs, `${spec.id}-${role}`, role) })) : [{ chart: buildTimeChart(spec, configs, spec.id) }];
    // One node's free memory is not a NUMA imbalance: an optional chart needs two of its lines.
    const lines = new Set(charts.flatMap((c) => c.chart.series.map((s) => s.line ?? s.label)));
    if (spec.optional && lines.size < 2) return { spec, charts, state: 'empty' as const };
    return { spec, charts, state: stateOf(charts.map((c) => c.chart)) };
  });
}

export function peakBars(configs: readonly Labelled[]): PeakBar[] {
  const bars: PeakBar[] = [];
  for (const { config, tag, color, shortLabel } of configs) {
    const { peakMemoryBytes: peakBytes, memoryLimitBytes: limitBytes, expectedPeakBytes, predictedPeakBytes } = config.metrics;
    if (peakBytes === undefined) continue;
    // The diamond is the expected peak where the model has one: the worst case decides nothing on a chart of peaks.
    const predictedBytes = expectedPeakBytes ?? predictedPeakBytes;
    const ofLimit = limitBytes ? ` of ${formatBytes(limitBytes)} (${Math.round((peakBytes / limitBytes) * 100)}%)` : '';
    const predicted = predictedBytes !== undefined ? `, ${expectedPeakBytes !== undefined ? 'expected' : 'predicted worst case'} ${formatBytes(predictedBytes)}` : '';
    bars.push({
      label: tag,
      color,
      peakBytes,
      ...(limitBytes !== undefined ? { limitBytes } : {}),
      ...(predictedBytes !== undefined ? { predictedBytes } : {}),
      text: `${formatBytes(peakBytes)}${ofLimit}${predicted}`,
      note: shortLabel,
    });
  }
  return bars;
}
