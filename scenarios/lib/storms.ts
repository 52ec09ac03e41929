// The storms the cause-family scenarios drive, and the scenarios `oomlab from-incident` writes with them:
// the busy minute that finds no room (buffer-pool-oom, connection-buffers-oom), a day's steady traffic
// (limit-lowered) and cycles of heavy work with quiet between (an allocator that keeps what the work freed).
// (A module, not a scenario: `oomlab list` reads only scenarios/*.ts.)
import type { MixedQueryInput, StepInputFor, StormWorkloadInput } from 'oomlab';

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
  /** How long sessions still running after the last arrival may hold their buffers before they are cut. @default 10_000 */
  drainMs?: number;
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
    drainMs: options.drainMs ?? 10_000,
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

/** `count` distinct one-letter prefixes with the truncation operator, `'k* a* …'`. */
function prefixes(random: () => number, count: number): string {
  const letters = [...'abcdefghijklmnopqrstuvwxyz'];
  return Array.from({ length: count }, () => `${letters.splice(Math.floor(random() * letters.length), 1)[0]}*`).join(' ');
}

/**
 * A search over the posts' words (a `fullText` seed): `prefixCount` one-letter prefixes with the truncation operator, in BOOLEAN
 * MODE (a truncated word is kept "even if it is too short": MySQL 8.4 manual, 14.9.2 Boolean Full-Text Searches). InnoDB
 * expands each prefix into every indexed word it begins (about 8/26 of the seed's 20 000 with eight) and, for the statement's life,
 * holds a ranking node per matching post (nearly all 40 000) with a bitmap of its matched words that doubles as it
 * grows, and a frequency node per (word, post): many small allocations, each freed when the statement ends
 * (storage/innobase/fts/fts0que.cc: fts_query_union_doc_id, fts_query_add_doc_freq, fts_ranking_words_add). They are
 * counted against innodb_ft_result_cache_limit, one statement's cap (default 2 000 000 000 bytes; past it the statement
 * fails with "FTS query exceeds result cache limit", fts_query_process_doc_id), not the server's. The `likes` filter keeps
 * the LIMIT from being pushed into the search (5.7's fix for Bug #22709692), so every match is collected.
 */
export function fullTextSearch(prefixCount: number): MixedQueryInput {
  if (!Number.isInteger(prefixCount) || prefixCount < 1 || prefixCount > 26) {
    throw new RangeError(`Expected the number of one-letter prefixes to be an integer from 1 to 26, got \`${prefixCount}\``);
  }
  return {
    name: 'search',
    weight: 2,
    sql: 'SELECT p.id, MATCH (p.body) AGAINST (? IN BOOLEAN MODE) AS score FROM posts p WHERE MATCH (p.body) AGAINST (? IN BOOLEAN MODE) AND p.likes > ? ORDER BY score DESC LIMIT 10',
    params: (random) => {
      const terms = prefixes(random, prefixCount);
      return [terms, terms, Math.floor(random() * 100)];
    },
    fills: [],
  };
}

/** The search with eight prefixes, as the 40 000-post seed was measured with (test/fixtures/incidents/README.md, fulltext). */
export const FULL_TEXT_SEARCH: MixedQueryInput = fullTextSearch(8);

export interface WorkCyclesOptions<N extends string> {
  /** Sessions open at once during a burst (the storm's maxInFlight). */
  connections: number;
  /** Bursts, each followed by its quiet. */
  cycles: number;
  /** How long new sessions arrive in each burst (100 a second, more than the server finishes). */
  burstMs: number;
  /** How long no session arrives after each burst: what the allocator keeps shows here. */
  quietMs: number;
  /** Full-text searches (FULL_TEXT_SEARCH) among the work, over a `fullText` seed. @default false */
  fullText?: boolean;
  /**
   * Posts the seed writes: a search holds a node per matching post, so a larger table makes each search hold more, and
   * runs longer: on 2 cores with 400 000 posts, most searches with eight prefixes outlived the client's 30 s timeout and
   * ran on in the server; with four under max_execution_time 20 s, most still failed (test/fixtures/incidents/README.md, fulltext).
   * @default 40_000
   */
  posts?: number;
  /** One-letter prefixes each full-text search expands (fullTextSearch). @default 8 */
  searchPrefixes?: number;
  /** A GROUP BY into an in-memory temporary table beside the sorts. @default false */
  temporaryTables?: boolean;
  /** @default 'db' */
  target?: N;
}

/** Cycles of heavy work: a burst of reports (sorts, and searches or GROUP BYs when asked) that fills `connections` at once, then quiet. */
export function workCycles<N extends string = 'db'>(options: WorkCyclesOptions<N>): StormWorkloadInput<N> {
  return {
    kind: 'storm',
    target: options.target ?? ('db' as N),
    seed: { ...FEED_SEED, ...(options.posts !== undefined ? { posts: options.posts } : {}), ...(options.fullText ? { fullText: true } : {}) },
    stages: Array.from({ length: options.cycles }, () => [
      { targetPerSecond: 100, durationMs: 1 },
      { targetPerSecond: 100, durationMs: options.burstMs },
      { targetPerSecond: 0, durationMs: 1 },
      { targetPerSecond: 0, durationMs: options.quietMs },
    ]).flat(),
    maxInFlight: options.connections,
    session: { queries: 3, thinkMs: 0, holdMs: 0 },
    mix: [
      ...(options.fullText ? [options.searchPrefixes !== undefined ? fullTextSearch(options.searchPrefixes) : FULL_TEXT_SEARCH] : []),
      SORTING_REPORT,
      ...(options.temporaryTables ? [TEMPORARY_TABLE_REPORT] : []),
    ],
    drainMs: 10_000,
  };
}

/**
 * One step 2 s before each cycle ends (its quiet nearly over), counted from the load's start (`workload.seeded`, so a slow
 * seed or index build does not shift it): it logs the server's VmRSS, RssAnon and VmHWM from /proc/1/status.
 */
export function memoryAfterEachCycle<N extends string = 'db'>(options: { cycles: number; burstMs: number; quietMs: number; instance?: N }): StepInputFor<N>[] {
  const cycleMs = options.burstMs + options.quietMs;
  return Array.from({ length: options.cycles }, (_, i) => ({
    name: `after-cycle-${i + 1}`,
    after: 'workload.seeded',
    at: (i + 1) * cycleMs - 2_000,
    action: 'run' as const,
    instance: options.instance ?? ('db' as N),
    run: async ({ container, log }) => {
      // A server the burst killed has no /proc/1 left to read: said, not failed.
      const read = await container.$`grep -E ${'^(VmRSS|RssAnon|VmHWM)'} /proc/1/status`.catch(() => undefined);
      log(read ? read.stdout.trim().split('\n').join(', ') : 'the server is gone');
    },
  }));
}
