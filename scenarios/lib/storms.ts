// The storms the cause-family scenarios drive, and the scenarios `oomlab from-incident` writes with them:
// the busy minute that finds no room (buffer-pool-oom, connection-buffers-oom) and a day's steady traffic
// (limit-lowered). (A module, not a scenario: `oomlab list` reads only scenarios/*.ts.)
import type { MixedQueryInput, StormWorkloadInput } from 'oomlab';

/** The feed schema every one of them seeds: 2 000 users, 40 000 posts of 50-400 byte bodies. */
export const FEED_SEED = { users: 2_000, posts: 40_000, followsPerUser: 20 };

/**
 * Sorts the 40 000 posts by their body (no index): more than 4M of sort data, so the filesort allocates
 * the whole sort_buffer_size and holds it while it runs (measured: about 4 MiB a busy connection with 4M).
 */
export const SORTING_REPORT: MixedQueryInput = {
  name: 'report',
  weight: 1,
  sql: 'SELECT p.id, p.user_id, p.likes FROM posts p WHERE p.likes > ? ORDER BY p.body DESC LIMIT 12000, 1',
  params: (random) => [Math.floor(random() * 100)],
  fills: ['sort_buffer_size'],
};

/**
 * Groups the posts by their (nearly unique) time, each group with its longest body: an in-memory temporary table
 * that grows row by row up to min(tmp_table_size, max_heap_table_size) before the server moves it to disk.
 */
export const TEMPORARY_TABLE_REPORT: MixedQueryInput = {
  name: 'trending',
  weight: 1,
  sql: 'SELECT p.created_at, COUNT(*) AS n, SUM(p.likes) AS likes, MAX(p.body) AS body FROM posts p WHERE p.likes > ? GROUP BY p.created_at ORDER BY likes DESC LIMIT 10',
  params: (random) => [Math.floor(random() * 200)],
  fills: ['tmp_table_size'],
};

/** A primary-key read: what an application does between its reports. */
export const POINT_READ: MixedQueryInput = {
  name: 'user-by-id',
  weight: 1,
  sql: 'SELECT id, name, bio FROM users WHERE id = ?',
  params: (random) => [Math.floor(random() * 2_000)],
  fills: [],
};

export interface BusyMinuteOptions<N extends string> {
  /** Sessions open at once (the storm's maxInFlight): the application's pool, or the spike's size. */
  connections: number;
  /** The instance it hits. @default 'db' */
  target?: N;
  /** Point reads between the reports, as an application's busy minute has; a spike of reports alone has none. @default true */
  pointReads?: boolean;
  /** New sessions per second at the start, and for the 12 s at full rate. @default { start: 50, full: 200 } */
  arrivalsPerSecond?: { start: number; full: number };
  /** Statements each session runs before it closes. @default 6 */
  queriesPerSession?: number;
  /** A GROUP BY into an in-memory temporary table beside the sorts, when tmp_table_size is part of what a connection holds. @default false */
  temporaryTables?: boolean;
}

/** The storm of a busy minute: more sessions arrive than the server finishes, so all `connections` are busy at once (the rest wait, counted as dropped). */
export function busyMinute<N extends string = 'db'>(options: BusyMinuteOptions<N>): StormWorkloadInput<N> {
  const arrivals = options.arrivalsPerSecond ?? { start: 50, full: 200 };
  return {
    kind: 'storm',
    target: options.target ?? ('db' as N),
    seed: FEED_SEED,
    startPerSecond: arrivals.start,
    stages: [{ targetPerSecond: arrivals.full, durationMs: 12_000 }],
    maxInFlight: options.connections,
    session: { queries: options.queriesPerSession ?? 6, thinkMs: 0, holdMs: 0 },
    mix: [...(options.pointReads === false ? [] : [POINT_READ]), SORTING_REPORT, ...(options.temporaryTables ? [TEMPORARY_TABLE_REPORT] : [])],
    drainMs: 10_000,
  };
}

/** The join a feed page runs: a user's follows and their latest posts (LIMIT 20 sorts in a small priority queue, not the whole sort buffer). */
export const FEED_PAGE: MixedQueryInput = {
  name: 'feed',
  weight: 1,
  sql: 'SELECT p.id, p.body, p.created_at FROM follows f JOIN posts p ON p.user_id = f.followee WHERE f.follower = ? ORDER BY p.created_at DESC LIMIT 20',
  params: (random) => [Math.floor(random() * 2_000)],
  fills: [],
};

/** A day's traffic, not a spike: 10 → 50 sessions a second for 8 s, each a few point reads and feed pages with pauses. */
export function steadyTraffic<N extends string = 'db'>(target: N = 'db' as N): StormWorkloadInput<N> {
  return {
    kind: 'storm',
    target,
    seed: FEED_SEED,
    startPerSecond: 10,
    stages: [{ targetPerSecond: 50, durationMs: 8_000 }],
    session: { queries: 5, thinkMs: 50, holdMs: 500 },
    mix: [{ ...POINT_READ, weight: 2 }, FEED_PAGE],
    drainMs: 5_000,
  };
}
