// The busy minute that finds no room: sessions arrive faster than the server finishes them, so
// `connections` of them are busy at once, each running a report that sorts more rows than its sort
// buffer holds. buffer-pool-oom, connection-buffers-oom and the scenarios `oomlab from-incident` writes
// all drive it. (A module, not a scenario: `oomlab list` reads only scenarios/*.ts.)
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
};

/** A primary-key read: what an application does between its reports. */
export const POINT_READ: MixedQueryInput = {
  name: 'user-by-id',
  weight: 1,
  sql: 'SELECT id, name, bio FROM users WHERE id = ?',
  params: (random) => [Math.floor(random() * 2_000)],
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
    mix: options.pointReads === false ? [SORTING_REPORT] : [POINT_READ, SORTING_REPORT],
    drainMs: 10_000,
  };
}
