// The buffer pool warm-up: a fresh server's pool is cold (its pages are reserved, not touched), so a
// pool larger than the limit leaves only shows once production's hours of reads have filled it. This
// fills it with real InnoDB data pages, in batches, until the server's own page counts say so.
import { createConnection } from 'mysql2/promise';
import type { MysqlEndpoint } from '../0-model/endpoint.ts';

export const WARMUP_DATABASE = 'oomlab_warmup';

/** Rows per batch: about 80 MiB of pages at 16 KiB, a second or two of work, well under a statement timeout. */
const BATCH_ROWS = 10_000;
/** A batch that adds fewer pages than this share of what it wrote means the pool is full (pages are being evicted). */
const FULL_WHEN_GROWTH_BELOW = 0.25;

export interface PoolPages {
  total: number;
  data: number;
  pageSizeBytes: number;
}

export interface WarmUpResult {
  /** The fraction asked for, of the pool's pages holding data. */
  targetFraction: number;
  before: PoolPages;
  after: PoolPages;
  rowsWritten: number;
  /** The pool stopped taking pages before the target (it evicts instead): the warm-up went as far as it can. */
  full: boolean;
  durationMs: number;
}

/**
 * Rows of about 0.42 of a page: two fit a page whatever innodb_page_size, stored inline (under half a
 * page), so pages needed ÷ 2 rows fill them without overflow pages.
 */
export function padLength(pageSizeBytes: number): number {
  return Math.floor(pageSizeBytes * 0.42);
}

/** Rows still to write to take `pages` to `fraction` of the pool, at two rows a page. */
export function rowsToTarget(pages: PoolPages, fraction: number): number {
  const target = Math.ceil(pages.total * fraction);
  return Math.max(0, (target - pages.data) * 2);
}

// Digits cross-joined four times give up to 10 000 numbered rows in SQL every server has (no
// MariaDB sequence engine, no recursive CTE depth limit).
const SETUP = [
  `CREATE DATABASE IF NOT EXISTS ${WARMUP_DATABASE}`,
  `CREATE TABLE IF NOT EXISTS ${WARMUP_DATABASE}.digits (d TINYINT PRIMARY KEY) ENGINE=InnoDB`,
  `INSERT IGNORE INTO ${WARMUP_DATABASE}.digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`,
];

const FILL = (pad: number) =>
  `INSERT INTO ${WARMUP_DATABASE}.fill (id, pad) SELECT ? + a.d + 10 * b.d + 100 * c.d + 1000 * e.d, REPEAT('w', ${pad}) ` +
  `FROM ${WARMUP_DATABASE}.digits a, ${WARMUP_DATABASE}.digits b, ${WARMUP_DATABASE}.digits c, ${WARMUP_DATABASE}.digits e ` +
  'WHERE a.d + 10 * b.d + 100 * c.d + 1000 * e.d < ?';

/** How long one batch may take before the warm-up is called stalled: a batch is a second or two of work on a healthy server. */
export const WARMUP_BATCH_TIMEOUT_MS = 60_000;

export interface WarmUpOptions {
  signal?: AbortSignal;
  /** A batch's time limit (scaled by a slow host, e.g. a lab under TCG). @default WARMUP_BATCH_TIMEOUT_MS */
  batchTimeoutMs?: number;
  /** After each batch: the share of the pool's pages holding data, and the time so far. */
  onProgress?: (dataFraction: number, elapsedMs: number) => void;
}

/** A warm-up batch that did not finish in time: a server at its memory limit that the kernel keeps reclaiming for instead of killing. */
export class WarmUpStalledError extends Error {
  constructor(
    readonly dataFraction: number,
    readonly batchTimeoutMs: number,
  ) {
    super(`the buffer-pool warm-up stalled: one batch of ${BATCH_ROWS} rows took over ${Math.round(batchTimeoutMs / 1000)}s with the pool ${Math.round(dataFraction * 100)}% warm`);
    this.name = 'WarmUpStalledError';
  }
}

/** Fills the InnoDB buffer pool until `fraction` of its pages hold data (or it is full), writing rows into oomlab_warmup.fill. */
export async function warmBufferPool(endpoint: MysqlEndpoint, fraction: number, options: WarmUpOptions = {}): Promise<WarmUpResult> {
  const { signal } = options;
  const batchTimeoutMs = options.batchTimeoutMs ?? WARMUP_BATCH_TIMEOUT_MS;
  const startedAt = performance.now();
  const connection = await createConnection({ ...endpoint, multipleStatements: false, connectTimeout: 10_000 });
  const drop = () => connection.destroy();
  signal?.addEventListener('abort', drop, { once: true });
  let stalled = false;
  let now: PoolPages | undefined;
  // Every statement under the batch's time limit: a server frozen in reclaim answers none of them.
  const query = async (sql: string, values?: unknown[]) => {
    try {
      return await connection.query({ sql, timeout: batchTimeoutMs }, values);
    } catch (error) {
      if ((error as { code?: string }).code !== 'PROTOCOL_SEQUENCE_TIMEOUT') throw error;
      stalled = true;
      throw new WarmUpStalledError(now && now.total > 0 ? now.data / now.total : 0, batchTimeoutMs);
    }
  };
  try {
    const pages = async (): Promise<PoolPages> => {
      const [rows] = await query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_%'");
      const status = new Map((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]));
      const [size] = await query('SELECT @@innodb_page_size AS page');
      return {
        total: status.get('innodb_buffer_pool_pages_total') ?? 0,
        data: status.get('innodb_buffer_pool_pages_data') ?? 0,
        pageSizeBytes: Number((size as { page: number }[])[0]?.page ?? 16_384),
      };
    };
    const before = await pages();
    const pad = padLength(before.pageSizeBytes);
    for (const statement of SETUP) await query(statement);
    await query(`CREATE TABLE IF NOT EXISTS ${WARMUP_DATABASE}.fill (id INT PRIMARY KEY, pad VARCHAR(${pad}) NOT NULL) ENGINE=InnoDB`);
    const [maxRows] = await query(`SELECT COALESCE(MAX(id), 0) AS id FROM ${WARMUP_DATABASE}.fill`);
    let nextId = Number((maxRows as { id: number }[])[0]?.id ?? 0) + 1;
    let rowsWritten = 0;
    let full = false;
    now = await pages();
    for (let remaining = rowsToTarget(now, fraction); remaining > 0; remaining = rowsToTarget(now, fraction)) {
      const batch = Math.min(remaining, BATCH_ROWS);
      await query(FILL(pad), [nextId, batch]);
      nextId += batch;
      rowsWritten += batch;
      const previous = now;
      now = await pages();
      options.onProgress?.(now.total > 0 ? now.data / now.total : 0, performance.now() - startedAt);
      if (now.data - previous.data < (batch / 2) * FULL_WHEN_GROWTH_BELOW) {
        full = true;
        break;
      }
    }
    return { targetFraction: fraction, before, after: now, rowsWritten, full, durationMs: Math.round(performance.now() - startedAt) };
  } finally {
    signal?.removeEventListener('abort', drop);
    if (stalled) connection.destroy();
    else await connection.end().catch(() => connection.destroy());
  }
}
