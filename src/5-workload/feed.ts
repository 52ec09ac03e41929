import { createConnection, type RowDataPacket } from 'mysql2/promise';
import type { MysqlEndpoint } from '../0-model/endpoint.ts';

/** The API behind a feed, as scraped in incident 2: users, their posts, who follows whom. */
export interface FeedSize {
  /** @default 2_000 */
  users: number;
  /** @default 40_000 */
  posts: number;
  /** Follows per user. @default 20 */
  followsPerUser: number;
  /** The posts' bodies written as words, with a FULLTEXT index on them once seeded. @default false */
  fullText?: boolean;
}

/** One statement of a query mix, picked with probability weight / sum of weights. */
export interface MixedQuery {
  name: string;
  weight: number;
  sql: string;
  params?: (random: () => number) => unknown[];
}

export const FEED_DATABASE = 'feed';

const SCHEMA = [
  `CREATE DATABASE IF NOT EXISTS ${FEED_DATABASE}`,
  `CREATE TABLE IF NOT EXISTS ${FEED_DATABASE}.users (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, bio VARCHAR(255) NOT NULL, created_at DATETIME NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${FEED_DATABASE}.posts (id INT PRIMARY KEY, user_id INT NOT NULL, body VARCHAR(400) NOT NULL, likes INT NOT NULL, created_at DATETIME NOT NULL, KEY by_user (user_id, created_at)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${FEED_DATABASE}.follows (follower INT NOT NULL, followee INT NOT NULL, PRIMARY KEY (follower, followee)) ENGINE=InnoDB`,
];

/** Deterministic pseudo-random numbers, so every configuration gets the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The FULLTEXT index a full-text seed adds on the posts' bodies, once they are in (a bulk build, not row by row through the FTS cache). */
export const FULL_TEXT_INDEX = 'body_words';

/** Distinct words a full-text seed writes its posts with, 4 to 9 letters each, the same on every run. */
export const FULL_TEXT_VOCABULARY = 20_000;

function vocabulary(): string[] {
  const random = seededRandom(43);
  const letter = () => String.fromCharCode(97 + Math.floor(random() * 26));
  return Array.from({ length: FULL_TEXT_VOCABULARY }, () => Array.from({ length: 4 + Math.floor(random() * 6) }, letter).join(''));
}

/** Words drawn from the vocabulary up to exactly `length` characters: a body as long as the feed's usual one. */
function wordsOfLength(length: number, words: readonly string[], random: () => number): string {
  let text = '';
  while (text.length < length) text += `${text ? ' ' : ''}${words[Math.floor(random() * words.length)]}`;
  return text.slice(0, length);
}

/**
 * How a seed writes its posts' bodies, each `length` characters: `p`s, or with `fullText` words from the vocabulary. The words
 * come from their own random numbers, so a full-text seed draws the same lengths, likes and dates as any other.
 */
export function postBodies(fullText: boolean): (length: number) => string {
  if (!fullText) return (length) => 'p'.repeat(length);
  const words = vocabulary();
  const random = seededRandom(44);
  return (length) => wordsOfLength(length, words, random);
}

/** Creates and fills the feed schema with multi-row inserts; about a second for the defaults. */
export async function seedFeed(endpoint: MysqlEndpoint, size: FeedSize, signal?: AbortSignal): Promise<{ rows: number; durationMs: number }> {
  const startedAt = performance.now();
  const random = seededRandom(42);
  const connection = await createConnection({ ...endpoint, multipleStatements: false, connectTimeout: 10_000 });
  // A server that stops answering mid-seed must not hold the run: the abort drops the connection.
  const drop = () => connection.destroy();
  signal?.addEventListener('abort', drop, { once: true });
  let rows = 0;
  try {
    for (const statement of SCHEMA) await connection.query(statement);
    const insert = async (table: string, columns: string, values: unknown[][]) => {
      for (let i = 0; i < values.length; i += 1_000) {
        const batch = values.slice(i, i + 1_000);
        await connection.query(`INSERT IGNORE INTO ${FEED_DATABASE}.${table} (${columns}) VALUES ?`, [batch]);
        rows += batch.length;
      }
    };
    const body = postBodies(size.fullText === true);
    const epoch = Date.UTC(2014, 0, 1);
    const date = (offsetMs: number) => new Date(epoch + offsetMs).toISOString().slice(0, 19).replace('T', ' ');
    await insert(
      'users',
      'id, name, bio, created_at',
      Array.from({ length: size.users }, (_, id) => [id, `user${id}`, 'x'.repeat(20 + Math.floor(random() * 200)), date(id * 60_000)]),
    );
    await insert(
      'posts',
      'id, user_id, body, likes, created_at',
      Array.from({ length: size.posts }, (_, id) => [
        id,
        Math.floor(random() * size.users),
        body(50 + Math.floor(random() * 350)),
        Math.floor(random() * 1000),
        date(Math.floor(random() * 365 * 86_400_000)),
      ]),
    );
    const follows: number[][] = [];
    for (let follower = 0; follower < size.users; follower++) {
      for (let k = 0; k < size.followsPerUser; k++) follows.push([follower, Math.floor(random() * size.users)]);
    }
    await insert('follows', 'follower, followee', follows);
    if (size.fullText) {
      const [existing] = await connection.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.statistics WHERE table_schema = ? AND table_name = ? AND index_name = ?', [
        FEED_DATABASE,
        'posts',
        FULL_TEXT_INDEX,
      ]);
      if (Number(existing[0]?.n ?? 0) === 0) await connection.query(`ALTER TABLE ${FEED_DATABASE}.posts ADD FULLTEXT INDEX ${FULL_TEXT_INDEX} (body)`);
    }
  } finally {
    signal?.removeEventListener('abort', drop);
    await connection.end().catch(() => connection.destroy());
  }
  return { rows, durationMs: Math.round(performance.now() - startedAt) };
}

/**
 * What the scraped API ran, using per-thread memory as it did: point selects, a feed over a join
 * sorted by time (sort and join buffers), and a GROUP BY into a temporary table.
 */
export function feedQueryMix(size: FeedSize): MixedQuery[] {
  const user = (random: () => number) => Math.floor(random() * size.users);
  return [
    { name: 'user-by-id', weight: 4, sql: `SELECT id, name, bio FROM ${FEED_DATABASE}.users WHERE id = ?`, params: (r) => [user(r)] },
    {
      name: 'feed',
      weight: 4,
      sql: `SELECT p.id, p.user_id, p.body, p.likes, p.created_at FROM ${FEED_DATABASE}.follows f JOIN ${FEED_DATABASE}.posts p ON p.user_id = f.followee WHERE f.follower = ? ORDER BY p.created_at DESC LIMIT 20`,
      params: (r) => [user(r)],
    },
    {
      // Grouped on an unindexed, nearly unique column: one temporary-table row per post, with the body.
      name: 'trending',
      weight: 2,
      sql: `SELECT p.created_at, COUNT(*) AS n, SUM(p.likes) AS likes, MAX(p.body) AS body FROM ${FEED_DATABASE}.posts p WHERE p.likes > ? GROUP BY p.created_at ORDER BY likes DESC LIMIT 10`,
      params: (r) => [Math.floor(r() * 200)],
    },
    {
      name: 'liked-by-follows',
      weight: 1,
      sql: `SELECT u.name, SUM(p.likes) AS likes FROM ${FEED_DATABASE}.posts p JOIN ${FEED_DATABASE}.users u ON u.id = p.user_id WHERE p.likes > ? GROUP BY u.name ORDER BY likes DESC LIMIT 10`,
      params: (r) => [Math.floor(r() * 900)],
    },
  ];
}
