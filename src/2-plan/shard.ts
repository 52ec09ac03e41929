// `--shard I/N`: a partition of the matrix by configuration id, so a configuration lands in the same
// shard whatever else the matrix gains or loses (a position-based split would move every later one).
import { UsageError } from '../0-model/errors.ts';

/** One part of a split: `index` counts from 1, as `--shard 2/3` and CI_NODE_INDEX do. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `I/N` (1 ≤ I ≤ N); anything else is a one-line usage error. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard takes I/N with 1 ≤ I ≤ N (this run's part and the number of parts), e.g. --shard 2/3; got \`${text}\``);
  }
  return { index, count };
}

/** 32-bit FNV-1a over the id's UTF-8 bytes: tiny, stable across Node versions and machines. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard (1..count) a configuration id belongs to. */
export function shardOf(id: string, count: number): number {
  return (fnv1a(id) % count) + 1;
}

/** The configurations of one shard, in matrix order, renumbered from 0 for progress lines. */
export function inShard<T extends { id: string; index: number }>(configs: readonly T[], shard: Shard): T[] {
  return configs.filter((c) => shardOf(c.id, shard.count) === shard.index).map((c, index) => ({ ...c, index }));
}
