import type { Outcome } from './config.ts';

/** `flaky`: repeats of the configuration (`--repeat K`) disagreed, some pass and some fail. */
export type Verdict = 'pass' | 'fail' | 'skipped' | 'error' | 'flaky';
export interface Evidence {
  source: string;
  text: string;
}
export interface InstanceJudgement {
  instance: string;
  outcome: Outcome;
  verdict: 'pass' | 'fail';
  reason: string;
  evidence: Evidence[];
  openFilesLimit?: number;
  /** The anonymous memory's peak (memory.stat rss/anon; the kernel's anon-rss at a kill) where measured, else the cgroup's high-water mark. */
  peakMemoryBytes?: number;
  /** The page cache beside the anonymous peak. */
  peakCacheBytes?: number;
  /** The cgroup's high-water mark, page cache counted (memory.max_usage_in_bytes, memory.peak). */
  peakUsageBytes?: number;
  memoryLimitBytes?: number;
}

/** What showed an OOM kill: the kernel's line naming the process, the engine's `oom` event with the container gone after it, its `State.OOMKilled`. */
export type OomKillSign = 'kernel' | 'oom-event' | 'oom-killed-state';

/** The judge's one record that an instance was OOM-killed, and when: the verdict, the margins, the charts and the ranking read it. */
export interface OomKill {
  instance: string;
  /** When (ms on the configuration's timeline): the kernel's own timestamp of the kill, else the engine's `oom` event, else its `die`. */
  t: number;
  seenBy: OomKillSign[];
  /** The memory limit in force at `t`. */
  limitBytes?: number;
  /** The killed process's anonymous memory as the kernel printed it (anon-rss). */
  anonRssBytes?: number;
}

/**
 * The figure that decided a judgement against its bound: how close the configuration came to the other
 * verdict. `peak 893 MiB of 1.5 GiB: 643 MiB short of the limit`, `B:A connection ratio 6.5 ≥ 2 by 4.5`.
 */
export interface Margin {
  /** What was compared: `a peak memory`, `host-a peak memory`, `B:A connection ratio`, `a open_files_limit`. */
  what: string;
  measured: number;
  bound: number;
  unit: 'bytes' | 'ms' | '';
  /** Whether the figure stayed on the bound's side (a peak below the limit, a ratio at least its bound). */
  held: boolean;
  /** How far the figure was from the bound, in its unit, never negative. */
  distance: number;
  /** `distance / bound`: the margin's width whatever the unit. */
  relative: number;
  line: string;
}

/** Below this share of its bound a margin is narrow: a repeat may well land on the other side. */
export const NARROW_MARGIN = 0.05;

export function isNarrow(margin: Margin): boolean {
  return margin.relative < NARROW_MARGIN;
}
