// The memory model's answers in words: one line for the plan's warnings, one for the load the scenario drives.
import type { MemoryPrediction } from '../0-model/prediction.ts';
import { formatBytes } from '../0-model/units.ts';
import { cannotStart } from './memory-model.ts';

/**
 * One line for the plan: the worst case against the limit and the term that dominates it,
 * e.g. `…: predicted worst case 18.7 GiB > limit 4 GiB: open-file table 16 GiB (open_files_limit 1073741816 × 16 B), allocated at start-up`.
 */
export function formatPredictionWarning(configId: string, prediction: MemoryPrediction): string {
  const largest = [...prediction.terms].sort((a, b) => b.bytes - a.bytes)[0];
  if (prediction.limitBytes === undefined || !largest) {
    return `${configId}: predicted worst case ${formatBytes(prediction.predictedPeakBytes)}, no memory limit to compare with`;
  }
  const limit = formatBytes(prediction.limitBytes);
  const worst = formatBytes(prediction.predictedPeakBytes);
  if (prediction.fits) {
    return `${configId}: predicted worst case ${worst} ≤ limit ${limit} (headroom ${formatBytes(prediction.headroomBytes ?? 0)})`;
  }
  const when = cannotStart(prediction) ? 'allocated at start-up: it cannot start' : largest.phase === 'per-connection' ? 'under load' : 'once the buffers fill';
  return `${configId}: predicted worst case ${worst} > limit ${limit}: ${largest.name} ${formatBytes(largest.bytes)} (${largest.formula}), ${when}`;
}

/**
 * The load peak against the limit and which figure the limit must cover, e.g. `load peak 46.6 GiB for 600
 * connections (min(...) = 600) > limit 1.5 GiB, which holds 12 connections at their buffers' maximum; to
 * survive this load the limit must cover the load peak, not the worst case 154 GiB`. Undefined without a load.
 */
export function formatLoadPeak(prediction: MemoryPrediction): string | undefined {
  const load = prediction.load;
  if (!load) return undefined;
  const head = `load peak ${formatBytes(load.peakBytes)} for ${load.connections} connections (${load.formula})`;
  if (prediction.limitBytes === undefined) return `${head}, no memory limit to compare with`;
  const holds = prediction.connectionsWithinLimit !== undefined ? `, which holds ${prediction.connectionsWithinLimit} connections at their buffers' maximum` : '';
  const against = `${head} ${load.fits ? '≤' : '>'} limit ${formatBytes(prediction.limitBytes)}${holds}`;
  return load.limitMustCover === 'worst-case'
    ? `${against}; the load reaches max_connections, so the limit must cover the worst case`
    : `${against}; to survive this load the limit must cover the load peak, not the worst case ${formatBytes(prediction.predictedPeakBytes)}`;
}
