import { createConnection } from 'mysql2/promise';
import type { MysqlEndpoint } from '../0-model/endpoint.ts';

/** The variables that decide a server's memory at start-up, incident 1's among them. */
export const MEMORY_VARIABLES = [
  'version',
  'open_files_limit',
  'max_connections',
  'table_open_cache',
  'innodb_buffer_pool_size',
  'innodb_log_buffer_size',
  'key_buffer_size',
  'sort_buffer_size',
  'join_buffer_size',
  'read_buffer_size',
  'read_rnd_buffer_size',
  'thread_stack',
  'tmp_table_size',
] as const;

export async function readServerVariables(endpoint: MysqlEndpoint): Promise<Record<string, string>> {
  const connection = await createConnection({ ...endpoint, connectTimeout: 5_000 });
  try {
    const [rows] = await connection.query({ sql: `SELECT ${MEMORY_VARIABLES.map((v) => `@@${v} AS ${v}`).join(', ')}`, timeout: 5_000 });
    const row = (rows as Record<string, unknown>[])[0] ?? {};
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}
