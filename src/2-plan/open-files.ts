// How the server computes open_files_limit at start-up from RLIMIT_NOFILE and my.cnf, and whether it
// lowers max_connections for lack of descriptors: the start-up half of incident 1.
import { resolveVariables, serverProfile, type MyCnf, type ServerFamily, type ServerVariables } from './server-profiles.ts';

/** sizeof(struct st_my_file_info) on 64-bit Linux: `char *name` + `enum file_type type`, padded. */
export const FILE_INFO_BYTES = 16;

export interface OpenFilesInput {
  family: ServerFamily;
  version: string;
  /** RLIMIT_NOFILE soft limit mysqld starts with (what getrlimit reports, emulated or not). */
  nofileSoft: number;
  /** RLIMIT_NOFILE hard limit: the server may raise its soft limit up to it. @default nofileSoft (Docker sets both) */
  nofileHard?: number;
  mycnf?: MyCnf;
  /** CPUs the server sees: MariaDB's thread_pool_size defaults to it and adds to the files it asks for. @default 1 */
  cpus?: number;
}

export interface OpenFilesAtStartup {
  /** `@@open_files_limit` after start-up. */
  openFilesLimit: number;
  /** The number of files the server asked the OS for. */
  requestedFiles: number;
  /** Entries of the file table (16 B each) the server allocates at start-up; 0 where it grows per descriptor (MySQL 8.0). */
  fileTableEntries: number;
  /** `@@max_connections` after the server lowered it for lack of descriptors, if it did. */
  maxConnections: number;
  /** How the value came about, in one line. */
  formula: string;
}

const UINT_MAX = 2 ** 32 - 1;
/** mysys MY_NFILE: below this many files the static table is used and nothing is allocated. */
const MY_NFILE = 64;
/** MySQL sql_const.h TABLE_OPEN_CACHE_MIN (5.5, 5.7, 8.0). */
const MYSQL_TABLE_OPEN_CACHE_MIN = 400;
/** MariaDB 10.11: fits every measured max_connections reduction (see openFilesMariadb). */
const MARIADB_TABLE_OPEN_CACHE_MIN = 200;
const MARIADB_EXTRA_FILES = 30;
const MARIADB_MIN_CONNECTIONS = 10;

/**
 * What mysys set_max_open_files() returns. MySQL (mysql/mysql-server mysys/my_file.c
 * set_max_open_files() up to 5.7: `if (rlimit.rlim_cur >= max_file_limit) DBUG_RETURN(rlimit.rlim_cur)`;
 * mysys/my_file.cc SetOsLimitMaxOpenFiles() in 8.0: `return std::min(existing.rlim_cur, uim)`): a soft
 * limit at least as large as the request is returned as is — the OS value, not the request (incident 1);
 * my_set_max_open_files() then mallocs and zeroes sizeof(st_my_file_info) × that many entries (5.x).
 * MariaDB (MariaDB/server mysys/my_file.c set_max_open_files(), 10.x: `rlim_cur == RLIM_INFINITY ||
 * rlim_cur >= max_file_limit` → `DBUG_RETURN(max_file_limit)`) returns the request. Below the request
 * both try setrlimit(request, request), which succeeds up to the hard limit, and otherwise keep the soft limit.
 */
function setMaxOpenFiles(family: ServerFamily, request: number, soft: number, hard: number): number {
  if (soft >= request) return family === 'mysql' ? Math.min(soft, UINT_MAX) : request;
  return request <= hard ? request : soft;
}

/** Unsigned C arithmetic: a subtraction that goes below zero wraps to a huge value, which `min()` then ignores. */
function unsignedOrHuge(value: number): number {
  return value < 0 ? Number.POSITIVE_INFINITY : value;
}

/**
 * How the server computes open_files_limit at start-up from RLIMIT_NOFILE and its settings, and
 * whether it lowers max_connections for lack of descriptors.
 */
export function openFilesAtStartup(input: OpenFilesInput): OpenFilesAtStartup {
  const { profile } = serverProfile({ family: input.family, version: input.version });
  const { variables } = resolveVariables(profile, input.mycnf);
  const soft = input.nofileSoft;
  const hard = Math.max(input.nofileHard ?? soft, soft);
  const cpus = input.cpus ?? 1;
  switch (profile.openFiles) {
    case 'mysql-5.5':
      return openFilesMysql55(variables, soft, hard);
    case 'mysql-5.7':
    case 'mysql-8.0':
      return openFilesMysql57(variables, soft, hard, profile.openFiles === 'mysql-8.0');
    case 'mariadb-10.11':
      return openFilesMariadb(variables, soft, hard, cpus);
  }
}

/** `@@open_files_limit` the server will run with. */
export function effectiveOpenFilesLimit(input: OpenFilesInput): number {
  return openFilesAtStartup(input).openFilesLimit;
}

/**
 * MySQL 5.5 sql/mysqld.cc init_common_variables(): wanted_files = 10 + max_connections +
 * table_cache_size * 2; max_open_files = max(wanted_files, max_connections * 5, open_files_limit);
 * files = my_set_max_open_files(max_open_files). Only when files < wanted_files and no
 * open_files_limit was given, max_connections = min(files - 10 - TABLE_OPEN_CACHE_MIN * 2, max_connections).
 */
function openFilesMysql55(v: ServerVariables, soft: number, hard: number): OpenFilesAtStartup {
  const wanted = 10 + v.max_connections + v.table_open_cache * 2;
  const request = Math.min(Math.max(wanted, v.max_connections * 5, v.open_files_limit), UINT_MAX);
  const files = setMaxOpenFiles('mysql', request, soft, hard);
  let maxConnections = v.max_connections;
  if (files < wanted && v.open_files_limit === 0) {
    maxConnections = Math.min(unsignedOrHuge(files - 10 - MYSQL_TABLE_OPEN_CACHE_MIN * 2), maxConnections);
  }
  return {
    openFilesLimit: files,
    requestedFiles: request,
    fileTableEntries: files > MY_NFILE ? files : 0,
    maxConnections,
    formula: `MySQL 5.5 asks for max(10 + max_connections + 2 × table_open_cache, 5 × max_connections, open_files_limit) = ${request}; ${describeRlimit('mysql', request, soft, hard, files)}`,
  };
}

/**
 * MySQL 5.7 and 8.0 sql/mysqld.cc adjust_open_files_limit(): limit_1 = 10 + max_connections +
 * table_cache_size * 2; limit_2 = max_connections * 5; limit_3 = open_files_limit ? open_files_limit : 5000;
 * effective = my_set_max_open_files(max(limit_1, limit_2, limit_3)); open_files_limit = effective.
 * adjust_max_connections(): limit = min(effective, request) - 10 - TABLE_OPEN_CACHE_MIN * 2;
 * max_connections = limit when limit < max_connections. 5.7 allocates the 16 B table for every
 * file at once (my_file.c); 8.0 keeps a vector that grows with the descriptors in use (my_file.cc FileInfoVector).
 */
function openFilesMysql57(v: ServerVariables, soft: number, hard: number, growsPerDescriptor: boolean): OpenFilesAtStartup {
  const limit1 = 10 + v.max_connections + v.table_open_cache * 2;
  const limit2 = v.max_connections * 5;
  const limit3 = v.open_files_limit > 0 ? v.open_files_limit : 5000;
  const request = Math.min(Math.max(limit1, limit2, limit3), UINT_MAX);
  const files = setMaxOpenFiles('mysql', request, soft, hard);
  const requested = Math.min(files, request);
  const maxConnections = Math.min(unsignedOrHuge(requested - 10 - MYSQL_TABLE_OPEN_CACHE_MIN * 2), v.max_connections);
  const version = growsPerDescriptor ? '8.0' : '5.7';
  return {
    openFilesLimit: files,
    requestedFiles: request,
    fileTableEntries: growsPerDescriptor ? 0 : files > MY_NFILE ? files : 0,
    maxConnections,
    formula: `MySQL ${version} asks for max(10 + max_connections + 2 × table_open_cache, 5 × max_connections, open_files_limit or 5000) = ${request}; ${describeRlimit('mysql', request, soft, hard, files)}`,
  };
}

/**
 * MariaDB 10.11 sql/mysqld.cc init_common_variables(): wanted_files = extra_files (30) +
 * max_connections + extra_max_connections + table_open_cache × 2 × table_open_cache_instances +
 * thread_pool_size; max_open_files = max(wanted_files, (max_connections + extra_max_connections) × 5,
 * open_files_limit). Checked against the 10.11.18 binary: it asks for 32184 with the defaults on
 * 2 CPUs (30 + 151 + 1 + 32000 + 2), 32187 with thread_pool_size=5, 34033 with max_connections=2000.
 * When it gets fewer files than it asked for, it lowers table_open_cache_instances and then
 * max_connections to max(min(files - 30 - min(table_open_cache, 200) × 2 × instances, max_connections), 10),
 * in unsigned arithmetic (a negative difference leaves max_connections alone) — fitted to the same
 * binary under prlimit: nofile 4096 → 866, 3400 → 170, 3240 → 10, 3000 → unchanged (for max_connections=5000).
 */
function openFilesMariadb(v: ServerVariables, soft: number, hard: number, cpus: number): OpenFilesAtStartup {
  const threadPoolSize = v.thread_pool_size > 0 ? v.thread_pool_size : cpus;
  const connections = v.max_connections + v.extra_max_connections;
  const wanted = MARIADB_EXTRA_FILES + connections + v.table_open_cache * 2 * v.table_open_cache_instances + threadPoolSize;
  const request = Math.min(Math.max(wanted, connections * 5, v.open_files_limit), UINT_MAX);
  const files = setMaxOpenFiles('mariadb', request, soft, hard);
  let maxConnections = v.max_connections;
  if (files < request) {
    const perInstance = unsignedOrHuge(files - MARIADB_EXTRA_FILES - v.max_connections);
    const instances = Math.min(Math.max(Math.floor(perInstance / 2 / v.table_open_cache), 1), v.table_open_cache_instances);
    const minTableCache = Math.min(v.table_open_cache, MARIADB_TABLE_OPEN_CACHE_MIN);
    const fitting = unsignedOrHuge(files - MARIADB_EXTRA_FILES - minTableCache * 2 * instances);
    maxConnections = Math.max(Math.min(fitting, maxConnections), MARIADB_MIN_CONNECTIONS);
  }
  return {
    openFilesLimit: files,
    requestedFiles: request,
    fileTableEntries: files > MY_NFILE ? files : 0,
    maxConnections,
    formula: `MariaDB asks for max(30 + max_connections + extra_max_connections + 2 × table_open_cache × table_open_cache_instances + thread_pool_size, 5 × (max_connections + extra_max_connections), open_files_limit) = ${request}; ${describeRlimit('mariadb', request, soft, hard, files)}`,
  };
}

function describeRlimit(family: ServerFamily, request: number, soft: number, hard: number, files: number): string {
  if (soft >= request) {
    return family === 'mysql' ? `nofile ${soft} ≥ that, so the server keeps the OS value ${files}` : `nofile ${soft} ≥ that, so the server takes what it asked for`;
  }
  return request <= hard ? `nofile ${soft} < that, raised to ${files} (hard limit ${hard})` : `nofile ${soft} < that and the hard limit ${hard} stops the raise: ${files}`;
}
