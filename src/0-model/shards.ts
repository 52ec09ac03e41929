// How a shard or a merged report says what it is made of: one text for report.md and report.html.
import type { HostFacts } from './host.ts';
import type { RunReport } from './report.ts';

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** Sentences for the report's head: which part of the matrix a shard ran, or which shards and hosts a merged report joins. */
export function shardLines(report: RunReport): string[] {
  if (report.shard) {
    const { index, count, matrixIds } = report.shard;
    return [`Shard ${index}/${count}: ${report.configs.length} of the matrix's ${matrixIds.length} configurations; \`oomlab merge\` joins the shards into one report.`];
  }
  const shards = report.merged?.shards;
  if (!shards) return [];
  const parts = shards.map(
    (s) => `${s.index}/${s.count} ${s.configIds.length} configuration${s.configIds.length === 1 ? '' : 's'} in ${seconds(s.durationMs)}${s.endedBy !== 'done' ? ` (ended by ${s.endedBy})` : ''}`,
  );
  const longest = Math.max(...shards.map((s) => s.durationMs));
  const total = shards.reduce((sum, s) => sum + s.durationMs, 0);
  const lines = [`Merged from ${shards.length} shards: ${parts.join(', ')}; the longest took ${seconds(longest)}, all together ${seconds(total)}.`];
  const differing = hostDifferences(shards);
  lines.push(
    differing.length === 0
      ? 'Every shard ran on a host with the same facts.'
      : `The shards' hosts differ — ${differing.join('; ')}; the host facts shown are shard ${shards[0]!.index}/${shards[0]!.count}'s.`,
  );
  return lines;
}

/** `kernel 6.1.0 (1/3, 2/3), 6.8.0 (3/3)` for each host fact that is not the same on every shard. */
export function hostDifferences(shards: readonly { index: number; count: number; host: HostFacts }[]): string[] {
  const keys = [...new Set(shards.flatMap((s) => Object.keys(s.host)))] as (keyof HostFacts)[];
  const lines: string[] = [];
  for (const key of keys) {
    const byValue = new Map<string, string[]>();
    for (const s of shards) {
      const value = String(s.host[key]);
      byValue.set(value, [...(byValue.get(value) ?? []), `${s.index}/${s.count}`]);
    }
    if (byValue.size > 1) lines.push(`${key} ${[...byValue].map(([value, where]) => `${value} (${where.join(', ')})`).join(', ')}`);
  }
  return lines;
}
