// Each NUMA node's lowest free memory over a configuration, for every configuration (survivors too): a reader
// compares how close the confined node came with how much the others kept, without opening the chart.
import type { ConfigResult } from '../0-model/report.ts';
import { formatBytes } from '../0-model/units.ts';

const NODE_FREE = /^node(\d+)FreeBytes$/;

/** `node 0 lowest 2.2 GiB free, node 1 lowest 20 MiB free`, or nothing when fewer than two nodes were sampled. */
export function numaFreeMinimaText(config: Pick<ConfigResult, 'observations'>): string | undefined {
  const lowest = new Map<number, number>();
  for (const o of config.observations) {
    if (o.kind !== 'sample' || o.source !== 'host') continue;
    const node = NODE_FREE.exec(o.metric);
    if (!node) continue;
    const n = Number(node[1]);
    lowest.set(n, Math.min(lowest.get(n) ?? Number.POSITIVE_INFINITY, o.value));
  }
  if (lowest.size < 2) return undefined;
  return [...lowest]
    .sort(([a], [b]) => a - b)
    .map(([node, bytes]) => `node ${node} ${formatBytes(bytes)}`)
    .join(', ');
}
