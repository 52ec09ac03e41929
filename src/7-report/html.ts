import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EVIDENCE, formatBytes } from '../6-judge/index.ts';
import { formatWith, type Observation, type ObservationOf } from '../4-observe/index.ts';
import type { ConfigResult, RunReport } from '../0-model/report.ts';

type Unit = 'bytes' | 'ms' | 'count' | 'rate';

/** One line of a chart over time; `points` are [seconds since the configuration started, value]. */
interface ChartSeries {
  label: string;
  color: string;
  width: number;
  dash?: number[];
  show: boolean;
  points: [number, number][];
}

interface TimeChart {
  id: string;
  unit: Unit;
  series: ChartSeries[];
  /** OOM kills, drawn as vertical lines so latency and counters can be read against them. */
  markers: { t: number; color: string; label: string }[];
}

interface PeakBar {
  label: string;
  color: string;
  peakBytes: number;
  limitBytes?: number;
  predictedBytes?: number;
  text: string;
  note: string;
}

/** What the page's script draws; it travels as one JSON block. */
interface ChartData {
  charts: TimeChart[];
  peaks: PeakBar[];
}

interface LineSpec {
  source: string;
  /** Summed at equal times (allocstall_normal + allocstall_movable). */
  metrics: readonly string[];
  suffix?: string;
  style: 'main' | 'faint' | 'hidden';
}

interface TimeChartSpec {
  id: string;
  title: string;
  note?: string;
  unit: Unit;
  lines: readonly LineSpec[];
  /** Host counters are host-wide: one line per configuration, not per instance. */
  hostWide?: boolean;
  withLimits?: boolean;
}

const TIME_CHARTS: readonly TimeChartSpec[] = [
  {
    id: 'memory',
    title: 'Container memory against its limit',
    note: 'cgroup memory usage; the dashed line is the limit',
    unit: 'bytes',
    lines: [{ source: 'cgroup', metrics: ['memoryUsageBytes'], style: 'main' }],
    withLimits: true,
  },
  {
    id: 'connections',
    title: 'Connections',
    note: 'Threads_connected from SHOW GLOBAL STATUS',
    unit: 'count',
    lines: [{ source: 'status', metrics: ['Threads_connected'], style: 'main' }],
  },
  {
    id: 'latency',
    title: 'Query latency percentiles',
    note: 'per second: p99 bold, p50 thin; p90 is hidden, click its legend entry to show it',
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
];

// d3's category10, then golden-angle hues: distinct colours for any number of configurations.
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
/** Instances of one configuration share its colour and differ by dash. */
const INSTANCE_DASHES: (number[] | undefined)[] = [undefined, [8, 4], [2, 3], [12, 3, 3, 3]];
const LIMIT_COLOR = '#444444';

function colorOf(index: number): string {
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
    return Math.round(value * 255).toString(16).padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON inside <script>: `</script` or `<!--` in a log line must not end or bend the block. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/<\//g, '<\\/').replace(/<!--/g, '\\u003c!--');
}

let uplotAssets: { script: string; style: string } | undefined;

/** uPlot, inlined: the report opens from file:// with no network. Read once, on first render. */
function uplot(): { script: string; style: string } {
  if (!uplotAssets) {
    const require = createRequire(import.meta.url);
    const script = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const style = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    if (/<\/script|<!--/i.test(script) || /<\/style/i.test(style)) throw new Error('uPlot assets contain </script, <!-- or </style and cannot be inlined as they are');
    uplotAssets = { script, style };
  }
  return uplotAssets;
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${Math.round(ms * 10) / 10} ms`;
}

function formatCount(value: number): string {
  return value >= Number.MAX_SAFE_INTEGER ? 'unlimited' : value.toLocaleString('en-US');
}

function yesNo(value: boolean | undefined): string {
  return value === undefined ? 'unknown' : value ? 'yes' : 'no';
}

/** A sample's source widens as observers are added; the report reads it as a plain string. */
type Sample = Omit<ObservationOf<'sample'>, 'source'> & { source: string };

type SampleIndex = Map<string, Sample[]>;

const sampleKey = (instance: string, source: string, metric: string) => `${instance}\u0000${source}\u0000${metric}`;

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

/** Instances in the order the configuration first observed them, so dashes stay stable across charts. */
function instanceOrder(config: ConfigResult): string[] {
  const names = config.instances.map((i) => i.instance);
  for (const o of config.observations) if ('instance' in o && !names.includes(o.instance)) names.push(o.instance);
  return names;
}

function pointsOf(samples: SampleIndex, instance: string, line: LineSpec): [number, number][] {
  const byTime = new Map<number, number>();
  for (const metric of line.metrics) {
    for (const s of samples.get(sampleKey(instance, line.source, metric)) ?? []) byTime.set(s.t, (byTime.get(s.t) ?? 0) + s.value);
  }
  return [...byTime].sort((a, b) => a[0] - b[0]).map(([t, value]) => [Math.round(t) / 1000, value]);
}

function memoryLimitOf(config: ConfigResult, instance: string): number | undefined {
  const peak = config.observations.findLast((o): o is ObservationOf<'memory-peak'> => o.kind === 'memory-peak' && o.instance === instance);
  return peak?.limitBytes ?? config.instances.find((i) => i.instance === instance)?.memoryLimitBytes ?? config.metrics.memoryLimitBytes;
}

/** When the kernel (or, failing that, the engine) saw each instance OOM-killed. */
function oomKillTimes(config: ConfigResult): { instance: string; t: number }[] {
  const kills: { instance: string; t: number }[] = [];
  for (const instance of instanceOrder(config)) {
    // Killed means the kernel named it (or the engine said OOMKilled): an `oom` event alone reaches every
    // container of a shared side whoever dies. The kernel line is read after the fact; `die` has the time.
    const killed =
      config.observations.some((o) => o.kind === 'kernel-oom' && o.instance === instance) ||
      config.observations.some((o) => o.kind === 'container-state' && o.oomKilled && o.instance === instance);
    if (!killed) continue;
    const at =
      config.observations.find((o) => o.kind === 'docker-event' && o.action === 'die' && o.instance === instance) ??
      config.observations.find((o) => o.kind === 'kernel-oom' && o.instance === instance);
    if (at) kills.push({ instance, t: at.t });
  }
  return kills;
}

interface Labelled {
  config: ConfigResult;
  tag: string;
  color: string;
  /** `axis=value, ...` of the axes that vary: for headings. */
  label: string;
  /** The varying values alone: for legends, where the table above names the axes. */
  shortLabel: string;
  samples: SampleIndex;
  instances: string[];
}

/** The axes that differ between configurations name them best; the others go above the table. */
function varyingAxes(report: RunReport): string[] {
  const axes = Object.keys(report.configs[0]?.axes ?? {});
  if (report.configs.length < 2) return axes;
  const varying = axes.filter((axis) => new Set(report.configs.map((c) => String(c.axes[axis]))).size > 1);
  return varying.length > 0 ? varying : axes;
}

function labelConfigs(report: RunReport, axes: readonly string[]): Labelled[] {
  return report.configs.map((config, index) => ({
    config,
    tag: `#${index + 1}`,
    color: colorOf(index),
    label: axes.map((axis) => `${axis}=${String(config.axes[axis])}`).join(', ') || config.id,
    shortLabel: axes.map((axis) => String(config.axes[axis])).join(' · '),
    samples: indexSamples(config),
    instances: instanceOrder(config),
  }));
}

function buildTimeChart(spec: TimeChartSpec, configs: readonly Labelled[]): TimeChart {
  const series: ChartSeries[] = [];
  const limits: { series: ChartSeries; limitBytes: number }[] = [];
  const markers: TimeChart['markers'] = [];
  for (const { config, tag, color, shortLabel, samples, instances: order } of configs) {
    const withData = order.filter((instance) => spec.lines.some((line) => pointsOf(samples, instance, line).length > 0));
    const instances = spec.hostWide ? withData.slice(0, 1) : withData;
    for (const instance of instances) {
      const perInstance = instances.length > 1 && !spec.hostWide;
      const name = `${tag} ${shortLabel}${perInstance ? ` · ${instance}` : ''}`;
      const dash = perInstance ? INSTANCE_DASHES[order.indexOf(instance) % INSTANCE_DASHES.length] : undefined;
      for (const line of spec.lines) {
        const points = pointsOf(samples, instance, line);
        if (points.length === 0) continue;
        const added: ChartSeries = {
          label: line.suffix ? `${name} ${line.suffix}` : name,
          color: line.style === 'faint' ? `${color}99` : color,
          width: line.style === 'faint' ? 1 : 2,
          ...(dash ? { dash } : {}),
          show: line.style !== 'hidden',
          points,
        };
        series.push(added);
        const limitBytes = spec.withLimits ? memoryLimitOf(config, instance) : undefined;
        if (limitBytes !== undefined) limits.push({ series: added, limitBytes });
      }
    }
    // Every chart of a configuration shows its kills: latency measured at the app tier still turns at replica a's kill.
    if (instances.length > 0) {
      const several = order.length > 1;
      for (const kill of oomKillTimes(config)) markers.push({ t: Math.round(kill.t) / 1000, color, label: `OOM ${tag}${several ? ` ${kill.instance}` : ''}` });
    }
  }
  const endT = Math.max(0, ...series.map((s) => s.points.at(-1)![0]), ...markers.map((m) => m.t));
  const distinctLimits = [...new Set(limits.map((l) => l.limitBytes))];
  if (distinctLimits.length === 1) {
    const limitBytes = distinctLimits[0]!;
    series.push({ label: `limit ${formatBytes(limitBytes)}`, color: LIMIT_COLOR, width: 1.5, dash: [4, 4], show: true, points: [[0, limitBytes], [endT, limitBytes]] });
  } else {
    for (const limit of limits) {
      series.push({ label: `${limit.series.label} limit`, color: limit.series.color, width: 1, dash: [4, 4], show: true, points: [[0, limit.limitBytes], [endT, limit.limitBytes]] });
    }
  }
  return { id: spec.id, unit: spec.unit, series, markers };
}

function peakBars(configs: readonly Labelled[]): PeakBar[] {
  const bars: PeakBar[] = [];
  for (const { config, tag, color, shortLabel } of configs) {
    const { peakMemoryBytes: peakBytes, memoryLimitBytes: limitBytes, predictedPeakBytes: predictedBytes } = config.metrics;
    if (peakBytes === undefined) continue;
    const ofLimit = limitBytes ? ` of ${formatBytes(limitBytes)} (${Math.round((peakBytes / limitBytes) * 100)}%)` : '';
    const predicted = predictedBytes !== undefined ? `, predicted ${formatBytes(predictedBytes)}` : '';
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

/** Long snake_case names (`@@open_files_limit`) may break after their underscores in a narrow header. */
function headerText(name: string): string {
  return escapeHtml(name).replace(/_/g, '_<wbr>');
}

function badge(verdict: ConfigResult['verdict']): string {
  return `<span class="badge ${verdict}">${verdict}</span>`;
}

function swatch(color: string): string {
  return `<span class="swatch" style="background:${color}"></span>`;
}

function renderHeader(report: RunReport): string {
  const { pass, fail, skipped, error } = report.summary;
  const drivers = [...new Set(report.configs.flatMap((c) => (c.metrics.driver ? [c.metrics.driver] : [])))];
  const ended = report.endedBy !== 'done'
    ? `<p class="warning">The run ended by <strong>${escapeHtml(report.endedBy)}</strong>${report.error ? `: ${escapeHtml(report.error)}` : ''}</p>`
    : '';
  return `<header>
<h1><span class="brand">oomlab</span> ${escapeHtml(report.scenario)}</h1>
<p class="incident">${escapeHtml(report.incident)}</p>
<p class="meta">run <code>${escapeHtml(report.runId)}</code> · started ${escapeHtml(report.startedAt)} · ${Math.round(report.durationMs / 1000)} s · <code>${escapeHtml(report.scenarioFile)}</code>${drivers.length > 0 ? ` · load driver ${escapeHtml(drivers.join(', '))}` : ''}</p>
<p class="summary"><span class="count pass">${pass} pass</span> <span class="count fail">${fail} fail</span> <span class="count skipped">${skipped} skipped</span> <span class="count error">${error} error</span></p>
${ended}</header>`;
}

function renderHostFacts(report: RunReport, configs: readonly Labelled[]): string {
  const host = report.host;
  const tagOf = new Map(configs.map((c) => [c.config.id, c.tag]));
  const emulatedIn = new Map<string, string[]>();
  for (const e of report.emulated) {
    const what = `${e.what} ${formatCount(e.requested)} for ${e.instance} (real limit ${formatCount(e.realLimit)}, ${e.how})`;
    emulatedIn.set(what, [...(emulatedIn.get(what) ?? []), tagOf.get(e.configId) ?? e.configId]);
  }
  const emulated = emulatedIn.size === 0 ? 'nothing' : [...emulatedIn].map(([what, tags]) => `${escapeHtml(what)} in ${escapeHtml(tags.join(', '))}`).join('<br>');
  const images = report.images
    .map((i) => `<code>${escapeHtml(i.name)}</code> ${i.available ? `available${i.source ? ` (${escapeHtml(i.source)}${i.builtInMs !== undefined ? ` in ${Math.round(i.builtInMs / 1000)} s` : ''})` : ''}` : `not available${i.reason ? `: ${escapeHtml(i.reason)}` : ''}`}`)
    .join('<br>');
  const rows: [string, string][] = [
    ['Kernel', escapeHtml(host.kernel)],
    ['cgroup version', `v${host.cgroupVersion}`],
    ['NUMA nodes', String(host.numaNodes)],
    ['Transparent huge pages', escapeHtml(host.thpMode)],
    ['nofile ceiling (hard RLIMIT_NOFILE)', formatCount(host.nofileHardLimit)],
    ['Emulated', emulated],
    ['Kernel log (dmesg) readable', yesNo(host.dmesgReadable)],
    ['bpftrace', yesNo(host.bpftrace)],
    ...(host.memoryController !== undefined ? [['Memory controller', yesNo(host.memoryController)] as [string, string]] : []),
    ...(host.swapAccounting !== undefined ? [['Swap accounting', yesNo(host.swapAccounting)] as [string, string]] : []),
    ...(host.k6 !== undefined ? [['k6 on PATH', yesNo(host.k6)] as [string, string]] : []),
    ...(images ? [['Images', images] as [string, string]] : []),
  ];
  return `<section id="host"><h2>Host</h2>
<table class="facts"><tbody>
${rows.map(([name, value]) => `<tr><th scope="row">${name}</th><td>${value}</td></tr>`).join('\n')}
</tbody></table></section>`;
}

function decidingEvidence(config: ConfigResult): { reason?: string; evidence?: string } {
  if (config.verdict === 'skipped' || config.verdict === 'error') return { reason: config.reason };
  const evidence = config.evidence[0]?.text;
  return {
    ...(config.verdict === 'fail' ? { reason: config.reason } : {}),
    ...(evidence !== undefined ? { evidence: `${config.evidence[0]!.source}: ${evidence}` } : {}),
  };
}

function renderVerdictTable(report: RunReport, configs: readonly Labelled[], axes: readonly string[]): string {
  const allAxes = Object.keys(report.configs[0]?.axes ?? {});
  const sameForAll = allAxes.filter((axis) => !axes.includes(axis));
  const emulatedIds = new Set(report.emulated.map((e) => e.configId));
  const withLoad = report.configs.some((c) => c.metrics.latencyMs !== undefined);
  const withRatio = report.configs.some((c) => c.metrics.connectionRatio !== undefined);
  const tagOf = new Map(configs.map((c) => [c.config.id, c.tag]));
  const regressions = new Map<string, string[]>();
  for (const r of report.baseline?.regressions ?? []) regressions.set(r.configId, [...(regressions.get(r.configId) ?? []), `${r.what} ${r.before} → ${r.after}`]);
  const headers = [
    '#',
    ...axes.map(headerText),
    'outcome',
    'verdict',
    'peak memory / limit',
    headerText('@@open_files_limit'),
    ...(withLoad ? ['peak connections', 'query p99', 'errors'] : []),
    ...(withRatio ? ['B:A connections'] : []),
    'deciding evidence',
  ];
  const rows = configs.map(({ config, tag, color }) => {
    const m = config.metrics;
    const axisCells = axes.map((axis) => {
      const value = escapeHtml(String(config.axes[axis]));
      return axis === 'nofile' && emulatedIds.has(config.id) ? `${value}<abbr title="emulated (getrlimit shim)">*</abbr>` : value;
    });
    const expected = Object.entries(config.expected);
    const expectedText = expected.length > 1 ? expected.map(([instance, outcome]) => `${instance}: ${outcome}`).join(', ') : expected.map(([, outcome]) => outcome).join('');
    const meter = m.peakMemoryBytes !== undefined && m.memoryLimitBytes
      ? `<span class="meter"><span style="width:${Math.min(100, Math.round((m.peakMemoryBytes / m.memoryLimitBytes) * 100))}%;background:${color}"></span></span>`
      : '';
    const peak = m.peakMemoryBytes !== undefined
      ? `${meter}${formatBytes(m.peakMemoryBytes)}${m.memoryLimitBytes ? ` / ${formatBytes(m.memoryLimitBytes)}` : ''}${m.peakRssBytes !== undefined ? `<br><small>rss ${formatBytes(m.peakRssBytes)}</small>` : ''}`
      : '';
    const predicted = m.predictedPeakBytes !== undefined ? `<br><small>predicted ${formatBytes(m.predictedPeakBytes)}</small>` : '';
    const errors = Object.entries(m.errorsByCode ?? {}).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${escapeHtml(code)}: ${n}`).join('<br>');
    const { reason, evidence } = decidingEvidence(config);
    const regressed = regressions.get(config.id);
    const cells = [
      `<td class="tag"><a href="#config-${tag.slice(1)}">${swatch(color)}${tag}</a></td>`,
      ...axisCells.map((cell) => `<td>${cell}</td>`),
      // The expectation only where it differs: a matching one repeats the outcome on every row.
      `<td class="outcome">${escapeHtml(config.outcome ?? '—')}${expectedText && expectedText !== config.outcome ? `<br><small>expected ${escapeHtml(expectedText)}</small>` : ''}</td>`,
      `<td>${badge(config.verdict)}${regressed ? ` <span class="badge regressed" title="${escapeHtml(regressed.join('; '))}">regressed</span>` : ''}</td>`,
      `<td class="num">${peak}${predicted}</td>`,
      `<td class="num">${m.openFilesLimit !== undefined ? formatCount(m.openFilesLimit) : ''}</td>`,
      ...(withLoad
        ? [
            `<td class="num">${m.peakConnections !== undefined ? formatCount(m.peakConnections) : ''}</td>`,
            `<td class="num">${m.latencyMs ? formatMs(m.latencyMs.p99) : ''}</td>`,
            `<td class="errors">${errors}</td>`,
          ]
        : []),
      ...(withRatio ? [`<td class="num">${m.connectionRatio !== undefined ? `${m.connectionRatio.toFixed(1)}:1` : ''}</td>`] : []),
      `<td class="evidence">${reason !== undefined ? `<div class="reason">${escapeHtml(reason)}</div>` : ''}${evidence !== undefined ? `<code>${escapeHtml(evidence)}</code>` : ''}</td>`,
    ];
    return `<tr class="${config.verdict}">${cells.join('')}</tr>`;
  });
  const common = sameForAll.length > 0
    ? `<p class="common">Every configuration: ${sameForAll.map((axis) => `${escapeHtml(axis)}=<code>${escapeHtml(String(report.configs[0]!.axes[axis]))}</code>`).join(' · ')}</p>`
    : '';
  const footnote = emulatedIds.size > 0 ? `<p class="footnote">* nofile above ${formatCount(report.host.nofileHardLimit)} is emulated (getrlimit shim): the container's real limit stays at the host's ceiling.</p>` : '';
  const regressionList = report.baseline
    ? `<p class="baseline">Against baseline run <code>${escapeHtml(report.baseline.baselineRunId)}</code> (${report.baseline.compared} compared): ${report.baseline.regressions.length === 0 ? 'no regressions' : `${report.baseline.regressions.length} regression(s)`}.</p>${
        report.baseline.regressions.length > 0
          ? `<ul class="regressions">${report.baseline.regressions.map((r) => `<li>${escapeHtml(tagOf.get(r.configId) ?? r.configId)}: ${escapeHtml(r.what)} ${escapeHtml(r.before)} → ${escapeHtml(r.after)}</li>`).join('')}</ul>`
          : ''
      }`
    : '';
  return `<section id="verdicts"><h2>Verdicts</h2>
${common}
<div class="table-wrap"><table class="verdicts">
<thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>
${footnote}${regressionList}</section>`;
}

type ChartState = 'drawn' | 'zero' | 'empty';

/** A flat line at zero says less than one sentence does, and takes a screen's height. */
function stateOf(chart: TimeChart): ChartState {
  if (chart.series.length === 0) return 'empty';
  return chart.series.every((s) => s.points.every(([, value]) => value === 0)) ? 'zero' : 'drawn';
}

function renderCharts(charts: readonly { spec: TimeChartSpec; chart: TimeChart; state: ChartState }[], peaks: readonly PeakBar[]): string {
  const figures: string[] = [];
  if (peaks.length > 0) {
    figures.push(
      '<figure class="chart wide" id="chart-peaks"><figcaption><strong>Peak memory against the limit</strong> <small>per configuration: the bar is the observed peak, the black tick the limit, the diamond the predicted peak</small></figcaption><canvas id="peaks-canvas"></canvas></figure>',
    );
  }
  for (const { spec, chart, state } of charts) {
    if (state !== 'drawn') continue;
    figures.push(
      `<figure class="chart" id="chart-${spec.id}"><figcaption><strong>${escapeHtml(spec.title)}</strong>${spec.note ? ` <small>${escapeHtml(spec.note)}</small>` : ''}</figcaption><div class="plot" id="plot-${chart.id}"></div></figure>`,
    );
  }
  const zero = charts.filter((c) => c.state === 'zero');
  const empty = charts.filter((c) => c.state === 'empty').map((c) => c.spec.title);
  if (peaks.length === 0) empty.unshift('Peak memory against the limit');
  const zeroLine = zero.length > 0
    ? `<p class="no-samples"><strong>Zero throughout</strong> (${zero.map((c) => `${escapeHtml(c.spec.title.toLowerCase())}: ${c.chart.series.reduce((n, s) => n + s.points.length, 0)} samples`).join('; ')})</p>`
    : '';
  const emptyLine = empty.length > 0 ? `<p class="no-samples"><strong>No samples</strong> for ${escapeHtml(empty.map((title) => title.toLowerCase()).join(', '))}: those charts are left out.</p>` : '';
  return `<section id="charts"><h2>Over time</h2>
<p class="axis-note">x: seconds since each configuration started. One line per configuration (per instance where a configuration has several, told apart by dashes); dashed vertical lines mark OOM kills.</p>
<div class="charts">
${figures.join('\n')}
</div>
${zeroLine}${emptyLine}
</section>`;
}

function pre(text: string, className = ''): string {
  return `<pre${className ? ` class="${className}"` : ''}>${escapeHtml(text)}</pre>`;
}

function at(o: Observation): string {
  return `${(o.t / 1000).toFixed(3)} s`;
}

/** The last SEMAPHORES section that showed waits, per instance; else what the metrics kept for the deciding instance. */
function renderSemaphores(config: ConfigResult): string {
  const order = instanceOrder(config);
  const withWaits = order.flatMap((instance) => {
    const last = config.observations.findLast((o): o is ObservationOf<'innodb-status'> => o.kind === 'innodb-status' && o.instance === instance && o.semaphoreWaits.length > 0);
    return last ? [last] : [];
  });
  if (withWaits.length > 0) {
    return withWaits.map((o) => `${order.length > 1 ? `<p class="instance">${escapeHtml(o.instance)} at ${at(o)}</p>` : ''}${pre(o.excerpt)}`).join('');
  }
  const excerpt = config.metrics.innodbSemaphoreExcerpt;
  if (excerpt) return pre(excerpt);
  return excerpt === '' ? '<p class="none">empty (MariaDB 10.6+ prints no semaphore waits there)</p>' : '<p class="none">not sampled</p>';
}

function renderEvidencePanel({ config, tag, color, label }: Labelled): string {
  const parts: string[] = [];
  parts.push(`<p class="reason">${escapeHtml(config.reason || '—')}</p>`);
  if (config.verdict === 'skipped') {
    return `<details class="panel" id="config-${tag.slice(1)}"><summary>${swatch(color)}<strong>${tag}</strong> ${escapeHtml(label)} ${badge(config.verdict)}</summary>${parts.join('')}<p class="id"><code>${escapeHtml(config.id)}</code></p></details>`;
  }
  parts.push(`<p class="id"><code>${escapeHtml(config.id)}</code> · ${Math.round(config.durationMs / 1000)} s · ended by ${escapeHtml(config.endedBy)}</p>`);
  if (config.instances.length > 1) {
    parts.push(
      `<table class="instances"><thead><tr><th>instance</th><th>outcome</th><th>verdict</th><th>peak memory</th><th>reason</th></tr></thead><tbody>${config.instances
        .map((i) => `<tr><td>${escapeHtml(i.instance)}</td><td>${escapeHtml(i.outcome)}</td><td>${badge(i.verdict)}</td><td class="num">${i.peakMemoryBytes !== undefined ? `${formatBytes(i.peakMemoryBytes)}${i.memoryLimitBytes ? ` / ${formatBytes(i.memoryLimitBytes)}` : ''}` : ''}</td><td>${escapeHtml(i.reason)}</td></tr>`)
        .join('')}</tbody></table>`,
    );
  }
  if (config.evidence.length > 0) parts.push(`<h4>Deciding evidence</h4>${pre(config.evidence.map((e) => `${e.source}: ${e.text}`).join('\n'))}`);
  const kernel = config.observations.filter((o) => o.kind === 'kernel-oom');
  parts.push(`<h4>Kernel OOM lines</h4>${kernel.length > 0 ? pre(kernel.map((o) => `[${at(o)}] ${o.instance}: ${o.line}`).join('\n'), 'kernel') : '<p class="none">none</p>'}`);
  const docker = config.observations.filter((o) => o.kind === 'docker-event' || o.kind === 'container-state');
  parts.push(`<h4>Docker events</h4>${docker.length > 0 ? pre(docker.map((o) => `[${at(o)}] ${o.instance}: ${formatWith(EVIDENCE, o)?.text ?? o.kind}`).join('\n')) : '<p class="none">none</p>'}`);
  parts.push(`<h4>InnoDB semaphores</h4>${renderSemaphores(config)}`);
  const logs = config.observations.filter((o) => o.kind === 'server-log');
  const logText = config.serverLogTail ?? (logs.length > 1 ? logs.map((o) => `--- ${o.instance} ---\n${o.tail}`).join('\n') : logs[0]?.tail);
  parts.push(`<h4>Server log tail</h4>${logText ? pre(logText, 'log') : '<p class="none">none</p>'}`);
  // Every kind through the judge's per-kind formatter: a new kind shows up here without edits.
  const events = config.observations
    .map((o) => ({ o, line: formatWith(EVIDENCE, o) }))
    .filter((e): e is { o: Observation; line: NonNullable<typeof e.line> } => e.line !== undefined);
  const leftOut = config.observations.length - events.length;
  parts.push(
    `<details class="timeline"><summary>Timeline: ${events.length} events (${leftOut} samples, quiet InnoDB reads and log tails left out)</summary>${pre(
      events.map(({ o, line }) => `[${at(o)}] ${'instance' in o ? `${o.instance} ` : ''}${line.source}: ${line.text}`).join('\n'),
    )}</details>`,
  );
  const open = config.verdict === 'fail' || config.verdict === 'error' ? ' open' : '';
  return `<details class="panel" id="config-${tag.slice(1)}"${open}><summary>${swatch(color)}<strong>${tag}</strong> ${escapeHtml(label)} ${badge(config.verdict)} <span class="outcome">${escapeHtml(config.outcome ?? '—')}</span></summary>${parts.join('\n')}</details>`;
}

/** The browser side: uPlot for the time charts, a plain canvas for the peak bars. No network, no modules. */
const DRAW_SCRIPT = String.raw`(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('oomlab-chart-data').textContent);
  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function fmtBytes(v) {
    if (v == null) return '—';
    var x = Math.abs(v), u = 0;
    while (x >= 1024 && u < UNITS.length - 1) { x /= 1024; u++; }
    return (v < 0 ? '-' : '') + (x >= 100 || u === 0 ? Math.round(x) : parseFloat(x.toFixed(2))) + ' ' + UNITS[u];
  }
  function fmtNumber(v) {
    if (v == null) return '—';
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
    return String(Math.round(v * 10) / 10);
  }
  function fmtMs(v) {
    if (v == null) return '—';
    return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + ' s' : Math.round(v * 10) / 10 + ' ms';
  }
  var FORMAT = { bytes: fmtBytes, ms: fmtMs, count: fmtNumber, rate: function (v) { return v == null ? '—' : fmtNumber(v) + '/s'; } };
  var BYTE_INCRS = [];
  for (var k = 0; k < 5; k++) for (var p = 0; p < 10; p++) BYTE_INCRS.push(Math.pow(2, p) * Math.pow(1024, k));

  // uPlot wants one x array for every series: join the sample times, null where a series has none.
  function align(series) {
    var seen = new Map();
    series.forEach(function (s) { s.points.forEach(function (pt) { seen.set(pt[0], true); }); });
    var xs = Array.from(seen.keys()).sort(function (a, b) { return a - b; });
    var index = new Map(xs.map(function (x, i) { return [x, i]; }));
    return [xs].concat(series.map(function (s) {
      var ys = xs.map(function () { return null; });
      s.points.forEach(function (pt) { ys[index.get(pt[0])] = pt[1]; });
      return ys;
    }));
  }

  function drawMarkers(markers) {
    return function (u) {
      var ratio = uPlot.pxRatio, ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
      ctx.save();
      ctx.setLineDash([5 * ratio, 3 * ratio]);
      ctx.lineWidth = 1.5 * ratio;
      ctx.font = 11 * ratio + 'px system-ui, sans-serif';
      // Labels go on the first text row where they do not overlap an earlier one.
      var rowEnds = [];
      markers.slice().sort(function (a, b) { return a.t - b.t; }).forEach(function (m) {
        var x = Math.round(u.valToPos(m.t, 'x', true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.strokeStyle = m.color;
        ctx.fillStyle = m.color;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
        var width = ctx.measureText(m.label).width;
        var flip = x + width + 4 * ratio > u.bbox.left + u.bbox.width;
        var start = flip ? x - width - 4 * ratio : x + 4 * ratio;
        var row = 0;
        while (row < rowEnds.length && rowEnds[row] > start - 3 * ratio) row++;
        rowEnds[row] = start + width;
        ctx.textAlign = 'left';
        ctx.fillText(m.label, start, top + (12 + 13 * row) * ratio);
      });
      ctx.restore();
    };
  }

  var plots = [];
  data.charts.forEach(function (chart) {
    var el = document.getElementById('plot-' + chart.id);
    if (!el || chart.series.length === 0) return;
    var fmt = FORMAT[chart.unit];
    var lastMarker = chart.markers.reduce(function (m, k) { return Math.max(m, k.t); }, 0);
    var yAxis = { size: 72, values: function (u, ticks) { return ticks.map(fmt); } };
    if (chart.unit === 'bytes') yAxis.incrs = BYTE_INCRS;
    var opts = {
      width: Math.max(300, el.clientWidth),
      height: 280,
      scales: {
        x: { time: false, range: function (u, min, max) { return [0, Math.max(max || 0, lastMarker) || 1]; } },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; } }
      },
      axes: [
        { values: function (u, ticks) { return ticks.map(function (t) { return t + ' s'; }); } },
        yAxis
      ],
      series: [{ label: 'time', value: function (u, v) { return v == null ? '—' : v.toFixed(1) + ' s'; } }].concat(chart.series.map(function (s) {
        var line = { label: s.label, stroke: s.color, width: s.width, show: s.show, spanGaps: true, value: function (u, v) { return fmt(v); } };
        if (s.dash) line.dash = s.dash;
        return line;
      })),
      hooks: { draw: [drawMarkers(chart.markers)] }
    };
    plots.push({ el: el, plot: new uPlot(opts, align(chart.series), el) });
  });

  function niceStep(max, target) {
    var step = 1;
    while (max / step > target) step *= 2;
    return step;
  }

  function drawPeaks() {
    var canvas = document.getElementById('peaks-canvas');
    var rows = data.peaks;
    if (!canvas || rows.length === 0) return;
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(360, canvas.parentElement.clientWidth);
    var rowHeight = 24, top = 30, left = 48, right = 420, bottom = 26;
    var height = top + rows.length * rowHeight + bottom;
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    // The scale follows what was observed and the limits; a prediction far beyond them (154 GiB beside
    // 1 GiB) sits at the right edge with an arrow, its value in the label, instead of flattening every bar.
    var observedMax = rows.reduce(function (m, r) { return Math.max(m, r.peakBytes, r.limitBytes || 0); }, 1);
    var max = rows.reduce(function (m, r) { return Math.max(m, Math.min(r.predictedBytes || 0, observedMax * 1.5)); }, observedMax);
    var plotWidth = Math.max(80, width - left - right);
    function x(v) { return left + (v / max) * plotWidth; }
    var step = niceStep(max, 6);
    var axisY = top + rows.length * rowHeight;
    ctx.strokeStyle = '#e3e6ea';
    ctx.fillStyle = '#667';
    ctx.textAlign = 'center';
    for (var v = 0; v <= max; v += step) {
      ctx.beginPath(); ctx.moveTo(x(v), top - 4); ctx.lineTo(x(v), axisY); ctx.stroke();
      ctx.fillText(fmtBytes(v), x(v), axisY + 12);
    }
    ctx.textAlign = 'left';
    ctx.fillStyle = '#778'; ctx.fillRect(left, 8, 14, 10);
    ctx.fillStyle = '#333'; ctx.fillText('observed peak', left + 20, 13);
    ctx.fillStyle = '#111'; ctx.fillRect(left + 118, 6, 2, 14);
    ctx.fillStyle = '#333'; ctx.fillText('limit', left + 126, 13);
    if (rows.some(function (r) { return r.predictedBytes != null; })) {
      diamond(left + 176, 13, '#333'); ctx.fillStyle = '#333'; ctx.fillText('predicted', left + 186, 13);
    }
    function diamond(cx, cy, color) {
      ctx.fillStyle = color;
      ctx.beginPath(); ctx.moveTo(cx, cy - 6); ctx.lineTo(cx + 6, cy); ctx.lineTo(cx, cy + 6); ctx.lineTo(cx - 6, cy); ctx.closePath(); ctx.fill();
      ctx.strokeStyle = '#fff'; ctx.lineWidth = 1; ctx.stroke();
    }
    rows.forEach(function (r, i) {
      var y = top + i * rowHeight, mid = y + rowHeight / 2;
      ctx.fillStyle = '#223'; ctx.textAlign = 'right';
      ctx.fillText(r.label, left - 8, mid);
      ctx.fillStyle = r.color;
      ctx.fillRect(left, y + 5, Math.max(1, x(r.peakBytes) - left), rowHeight - 10);
      var end = x(r.peakBytes);
      if (r.limitBytes != null) {
        ctx.fillStyle = '#111';
        ctx.fillRect(x(r.limitBytes) - 1, y + 1, 2, rowHeight - 2);
        end = Math.max(end, x(r.limitBytes));
      }
      if (r.predictedBytes != null) {
        var beyond = r.predictedBytes > max;
        var px = x(Math.min(r.predictedBytes, max));
        diamond(px, mid, '#333');
        if (beyond) { ctx.fillStyle = '#333'; ctx.textAlign = 'left'; ctx.fillText('\u2192', px + 7, mid); }
        end = Math.max(end, px + (beyond ? 20 : 6));
      }
      ctx.fillStyle = '#223'; ctx.textAlign = 'left';
      ctx.fillText(r.text, end + 8, mid);
      ctx.fillStyle = '#7a8290';
      ctx.fillText(r.note, end + 16 + ctx.measureText(r.text).width, mid);
    });
  }

  drawPeaks();
  var resizeTimer;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) { p.plot.setSize({ width: Math.max(300, p.el.clientWidth), height: 280 }); });
      drawPeaks();
    }, 100);
  });
})();`;

const PAGE_STYLE = `
:root { --ink: #1d2330; --muted: #5c6577; --line: #dde1e7; --bg: #f6f7f9; --pass: #1e7b34; --fail: #c62828; --skipped: #6b7280; --error: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1600px; margin: 0 auto; padding: 20px 28px 48px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
.brand { color: var(--muted); font-weight: 500; }
.incident { margin: 0 0 6px; font-size: 16px; }
.meta { margin: 0 0 10px; color: var(--muted); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
.summary { margin: 0; }
.count { display: inline-block; padding: 3px 10px; border-radius: 999px; font-weight: 600; color: #fff; margin-right: 4px; }
.count.pass, .badge.pass { background: var(--pass); }
.count.fail, .badge.fail { background: var(--fail); }
.count.skipped, .badge.skipped { background: var(--skipped); }
.count.error, .badge.error { background: var(--error); }
.badge.regressed { background: #7c3aed; }
.warning { background: #fff4e5; border-left: 4px solid var(--error); padding: 8px 12px; }
section { margin-top: 26px; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h4 { margin: 14px 0 4px; font-size: 13px; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef0f4; font-weight: 600; position: sticky; top: 0; }
table.facts th { font-weight: 500; color: var(--muted); white-space: nowrap; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table.verdicts { width: 100%; }
table.verdicts tbody tr:nth-child(even) { background: #fafbfc; }
table.verdicts tr.fail td.tag, table.verdicts tr.error td.tag { box-shadow: inset 4px 0 0 var(--fail); }
td.num { text-align: right; white-space: nowrap; }
td.tag a { color: inherit; text-decoration: none; font-weight: 600; white-space: nowrap; }
td.errors { font-size: 12px; min-width: 130px; }
td.outcome { white-space: nowrap; }
td.outcome small { color: var(--muted); white-space: normal; display: inline-block; max-width: 170px; }
td.evidence { min-width: 260px; }
td.evidence code { display: block; word-break: break-all; color: #333; }
td.evidence .reason { font-weight: 600; font-size: 13px; margin-bottom: 2px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; color: #fff; font-size: 12px; font-weight: 600; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.meter { display: block; height: 4px; background: #e5e7eb; border-radius: 2px; margin: 3px 0 3px auto; width: 100%; min-width: 90px; }
.meter span { display: block; height: 4px; border-radius: 2px; margin-left: 0; }
.common, .footnote, .baseline, .axis-note { color: var(--muted); margin: 6px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
figure.chart.wide { grid-column: 1 / -1; }
figcaption { margin-bottom: 6px; }
figcaption small { color: var(--muted); }
.plot { width: 100%; }
.uplot { width: 100%; }
.u-legend { font-size: 12px; text-align: left; }
.u-legend .u-series > * { padding: 1px 4px; }
.no-samples { color: var(--muted); margin: 6px 0; }
details.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 6px 12px; }
details.panel > summary { cursor: pointer; padding: 4px 0; }
details.panel .outcome { color: var(--muted); }
details.timeline > summary { cursor: pointer; color: var(--muted); margin-top: 10px; }
pre { background: #f3f4f6; border: 1px solid var(--line); border-radius: 4px; padding: 8px; margin: 0; white-space: pre-wrap; word-break: break-all; max-height: 320px; overflow: auto; }
pre.kernel { background: #fff5f5; }
.none { color: var(--muted); margin: 0; }
.instance { margin: 6px 0 2px; font-weight: 600; }
.id { color: var(--muted); margin: 2px 0; word-break: break-all; }
table.instances { margin-top: 6px; }
`;

/** report.html: one file, viewable offline. Pure: the same report gives the same bytes. */
export function renderHtml(report: RunReport): string {
  const axes = varyingAxes(report);
  const configs = labelConfigs(report, axes);
  const charts = TIME_CHARTS.map((spec) => {
    const chart = buildTimeChart(spec, configs);
    return { spec, chart, state: stateOf(chart) };
  });
  const peaks = peakBars(configs);
  const data: ChartData = { charts: charts.filter((c) => c.state === 'drawn').map((c) => c.chart), peaks };
  const { script, style } = uplot();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>oomlab · ${escapeHtml(report.scenario)} · ${escapeHtml(report.runId)}</title>
<style>${style}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
${renderHeader(report)}
${renderHostFacts(report, configs)}
${renderVerdictTable(report, configs, axes)}
${renderCharts(charts, peaks)}
<section id="evidence"><h2>Evidence</h2>
${configs.map(renderEvidencePanel).join('\n')}
</section>
</main>
<script type="application/json" id="oomlab-chart-data">${scriptJson(data)}</script>
<script>${script}</script>
<script>${DRAW_SCRIPT}</script>
</body>
</html>
`;
}
