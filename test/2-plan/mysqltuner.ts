// MySQLTuner's own memory estimate, kept beside the tests that compare it with the model
// (docs/memory-model.md, "Where we differ from MySQLTuner and why"): oomlab itself never uses it.
import { resolveVariables, serverFamilyOf, serverProfile, type MyCnf } from '../../src/2-plan/index.ts';

export interface MysqltunerMemory {
  /** read_buffer_size + read_rnd_buffer_size + sort_buffer_size + thread_stack + join_buffer_size + binlog_cache_size. */
  perThreadBuffers: number;
  /** perThreadBuffers × max_connections. */
  totalPerThreadBuffers: number;
  /** key_buffer_size + min(tmp_table_size, max_heap_table_size) + innodb_buffer_pool_size + innodb_additional_mem_pool_size + innodb_log_buffer_size + query_cache_size + aria_pagecache_buffer_size. */
  serverBuffers: number;
  /** "Maximum possible memory usage": serverBuffers + totalPerThreadBuffers + performance_schema memory. */
  maxPeakMemory: number;
  /** "Maximum reached memory usage": the same with Max_used_connections, when given. */
  maxUsedMemory?: number;
}

export interface MysqltunerInput {
  image: string;
  mycnf?: MyCnf;
  /** Status Max_used_connections of a running server, for max_used_memory. */
  maxUsedConnections?: number;
  /** What get_pf_memory() reads from a running server's performance_schema. @default 0 */
  performanceSchemaBytes?: number;
}

/**
 * MySQLTuner's own estimate, implemented as mysqltuner.pl 2.8.36 computes it
 * (major/MySQLTuner-perl, mysqltuner.pl, sub calculations, commit 00b3473), in substance:
 *   per_thread_buffers  = read_buffer_size + read_rnd_buffer_size + sort_buffer_size
 *                         + thread_stack + join_buffer_size + binlog_cache_size   (each `if is_int`)
 *   # "Error max_allowed_packet is not included in thread buffers size" — the
 *   #  `+= max_allowed_packet` line is commented out in this version
 *   total_per_thread_buffers     = per_thread_buffers * max_connections
 *   max_total_per_thread_buffers = per_thread_buffers * Max_used_connections
 *   max_tmp_table_size = min(tmp_table_size, max_heap_table_size)
 *   server_buffers = key_buffer_size + max_tmp_table_size + innodb_buffer_pool_size
 *                    + innodb_additional_mem_pool_size + innodb_log_buffer_size
 *                    + query_cache_size + aria_pagecache_buffer_size   (each when defined)
 *   max_used_memory = server_buffers + max_total_per_thread_buffers + get_pf_memory()
 *   max_peak_memory = server_buffers + total_per_thread_buffers + get_pf_memory()
 * It reads SHOW VARIABLES of a running server; here the variables are the image's defaults with my.cnf over them.
 */
export function mysqltunerMaxMemory(input: MysqltunerInput): MysqltunerMemory | undefined {
  const identity = serverFamilyOf(input.image);
  if (!identity) return undefined;
  const { profile } = serverProfile(identity);
  const { variables: v } = resolveVariables(profile, input.mycnf);
  const perThreadBuffers = v.read_buffer_size + v.read_rnd_buffer_size + v.sort_buffer_size + v.thread_stack + v.join_buffer_size + v.binlog_cache_size;
  const totalPerThreadBuffers = perThreadBuffers * v.max_connections;
  const serverBuffers =
    v.key_buffer_size +
    Math.min(v.tmp_table_size, v.max_heap_table_size) +
    v.innodb_buffer_pool_size +
    v.innodb_additional_mem_pool_size +
    v.innodb_log_buffer_size +
    v.query_cache_size +
    v.aria_pagecache_buffer_size;
  const pf = input.performanceSchemaBytes ?? 0;
  return {
    perThreadBuffers,
    totalPerThreadBuffers,
    serverBuffers,
    maxPeakMemory: serverBuffers + totalPerThreadBuffers + pf,
    ...(input.maxUsedConnections !== undefined ? { maxUsedMemory: serverBuffers + perThreadBuffers * input.maxUsedConnections + pf } : {}),
  };
}
