// The terms of the memory model: the open-file table, the buffers the server reserves once, and what
// each connection may hold. The worst case and the load peak are the same terms for different connection counts.
import type { MemoryTerm } from '../0-model/prediction.ts';
import { formatBytes } from '../0-model/units.ts';
import { FILE_INFO_BYTES, type OpenFilesAtStartup } from './open-files.ts';
import type { ServerProfile, ServerVariables } from './server-profiles.ts';

/** The open-file table: allocated whole at start-up (MySQL 5.x, MariaDB), or grown with the descriptors in use (MySQL 8.0). */
export function openFileTableTerms(profile: ServerProfile, openFiles: OpenFilesAtStartup): MemoryTerm[] {
  if (openFiles.fileTableEntries > 0) {
    return [
      {
        name: 'open-file table',
        bytes: openFiles.fileTableEntries * FILE_INFO_BYTES,
        formula: `open_files_limit ${openFiles.openFilesLimit} × ${FILE_INFO_BYTES} B`,
        phase: 'start-up',
        detail: openFiles.formula,
      },
    ];
  }
  if (profile.openFiles !== 'mysql-8.0') return [];
  const entries = Math.min(openFiles.openFilesLimit, openFiles.requestedFiles);
  return [
    {
      name: 'open-file table',
      bytes: entries * FILE_INFO_BYTES,
      formula: `${entries} descriptors × ${FILE_INFO_BYTES} B, grown as files open`,
      phase: 'global',
      detail: openFiles.formula,
    },
  ];
}

const GLOBAL_BUFFERS: [name: string, variable: keyof ServerVariables][] = [
  ['InnoDB buffer pool', 'innodb_buffer_pool_size'],
  ['InnoDB log buffer', 'innodb_log_buffer_size'],
  ['InnoDB additional memory pool', 'innodb_additional_mem_pool_size'],
  ['MyISAM key buffer', 'key_buffer_size'],
  ['query cache', 'query_cache_size'],
  ['Aria page cache', 'aria_pagecache_buffer_size'],
];

/** Buffers reserved once for the whole server, resident as they fill; a buffer the server lacks (0) is left out. */
export function globalTerms(v: ServerVariables): MemoryTerm[] {
  return GLOBAL_BUFFERS.flatMap(([name, variable]) => {
    const bytes = v[variable] as number;
    return bytes > 0 ? [{ name, bytes, formula: `${variable} ${formatBytes(bytes)}`, phase: 'global' as const }] : [];
  });
}

/** What one connection may hold in buffers and stack, part by part; the binary log caches only with the binary log on. */
export function perConnectionParts(v: ServerVariables): [name: string, bytes: number][] {
  return [
    ['sort_buffer_size', v.sort_buffer_size],
    ['join_buffer_size', v.join_buffer_size],
    ['read_buffer_size', v.read_buffer_size],
    ['read_rnd_buffer_size', v.read_rnd_buffer_size],
    ['mrr_buffer_size', v.mrr_buffer_size],
    ['thread_stack', v.thread_stack],
    ['2 × net_buffer_length', 2 * v.net_buffer_length],
    ...(v.log_bin
      ? ([
          ['binlog_cache_size', v.binlog_cache_size],
          ['binlog_stmt_cache_size', v.binlog_stmt_cache_size],
        ] as [string, number][])
      : []),
  ];
}

/**
 * The per-connection buffers and in-memory temporary tables of `connections` connections, one table
 * each; `who` says whose connections they are (`152 connections (max_connections 151 + 1 admin)`).
 */
export function connectionTerms(v: ServerVariables, connections: number, who: string): MemoryTerm[] {
  const parts = perConnectionParts(v);
  const perConnection = parts.reduce((sum, [, bytes]) => sum + bytes, 0);
  const tmpTable = Math.min(v.tmp_table_size, v.max_heap_table_size);
  const tmpAll = tmpTable * connections;
  const capped = v.temptable_max_ram > 0 && tmpAll > v.temptable_max_ram;
  return [
    {
      name: 'per-connection buffers',
      bytes: perConnection * connections,
      formula: `${connections} connections × ${formatBytes(perConnection)}`,
      phase: 'per-connection',
      detail: `${who} × (${parts
        .filter(([, b]) => b > 0)
        .map(([n, b]) => `${n} ${formatBytes(b)}`)
        .join(' + ')})`,
    },
    {
      name: 'in-memory temporary tables',
      bytes: capped ? v.temptable_max_ram : tmpAll,
      formula: capped ? `temptable_max_ram ${formatBytes(v.temptable_max_ram)} (below ${connections} × ${formatBytes(tmpTable)})` : `${connections} connections × ${formatBytes(tmpTable)}`,
      phase: 'per-connection',
      detail: `${who} × one table of min(tmp_table_size ${formatBytes(v.tmp_table_size)}, max_heap_table_size ${formatBytes(v.max_heap_table_size)})${v.temptable_max_ram > 0 ? `, all capped by temptable_max_ram ${formatBytes(v.temptable_max_ram)}` : ''}`,
    },
  ];
}

export function sumOf(terms: readonly MemoryTerm[]): number {
  return terms.reduce((sum, term) => sum + term.bytes, 0);
}

/** The most connections whose buffers fit beside `fixedBytes` in `limitBytes`, up to `most`; 0 when even the fixed terms do not fit. */
export function connectionsWithin(v: ServerVariables, fixedBytes: number, limitBytes: number, most: number): number {
  const fits = (n: number) => fixedBytes + sumOf(connectionTerms(v, n, '')) <= limitBytes;
  if (!fits(0)) return 0;
  // The cost grows with n (and stops growing where temptable_max_ram caps it): binary search.
  let low = 0;
  let high = most;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}
