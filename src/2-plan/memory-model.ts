// The preflight memory model: what a MySQL/MariaDB configuration can need at worst, term by term,
// against the container's memory limit. The formula and its sources are in docs/memory-model.md.
import { ScenarioInvalidError } from '../0-model/errors.ts';
import type { InstanceSpec } from '../1-scenario/index.ts';
import { formatBytes, parseBytes } from '../0-model/units.ts';
import type { MemoryPrediction, MemoryTerm } from '../0-model/prediction.ts';

export type { MemoryPrediction, MemoryTerm };

export type ServerFamily = 'mysql' | 'mariadb';

export interface ServerIdentity {
  family: ServerFamily;
  /** `major.minor` from the image tag (`5.7`, `10.11`), or `latest` when the tag names no version. */
  version: string;
}

/** my.cnf `[mysqld]` settings as a scenario writes them: `{ sort_buffer_size: '4M', max_connections: 300 }`. */
export type MyCnf = Readonly<Record<string, string | number | boolean>>;

/** The server variables the model uses, in bytes or counts. A variable the server lacks is 0. */
export interface ServerVariables {
  innodb_buffer_pool_size: number;
  innodb_log_buffer_size: number;
  innodb_additional_mem_pool_size: number;
  key_buffer_size: number;
  query_cache_size: number;
  aria_pagecache_buffer_size: number;
  /** MySQL 8.0's TempTable engine: one global cap on in-memory internal temporary tables. */
  temptable_max_ram: number;
  sort_buffer_size: number;
  join_buffer_size: number;
  read_buffer_size: number;
  read_rnd_buffer_size: number;
  mrr_buffer_size: number;
  thread_stack: number;
  net_buffer_length: number;
  max_allowed_packet: number;
  binlog_cache_size: number;
  binlog_stmt_cache_size: number;
  log_bin: boolean;
  tmp_table_size: number;
  max_heap_table_size: number;
  max_connections: number;
  extra_max_connections: number;
  table_open_cache: number;
  table_open_cache_instances: number;
  /** 0 means automatic (the server computes it at start-up). */
  open_files_limit: number;
  /** MariaDB's thread_pool_size; 0 means the number of CPUs. */
  thread_pool_size: number;
}

type OpenFilesRule = 'mysql-5.5' | 'mysql-5.7' | 'mysql-8.0' | 'mariadb-10.11';

export interface ServerProfile {
  family: ServerFamily;
  version: string;
  label: string;
  defaults: ServerVariables;
  /** Variables this server does not have: mysqld refuses to start when my.cnf sets one. */
  absent: readonly (keyof ServerVariables)[];
  openFiles: OpenFilesRule;
  /** Where the defaults were read. */
  source: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** sizeof(struct st_my_file_info) on 64-bit Linux: `char *name` + `enum file_type type`, padded. */
export const FILE_INFO_BYTES = 16;

const MYSQL_55: ServerVariables = {
  innodb_buffer_pool_size: 128 * MiB,
  innodb_log_buffer_size: 8 * MiB,
  innodb_additional_mem_pool_size: 8 * MiB,
  key_buffer_size: 8 * MiB,
  query_cache_size: 0,
  aria_pagecache_buffer_size: 0,
  temptable_max_ram: 0,
  sort_buffer_size: 2 * MiB,
  join_buffer_size: 128 * KiB,
  read_buffer_size: 128 * KiB,
  read_rnd_buffer_size: 256 * KiB,
  mrr_buffer_size: 0,
  thread_stack: 256 * KiB,
  net_buffer_length: 16 * KiB,
  max_allowed_packet: 1 * MiB,
  binlog_cache_size: 32 * KiB,
  binlog_stmt_cache_size: 32 * KiB,
  log_bin: false,
  tmp_table_size: 16 * MiB,
  max_heap_table_size: 16 * MiB,
  max_connections: 151,
  extra_max_connections: 0,
  table_open_cache: 400,
  table_open_cache_instances: 1,
  open_files_limit: 0,
  thread_pool_size: 0,
};

const MYSQL_57: ServerVariables = {
  ...MYSQL_55,
  innodb_log_buffer_size: 16 * MiB,
  innodb_additional_mem_pool_size: 0,
  query_cache_size: 1 * MiB,
  sort_buffer_size: 256 * KiB,
  join_buffer_size: 256 * KiB,
  max_allowed_packet: 4 * MiB,
  table_open_cache: 2000,
  table_open_cache_instances: 16,
};

const MYSQL_80: ServerVariables = {
  ...MYSQL_57,
  query_cache_size: 0,
  temptable_max_ram: 1 * GiB,
  thread_stack: 1 * MiB,
  max_allowed_packet: 64 * MiB,
  log_bin: true,
  table_open_cache: 4000,
};

/** Measured: `mariadbd --no-defaults --verbose --help` of 10.11.18-MariaDB-0+deb12u1 (the offline image). */
const MARIADB_1011: ServerVariables = {
  innodb_buffer_pool_size: 128 * MiB,
  innodb_log_buffer_size: 16 * MiB,
  innodb_additional_mem_pool_size: 0,
  key_buffer_size: 128 * MiB,
  query_cache_size: 1 * MiB,
  aria_pagecache_buffer_size: 128 * MiB,
  temptable_max_ram: 0,
  sort_buffer_size: 2 * MiB,
  join_buffer_size: 256 * KiB,
  read_buffer_size: 128 * KiB,
  read_rnd_buffer_size: 256 * KiB,
  mrr_buffer_size: 256 * KiB,
  thread_stack: 299_008,
  net_buffer_length: 16 * KiB,
  max_allowed_packet: 16 * MiB,
  binlog_cache_size: 32 * KiB,
  binlog_stmt_cache_size: 32 * KiB,
  log_bin: false,
  tmp_table_size: 16 * MiB,
  max_heap_table_size: 16 * MiB,
  max_connections: 151,
  extra_max_connections: 1,
  table_open_cache: 2000,
  table_open_cache_instances: 8,
  open_files_limit: 0,
  thread_pool_size: 0,
};

/** Server defaults per family and version (64-bit Linux builds). */
export const SERVER_PROFILES: readonly ServerProfile[] = [
  {
    family: 'mysql',
    version: '5.5',
    label: 'MySQL 5.5',
    defaults: MYSQL_55,
    absent: ['aria_pagecache_buffer_size', 'temptable_max_ram', 'mrr_buffer_size', 'extra_max_connections', 'thread_pool_size'],
    openFiles: 'mysql-5.5',
    source: 'MySQL 5.5 Reference Manual, server system variables; 5.5→5.6 default changes (sort_buffer_size 2M→256K, join_buffer_size 128K→256K, max_allowed_packet 1M→4M, table_open_cache 400→2000, query_cache_size 0→1M)',
  },
  {
    family: 'mysql',
    version: '5.7',
    label: 'MySQL 5.7',
    defaults: MYSQL_57,
    absent: ['innodb_additional_mem_pool_size', 'aria_pagecache_buffer_size', 'temptable_max_ram', 'mrr_buffer_size', 'extra_max_connections', 'thread_pool_size'],
    openFiles: 'mysql-5.7',
    source: 'MySQL 5.7 Reference Manual, server system variables and InnoDB parameters',
  },
  {
    family: 'mysql',
    version: '8.0',
    label: 'MySQL 8.0',
    defaults: MYSQL_80,
    absent: ['query_cache_size', 'innodb_additional_mem_pool_size', 'aria_pagecache_buffer_size', 'mrr_buffer_size', 'extra_max_connections', 'thread_pool_size'],
    openFiles: 'mysql-8.0',
    source: 'MySQL 8.0 Reference Manual, server system variables (thread_stack 1M from 8.0.27)',
  },
  {
    family: 'mariadb',
    version: '10.11',
    label: 'MariaDB 10.11',
    defaults: MARIADB_1011,
    absent: ['innodb_additional_mem_pool_size', 'temptable_max_ram'],
    openFiles: 'mariadb-10.11',
    source: 'measured: mariadbd 10.11.18 --no-defaults --verbose --help',
  },
];

const MYSQL_IMAGES = new Set(['mysql', 'mysql-server', 'percona', 'percona-server']);
const MARIADB_IMAGES = new Set(['mariadb', 'mariadb-server']);

/** `mysql:5.7` → mysql 5.7; `oomlab/mariadb:10.11` → mariadb 10.11; anything else → undefined. */
export function serverFamilyOf(image: string): ServerIdentity | undefined {
  const withoutDigest = image.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const name = (colon === -1 ? withoutDigest.slice(lastSlash + 1) : withoutDigest.slice(lastSlash + 1, colon)).toLowerCase();
  const tag = colon === -1 ? '' : withoutDigest.slice(colon + 1);
  const family: ServerFamily | undefined = MYSQL_IMAGES.has(name) ? 'mysql' : MARIADB_IMAGES.has(name) ? 'mariadb' : undefined;
  if (!family) return undefined;
  const version = /^(\d+)(?:\.(\d+))?/.exec(tag);
  if (!version) return { family, version: 'latest' };
  return { family, version: `${version[1]}.${version[2] ?? '0'}` };
}

function versionNumber(version: string): number {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? Number(match[1]) * 1000 + Number(match[2]) : Number.POSITIVE_INFINITY;
}

/** The profile of this family and version, or the nearest one (said in `note`). */
export function serverProfile(identity: ServerIdentity): { profile: ServerProfile; note?: string } {
  const candidates = SERVER_PROFILES.filter((p) => p.family === identity.family);
  const exact = candidates.find((p) => p.version === identity.version);
  if (exact) return { profile: exact };
  const wanted = versionNumber(identity.version);
  // The nearest version (5.6 → 5.7, 8.4 → 8.0, 10.6 → 10.11); a tie goes to the newer; `latest` to the newest.
  const distance = (p: ServerProfile) => (wanted === Number.POSITIVE_INFINITY ? -versionNumber(p.version) : Math.abs(versionNumber(p.version) - wanted));
  const profile = [...candidates].reverse().reduce((best, p) => (distance(p) < distance(best) ? p : best));
  return { profile, note: `${identity.family} ${identity.version} is not modelled: ${profile.label} defaults and start-up rules are used` };
}

const ALIASES: Record<string, keyof ServerVariables> = {
  table_cache: 'table_open_cache',
  tmp_memory_table_size: 'tmp_table_size',
};

const DISABLE_BINLOG = new Set(['skip_log_bin', 'disable_log_bin']);

function normalise(key: string): string {
  return key.trim().toLowerCase().replace(/-/g, '_').replace(/^loose_/, '');
}

function readSize(key: string, value: string | number | boolean): number {
  if (typeof value === 'boolean') {
    throw new ScenarioInvalidError(`my.cnf \`${key}\` = ${value}: expected a size or a number; write it like 256K, 16M, 1G or a number of bytes`);
  }
  try {
    return parseBytes(value);
  } catch (error) {
    throw new ScenarioInvalidError(`my.cnf \`${key}\` = \`${value}\`: not a size; write it like 256K, 16M, 1G or a number of bytes`, { cause: error });
  }
}

function readSwitch(value: string | number | boolean): boolean {
  if (typeof value === 'boolean') return value;
  return !/^(0|off|false|no)$/i.test(String(value).trim());
}

/** The profile's defaults overlaid with my.cnf; settings the server lacks are dropped and named in `notes`. */
export function resolveVariables(profile: ServerProfile, mycnf: MyCnf = {}): { variables: ServerVariables; notes: string[] } {
  const variables: ServerVariables = { ...profile.defaults };
  const notes: string[] = [];
  for (const [rawKey, value] of Object.entries(mycnf)) {
    const key = normalise(rawKey);
    if (DISABLE_BINLOG.has(key)) {
      if (readSwitch(value)) variables.log_bin = false;
      continue;
    }
    if (key === 'log_bin') {
      // `log_bin = mysql-bin` names the log: any value but an explicit off enables it.
      variables.log_bin = readSwitch(value);
      continue;
    }
    const name = (ALIASES[key] ?? key) as keyof ServerVariables;
    if (!(name in variables) || name === 'log_bin') continue;
    if (profile.absent.includes(name)) {
      notes.push(`${profile.label} has no \`${name}\`: mysqld refuses to start with it in my.cnf; the setting is ignored here`);
      continue;
    }
    (variables as unknown as Record<string, number>)[name] = readSize(rawKey, value);
  }
  return { variables, notes };
}

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

export interface PredictInput {
  image: string;
  mycnf?: MyCnf;
  /** RLIMIT_NOFILE the server starts with; `default` or absent: the engine's default (`defaultNofile`). */
  nofile?: number | 'default';
  /** Hard limit when it differs from the soft one (`ulimit -Sn`). @default nofile */
  nofileHard?: number;
  memoryLimitBytes?: number;
  /** The engine's default nofile, when the host knows it. @default 1_048_576 */
  defaultNofile?: number;
  /** CPUs the server sees (MariaDB thread_pool_size). @default 1 */
  cpus?: number;
}

const ASSUMED_DEFAULT_NOFILE = 1_048_576;

/** The worst-case memory of one server configuration, term by term, against the limit. */
export function predictPeakMemory(input: PredictInput): MemoryPrediction {
  const identity = serverFamilyOf(input.image);
  const limitBytes = input.memoryLimitBytes;
  if (!identity) {
    return {
      predictedPeakBytes: 0,
      ...(limitBytes !== undefined ? { limitBytes } : {}),
      fits: undefined,
      terms: [],
      openFilesLimit: 0,
      assumptions: [`\`${input.image}\` is not a MySQL or MariaDB image: no memory model`],
    };
  }
  const assumptions: string[] = [];
  const { profile, note } = serverProfile(identity);
  if (note) assumptions.push(note);
  const { variables: v, notes } = resolveVariables(profile, input.mycnf);
  assumptions.push(...notes);

  let nofileSoft: number;
  if (typeof input.nofile === 'number') nofileSoft = input.nofile;
  else if (input.defaultNofile !== undefined) nofileSoft = input.defaultNofile;
  else {
    nofileSoft = ASSUMED_DEFAULT_NOFILE;
    assumptions.push(`nofile is the engine's default, assumed ${ASSUMED_DEFAULT_NOFILE}`);
  }
  const cpus = input.cpus ?? 1;
  if (identity.family === 'mariadb' && input.cpus === undefined && v.thread_pool_size === 0) {
    assumptions.push('thread_pool_size (the CPU count) assumed 1');
  }
  const openFiles = openFilesAtStartup({
    family: profile.family,
    version: profile.version,
    nofileSoft,
    ...(input.nofileHard !== undefined ? { nofileHard: input.nofileHard } : {}),
    ...(input.mycnf ? { mycnf: input.mycnf } : {}),
    cpus,
  });

  const terms: MemoryTerm[] = [];
  if (openFiles.fileTableEntries > 0) {
    terms.push({
      name: 'open-file table',
      bytes: openFiles.fileTableEntries * FILE_INFO_BYTES,
      formula: `open_files_limit ${openFiles.openFilesLimit} × ${FILE_INFO_BYTES} B`,
      phase: 'start-up',
      detail: openFiles.formula,
    });
  } else if (profile.openFiles === 'mysql-8.0') {
    const entries = Math.min(openFiles.openFilesLimit, openFiles.requestedFiles);
    terms.push({
      name: 'open-file table',
      bytes: entries * FILE_INFO_BYTES,
      formula: `${entries} descriptors × ${FILE_INFO_BYTES} B, grown as files open`,
      phase: 'global',
      detail: openFiles.formula,
    });
  }
  const global = (name: string, variable: keyof ServerVariables, label = variable): void => {
    const bytes = v[variable] as number;
    if (bytes > 0) terms.push({ name, bytes, formula: `${label} ${formatBytes(bytes)}`, phase: 'global' });
  };
  global('InnoDB buffer pool', 'innodb_buffer_pool_size');
  global('InnoDB log buffer', 'innodb_log_buffer_size');
  global('InnoDB additional memory pool', 'innodb_additional_mem_pool_size');
  global('MyISAM key buffer', 'key_buffer_size');
  global('query cache', 'query_cache_size');
  global('Aria page cache', 'aria_pagecache_buffer_size');

  // One more than max_connections: the server keeps a slot for an account with SUPER (CONNECTION_ADMIN).
  const connections = openFiles.maxConnections + 1;
  const connectionsText = `${connections} connections (max_connections ${openFiles.maxConnections} + 1 admin)`;
  if (openFiles.maxConnections < v.max_connections) {
    assumptions.push(`the server lowers max_connections from ${v.max_connections} to ${openFiles.maxConnections} for lack of file descriptors`);
  }
  const parts: [string, number][] = [
    ['sort_buffer_size', v.sort_buffer_size],
    ['join_buffer_size', v.join_buffer_size],
    ['read_buffer_size', v.read_buffer_size],
    ['read_rnd_buffer_size', v.read_rnd_buffer_size],
    ['mrr_buffer_size', v.mrr_buffer_size],
    ['thread_stack', v.thread_stack],
    ['2 × net_buffer_length', 2 * v.net_buffer_length],
    ...(v.log_bin ? ([['binlog_cache_size', v.binlog_cache_size], ['binlog_stmt_cache_size', v.binlog_stmt_cache_size]] as [string, number][]) : []),
  ];
  const perConnection = parts.reduce((sum, [, bytes]) => sum + bytes, 0);
  terms.push({
    name: 'per-connection buffers',
    bytes: perConnection * connections,
    formula: `${connections} connections × ${formatBytes(perConnection)}`,
    phase: 'per-connection',
    detail: `${connectionsText} × (${parts.filter(([, b]) => b > 0).map(([n, b]) => `${n} ${formatBytes(b)}`).join(' + ')})`,
  });
  const tmpTable = Math.min(v.tmp_table_size, v.max_heap_table_size);
  const tmpAll = tmpTable * connections;
  const tmpBytes = v.temptable_max_ram > 0 ? Math.min(tmpAll, v.temptable_max_ram) : tmpAll;
  terms.push({
    name: 'in-memory temporary tables',
    bytes: tmpBytes,
    formula:
      v.temptable_max_ram > 0 && tmpAll > v.temptable_max_ram
        ? `temptable_max_ram ${formatBytes(v.temptable_max_ram)} (below ${connections} × ${formatBytes(tmpTable)})`
        : `${connections} connections × ${formatBytes(tmpTable)}`,
    phase: 'per-connection',
    detail: `${connectionsText} × one table of min(tmp_table_size ${formatBytes(v.tmp_table_size)}, max_heap_table_size ${formatBytes(v.max_heap_table_size)})${v.temptable_max_ram > 0 ? `, all capped by temptable_max_ram ${formatBytes(v.temptable_max_ram)}` : ''}`,
  });

  assumptions.push(
    `one in-memory temporary table and one join buffer per connection; net buffers at net_buffer_length (each may grow to max_allowed_packet ${formatBytes(v.max_allowed_packet)} for large rows)`,
    'not counted: code and heap of mysqld itself, table and definition caches, performance_schema, InnoDB buffer-pool descriptors, allocator fragmentation',
  );

  const predictedPeakBytes = terms.reduce((sum, term) => sum + term.bytes, 0);
  return {
    predictedPeakBytes,
    ...(limitBytes !== undefined ? { limitBytes, headroomBytes: limitBytes - predictedPeakBytes } : {}),
    fits: limitBytes === undefined ? undefined : predictedPeakBytes <= limitBytes,
    terms,
    openFilesLimit: openFiles.openFilesLimit,
    assumptions,
  };
}

const ULIMIT = /\bulimit\s+-([A-Za-z]*n[A-Za-z]*)\s+(\d+)/;

/** The nofile limits a `sh -c "ulimit -n N && exec ..."` wrapper leaves the server with. */
export function nofileAfterWrapper(argv: readonly string[] | undefined, soft: number, hard: number): { soft: number; hard: number } {
  const match = argv ? ULIMIT.exec(argv.join(' ')) : null;
  if (!match) return { soft, hard };
  const flags = match[1]!;
  const value = Number(match[2]);
  // sh and bash set both limits unless told -S or -H.
  const setsSoft = flags.includes('S') || !flags.includes('H');
  const setsHard = flags.includes('H') || !flags.includes('S');
  return { soft: setsSoft ? value : soft, hard: setsHard ? value : hard };
}

/** predictPeakMemory for an instance of a planned configuration: its image, my.cnf, nofile, limit and ulimit wrapper. */
export function predictInstance(spec: InstanceSpec, host: { defaultNofile?: number; cpus?: number } = {}): MemoryPrediction {
  const declared = typeof spec.nofile === 'number' ? spec.nofile : (host.defaultNofile ?? ASSUMED_DEFAULT_NOFILE);
  const wrapped = nofileAfterWrapper([...(spec.entrypoint ?? []), ...(spec.command ?? [])], declared, declared);
  const prediction = predictPeakMemory({
    image: spec.image,
    ...(spec.mycnf ? { mycnf: spec.mycnf } : {}),
    nofile: wrapped.soft,
    nofileHard: wrapped.hard,
    ...(spec.memory !== undefined ? { memoryLimitBytes: parseBytes(spec.memory) } : {}),
    ...(host.cpus !== undefined ? { cpus: host.cpus } : {}),
  });
  if (typeof spec.nofile !== 'number' && host.defaultNofile === undefined && serverFamilyOf(spec.image)) {
    prediction.assumptions.push(`nofile is the engine's default, assumed ${ASSUMED_DEFAULT_NOFILE}`);
  }
  if (wrapped.soft !== declared || wrapped.hard !== declared) {
    prediction.assumptions.push(`the entrypoint's ulimit leaves the server nofile ${wrapped.soft} (hard ${wrapped.hard})`);
  }
  return prediction;
}

/** Bytes resident as soon as the server starts (the open-file table): above the limit, the server is killed before it serves. */
export function startUpBytes(prediction: MemoryPrediction): number {
  return prediction.terms.filter((t) => t.phase === 'start-up').reduce((sum, t) => sum + t.bytes, 0);
}

/** True when the start-up allocation alone exceeds the limit: an OOM kill at start-up, whatever the load. */
export function cannotStart(prediction: MemoryPrediction): boolean {
  return prediction.limitBytes !== undefined && startUpBytes(prediction) > prediction.limitBytes;
}

/**
 * One line for the plan: the worst case against the limit and the term that dominates it,
 * e.g. `…: predicted worst case 18.7 GiB > limit 4 GiB: open-file table 16 GiB (open_files_limit 1073741816 × 16 B), allocated at start-up`.
 */
export function formatPredictionWarning(configId: string, prediction: MemoryPrediction): string {
  const largest = [...prediction.terms].sort((a, b) => b.bytes - a.bytes)[0];
  if (prediction.limitBytes === undefined || !largest) {
    return `${configId}: predicted worst case ${formatBytes(prediction.predictedPeakBytes)}, no memory limit to compare with`;
  }
  const limit = formatBytes(prediction.limitBytes);
  const worst = formatBytes(prediction.predictedPeakBytes);
  if (prediction.fits) {
    return `${configId}: predicted worst case ${worst} ≤ limit ${limit} (headroom ${formatBytes(prediction.headroomBytes ?? 0)})`;
  }
  const when = cannotStart(prediction) ? 'allocated at start-up: it cannot start' : largest.phase === 'per-connection' ? 'under load' : 'once the buffers fill';
  return `${configId}: predicted worst case ${worst} > limit ${limit}: ${largest.name} ${formatBytes(largest.bytes)} (${largest.formula}), ${when}`;
}

/** `17179869056` → `16 GiB`, `3330048` → `3.2 MiB`. */

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
