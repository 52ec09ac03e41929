import type { ConfigMetrics } from './report.ts';
import { formatBytes } from './units.ts';

/**
 * The memory model's figures a reader holds against the peak: the expected peak where the image's footprint was
 * measured, beside the worst case, labelled as such; else the peak for the load the scenario drives when it has
 * one (the worst case then beside it), else the worst case.
 */
export function predictedText(m: ConfigMetrics): string | undefined {
  if (m.expectedPeakBytes !== undefined) {
    const load = m.predictedLoadPeakBytes !== undefined && m.predictedLoadConnections !== undefined;
    const worst = load ? `${formatBytes(m.predictedLoadPeakBytes!)} for ${m.predictedLoadConnections} connections` : m.predictedPeakBytes !== undefined ? formatBytes(m.predictedPeakBytes) : '';
    return `expected ${formatBytes(m.expectedPeakBytes)}${worst ? `; worst case ${worst}` : ''}`;
  }
  if (m.predictedLoadPeakBytes !== undefined && m.predictedLoadConnections !== undefined) {
    const worst = m.predictedPeakBytes !== undefined && m.predictedPeakBytes !== m.predictedLoadPeakBytes ? `; worst case ${formatBytes(m.predictedPeakBytes)}` : '';
    return `predicted ${formatBytes(m.predictedLoadPeakBytes)} for ${m.predictedLoadConnections} connections${worst}`;
  }
  return m.predictedPeakBytes !== undefined ? `predicted ${formatBytes(m.predictedPeakBytes)}` : undefined;
}

/** Where the memory model's figures are defined, for a reader of a report. */
export const MEMORY_MODEL_DOC = 'docs/memory-model.md, "The expected peak" and "The formula"';

/**
 * What the memory model's words beside a peak mean, for the line under the table that first shows them: only
 * the words that appear (`expected`, `… for N connections`, `worst case`).
 */
export function predictionLegend(metrics: readonly ConfigMetrics[]): { term: string; meaning: string }[] {
  const texts = metrics.map(predictedText).filter((t): t is string => t !== undefined);
  const terms: { term: string; meaning: string }[] = [];
  if (texts.some((t) => t.startsWith('expected '))) {
    terms.push({
      term: 'expected',
      meaning:
        "the memory model's prediction of the anonymous peak: the image's measured start-up footprint, the open-file table, the buffer pool as far as the data and the warm-up fill it, performance_schema, and the connections the workload holds at once, each with the buffers its statements fill",
    });
  }
  if (texts.some((t) => / for \d+ connections/.test(t))) {
    terms.push({ term: '… for N connections', meaning: 'the N connections the workload can hold at once, each with all its buffers at their maximum' });
  }
  const bound = 'every connection max_connections allows, each with all its buffers at their maximum: a bound, not a forecast';
  if (texts.some((t) => /worst case \S+ \S+$/.test(t))) terms.push({ term: 'worst case', meaning: bound });
  if (texts.some((t) => /^predicted \S+ \S+$/.test(t))) terms.push({ term: 'predicted', meaning: bound });
  return terms;
}

/**
 * The peak a reader holds against the limit: the anonymous memory (what the OOM killer weighs) with the page
 * cache beside it, `1.43 GiB anon / 2 GiB (+ 590 MiB page cache)`; a report from before the split shows the
 * cgroup's peak, page cache counted, with the load sampler's rss.
 */
export function peakMemoryText(m: Pick<ConfigMetrics, 'peakMemoryBytes' | 'peakCacheBytes' | 'peakUsageBytes' | 'memoryLimitBytes' | 'peakRssBytes'>): string | undefined {
  if (m.peakMemoryBytes === undefined) return undefined;
  const limit = m.memoryLimitBytes ? ` / ${formatBytes(m.memoryLimitBytes)}` : '';
  if (m.peakUsageBytes === undefined) return `${formatBytes(m.peakMemoryBytes)}${limit}${m.peakRssBytes !== undefined ? ` (rss ${formatBytes(m.peakRssBytes)})` : ''}`;
  return `${formatBytes(m.peakMemoryBytes)} anon${limit}${m.peakCacheBytes !== undefined ? ` (+ ${formatBytes(m.peakCacheBytes)} page cache)` : ''}`;
}

/** An axis value the run could only emulate (a nofile above the host's ceiling), told by the data, not by the axis name. */
export function isEmulatedValue(config: { emulated: readonly { requested: number | string }[] }, value: string): boolean {
  return config.emulated.some((fact) => String(fact.requested) === value);
}
