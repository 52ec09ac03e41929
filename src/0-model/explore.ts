// A scenario without `expect` explores: nothing is judged against a claim, so the report ranks its
// configurations by the memory they had left and says on top which survive and which still die.
import type { ConfigResult, RunReport } from './report.ts';
import { formatBytes } from './units.ts';
import { sharedBudgetPeak } from './answer.ts';

export interface RankedConfig {
  config: ConfigResult;
  /** The axes that differ between configurations: what a reader tells them apart by. */
  label: string;
  /** The limit less the anonymous peak (page cache the kernel can reclaim is not counted), for a survivor whose limit and peak are known. */
  headroomBytes?: number;
}

/** No configuration was given an expectation: the run explores. */
export function isExplore(report: Pick<RunReport, 'configs'>): boolean {
  return report.configs.length > 0 && report.configs.every((c) => Object.keys(c.expected).length === 0);
}

function labelOf(config: ConfigResult, varying: readonly string[]): string {
  const axes = varying.length > 0 ? varying : Object.keys(config.axes);
  return axes.map((axis) => `${axis}=${config.axes[axis]}`).join(' ');
}

/** The highest rss the load sampler read, in a report from before the headline peak was the anonymous one. */
function sampledRssPeak(config: ConfigResult): number | undefined {
  const rss = config.observations.filter((o) => o.kind === 'sample' && o.source === 'cgroup' && o.metric === 'memoryRssBytes').map((o) => (o as { value: number }).value);
  return rss.length > 0 ? Math.max(...rss) : undefined;
}

const GROUP = (c: ConfigResult) => (c.outcome === 'survived' ? 0 : c.outcome?.startsWith('oom-killed') ? 1 : 2);

/** Survivors first, most headroom first; then the killed; then what could not be decided. */
export function rankByHeadroom(report: Pick<RunReport, 'configs'>): RankedConfig[] {
  const axes = Object.keys(report.configs[0]?.axes ?? {});
  const varying = axes.filter((axis) => new Set(report.configs.map((c) => String(c.axes[axis]))).size > 1);
  const ranked = report.configs.map((config) => {
    const m = config.metrics;
    const limit = m.memoryLimitBytes;
    // The anonymous peak: the headline where the report has the split, else the load sampler's rss, else the cgroup's peak.
    const own = m.peakUsageBytes !== undefined ? m.peakMemoryBytes : (m.peakRssBytes ?? sampledRssPeak(config) ?? m.peakMemoryBytes);
    // In a budget other tenants share, the budget's own peak; not known where the steps' neighbours were not measured.
    const shared = sharedBudgetPeak(config);
    const peak = shared.unknownShare ? undefined : (shared.budgetPeak ?? own);
    const headroom = config.outcome === 'survived' && limit !== undefined && peak !== undefined ? (shared.ranOut ? 0 : limit - peak) : undefined;
    return { config, label: labelOf(config, varying), ...(headroom !== undefined ? { headroomBytes: headroom } : {}) };
  });
  return ranked.sort((a, b) => GROUP(a.config) - GROUP(b.config) || (b.headroomBytes ?? Number.NEGATIVE_INFINITY) - (a.headroomBytes ?? Number.NEGATIVE_INFINITY));
}

function names(labels: readonly string[]): string {
  return labels.length <= 1 ? (labels[0] ?? '') : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

/** Where a configuration died: its limit and the phase, `at 2 GiB (oom-killed-under-load)`. */
function diesAt(r: RankedConfig): string {
  const limit = r.config.metrics.memoryLimitBytes;
  return `${limit !== undefined ? `at ${formatBytes(limit)} ` : ''}(${r.config.outcome})`;
}

/** `C still dies at 2 GiB (oom-killed-under-load)`; several dying alike are named together. */
function stillDie(killed: readonly RankedConfig[]): string {
  const alike = new Map<string, string[]>();
  for (const r of killed) alike.set(diesAt(r), [...(alike.get(diesAt(r)) ?? []), r.label]);
  return [...alike].map(([at, labels]) => `${names(labels)} still ${labels.length === 1 ? 'dies' : 'die'} ${at}`).join('; ');
}

/** The line on top of an explore report: `only A and B survive (most headroom: A, 512 MiB left); C still dies at 2 GiB (oom-killed-under-load)`. */
export function exploreSummary(report: Pick<RunReport, 'configs'>): string {
  const ranked = rankByHeadroom(report);
  const survivors = ranked.filter((r) => r.config.outcome === 'survived');
  const killed = ranked.filter((r) => r.config.outcome?.startsWith('oom-killed'));
  const other = ranked.filter((r) => !survivors.includes(r) && !killed.includes(r));
  const best = survivors[0];
  const most = best?.headroomBytes !== undefined ? ` (most headroom: ${best.label}, ${formatBytes(best.headroomBytes)} left)` : '';
  const parts = [
    survivors.length === 0
      ? 'none survives'
      : survivors.length === ranked.length
        ? `all ${ranked.length} survive${most}`
        : `only ${names(survivors.map((r) => r.label))} ${survivors.length === 1 ? 'survives' : 'survive'}${most}`,
    ...(killed.length > 0 ? [stillDie(killed)] : []),
    ...(other.length > 0 ? [`${names(other.map((r) => `${r.label} (${r.config.outcome ?? r.config.verdict})`))} undecided`] : []),
  ];
  return parts.join('; ');
}
