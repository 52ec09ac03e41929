// `oomlab merge`: one report from the reports of `oomlab run --shard I/N`, refusing with one line
// anything that would not be the whole matrix of one scenario version, each configuration once.
import { randomBytes } from 'node:crypto';
import { MergeRefusedError } from '../0-model/errors.ts';
import { summarize, type ConfigResult, type EndedBy, type MergedShard, type RunReport } from '../0-model/report.ts';
import { shardOf } from '../2-plan/shard.ts';

export interface ShardReport {
  report: RunReport;
  /** Where it was read from, for the messages. */
  file: string;
}

const ENDED_RANK: Record<EndedBy, number> = { done: 0, timeout: 1, error: 2, cancel: 3 };

function shardName(r: ShardReport): string {
  return r.report.shard ? `${r.report.shard.index}/${r.report.shard.count}` : 'no shard';
}

function listed(ids: readonly string[]): string {
  return ids.join(', ');
}

/** The first pair of shards that differ in `key`, or undefined when all agree. */
function firstDiffering<T>(shards: readonly ShardReport[], key: (r: RunReport) => T): [ShardReport, ShardReport] | undefined {
  const first = shards[0]!;
  const other = shards.find((s) => JSON.stringify(key(s.report)) !== JSON.stringify(key(first.report)));
  return other ? [first, other] : undefined;
}

/** Every reason not to merge, checked before anything is written; the first found is thrown. */
export function checkShards(shards: readonly ShardReport[]): void {
  if (shards.length === 0) throw new MergeRefusedError('no shard reports given — e.g. `oomlab merge shards/*` with the report folders of `oomlab run --shard I/N`');
  const plain = shards.find((s) => !s.report.shard);
  if (plain) throw new MergeRefusedError(`${plain.file} is not a shard report (it has no shard) — merge the report folders of \`oomlab run --shard I/N\``);
  let pair = firstDiffering(shards, (r) => r.schemaVersion);
  if (pair) {
    const [a, b] = pair;
    throw new MergeRefusedError(
      `shards of different report schema versions: ${a.file} is ${a.report.schemaVersion}, ${b.file} is ${b.report.schemaVersion} — rerun every shard with one oomlab version`,
    );
  }
  pair = firstDiffering(shards, (r) => r.scenario);
  if (pair) {
    const [a, b] = pair;
    throw new MergeRefusedError(`shards of different scenarios: ${a.file} is ${a.report.scenario}, ${b.file} is ${b.report.scenario} — merge the shards of one scenario`);
  }
  const scenario = shards[0]!.report.scenario;
  pair = firstDiffering(shards, (r) => r.scenarioSha256 ?? 'unknown');
  if (pair) {
    const [a, b] = pair;
    const short = (r: RunReport) => r.scenarioSha256?.slice(0, 12) ?? 'an unrecorded version';
    throw new MergeRefusedError(
      `shards of different versions of ${scenario}: ${a.file} ran ${short(a.report)}, ${b.file} ran ${short(b.report)} (sha256 of the scenario file) — rerun every shard from one version`,
    );
  }
  pair = firstDiffering(shards, (r) => r.shard!.count);
  if (pair) {
    const [a, b] = pair;
    throw new MergeRefusedError(`shards of different splits of ${scenario}: ${a.file} is ${shardName(a)}, ${b.file} is ${shardName(b)} — merge the shards of one --shard I/N split`);
  }
  pair = firstDiffering(shards, (r) => r.shard!.matrixIds);
  if (pair) {
    const [a, b] = pair;
    throw new MergeRefusedError(
      `shards of different matrices of ${scenario}: ${a.file} has ${a.report.shard!.matrixIds.length} configurations, ${b.file} has ${b.report.shard!.matrixIds.length} (--set or --only differ) — run every shard with the same options`,
    );
  }
  const byIndex = new Map<number, ShardReport>();
  for (const s of shards) {
    const earlier = byIndex.get(s.report.shard!.index);
    if (earlier) throw new MergeRefusedError(`shard ${shardName(s)} of ${scenario} is given twice: ${earlier.file}, ${s.file} — merge each shard once`);
    byIndex.set(s.report.shard!.index, s);
  }
  const seen = new Map<string, string[]>();
  for (const s of shards) for (const c of s.report.configs) seen.set(c.id, [...(seen.get(c.id) ?? []), shardName(s)]);
  const duplicates = [...seen].filter(([, where]) => where.length > 1);
  if (duplicates.length > 0) {
    throw new MergeRefusedError(
      `${duplicates.length} configuration${duplicates.length === 1 ? '' : 's'} of ${scenario} ${duplicates.length === 1 ? 'is' : 'are'} in more than one shard: ${duplicates.map(([id, where]) => `${id} (${where.join(', ')})`).join(', ')} — merge each shard once`,
    );
  }
  const { matrixIds, count } = shards[0]!.report.shard!;
  const missing = matrixIds.filter((id) => !seen.has(id));
  if (missing.length > 0) {
    const toRun = [...new Set(missing.map((id) => shardOf(id, count)))].sort((x, y) => x - y).map((i) => `--shard ${i}/${count}`);
    throw new MergeRefusedError(
      `${missing.length} configuration${missing.length === 1 ? '' : 's'} of ${scenario} ${missing.length === 1 ? 'is' : 'are'} in no shard: ${listed(missing)}; run the missing shard${toRun.length === 1 ? '' : 's'} (${toRun.join(', ')}) or merge all shards`,
    );
  }
  const foreign = [...seen.keys()].filter((id) => !matrixIds.includes(id));
  if (foreign.length > 0) throw new MergeRefusedError(`${foreign.length} configuration(s) are not in the matrix of ${scenario} the shards recorded: ${listed(foreign)} — merge reports of one run`);
}

/**
 * One report of the whole matrix: configurations in matrix order, the summary and emulated facts
 * recounted from them, times spanning the first start to the last finish, each shard's host and
 * times kept under `merged.shards` (the top-level host is shard 1's), images joined by name.
 */
export function mergeShardReports(shards: readonly ShardReport[], now: Date = new Date()): RunReport {
  checkShards(shards);
  const ordered = [...shards].sort((a, b) => a.report.shard!.index - b.report.shard!.index);
  const first = ordered[0]!.report;
  const byId = new Map<string, ConfigResult>(ordered.flatMap((s) => s.report.configs.map((c) => [c.id, c] as const)));
  const configs = first.shard!.matrixIds.map((id) => byId.get(id)!);
  const startedAt = ordered.map((s) => s.report.startedAt).sort()[0]!;
  const finishedAt = ordered
    .map((s) => s.report.finishedAt)
    .sort()
    .at(-1)!;
  const endedBy = ordered.map((s) => s.report.endedBy).reduce((worst, e) => (ENDED_RANK[e] > ENDED_RANK[worst] ? e : worst), 'done' as EndedBy);
  const errors = ordered.flatMap((s) => (s.report.error ? [`shard ${shardName(s)}: ${s.report.error}`] : []));
  const mergedShards: MergedShard[] = ordered.map((s) => ({
    index: s.report.shard!.index,
    count: s.report.shard!.count,
    file: s.file,
    runId: s.report.runId,
    startedAt: s.report.startedAt,
    finishedAt: s.report.finishedAt,
    durationMs: s.report.durationMs,
    endedBy: s.report.endedBy,
    ...(s.report.error ? { error: s.report.error } : {}),
    host: s.report.host,
    configIds: s.report.configs.map((c) => c.id),
  }));
  const { shard: _shard, baseline: _baseline, ...rest } = first;
  return {
    ...rest,
    runId: `${now
      .toISOString()
      .replace(/\.\d+Z$/, 'Z')
      .replace(/:/g, '-')}-merged-${randomBytes(3).toString('hex')}`,
    startedAt,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
    endedBy,
    ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
    images: mergeImages(ordered.map((s) => s.report)),
    emulated: configs.flatMap((c) => c.emulated.map((e) => ({ ...e, configId: c.id }))),
    summary: summarize(configs),
    configs,
    merged: { shards: mergedShards },
  };
}

type ImageEntry = RunReport['images'][number];

/** By name: unavailable where any shard lacked it (with that shard's reason), a build time where a shard built it, the lowest shard's file-table probe. */
function mergeImages(reports: readonly RunReport[]): ImageEntry[] {
  const merged = new Map<string, ImageEntry>();
  for (const image of reports.flatMap((r) => r.images)) {
    const seen = merged.get(image.name);
    if (!seen) {
      merged.set(image.name, { ...image });
      continue;
    }
    if (seen.available && !image.available) merged.set(image.name, { ...image, ...(seen.fileTable ? { fileTable: seen.fileTable } : {}) });
    const kept = merged.get(image.name)!;
    if (kept.builtInMs === undefined && image.builtInMs !== undefined) kept.builtInMs = image.builtInMs;
    if (!kept.fileTable && image.fileTable) kept.fileTable = image.fileTable;
  }
  return [...merged.values()];
}
