// Each NUMA node's lowest free memory over a configuration, for every configuration (survivors too): a reader
// compares how close the confined node came with how much the others kept, without opening the chart.
import type { ConfigResult } from '../0-model/report.ts';
import { formatBytes } from '../0-model/units.ts';
import { nodeOfFreeMetric } from '../4-observe/index.ts';

/** `node 0 2.3 GiB, node 1 20 MiB`, or nothing when fewer than two nodes were sampled. */
export function numaFreeMinimaText(config: Pick<ConfigResult, 'observations'>): string | undefined {
  const lowest = new Map<number, number>();
  for (const o of config.observations) {
    if (o.kind !== 'sample' || o.source !== 'host') continue;
    const node = nodeOfFreeMetric(o.metric);
    if (node !== undefined) lowest.set(node, Math.min(lowest.get(node) ?? Number.POSITIVE_INFINITY, o.value));
  }
  if (lowest.size < 2) return undefined;
  return [...lowest]
    .sort(([a], [b]) => a - b)
    .map(([node, bytes]) => `node ${node} ${formatBytes(bytes)}`)
    .join(', ');
}
