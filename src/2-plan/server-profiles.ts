// Server families, versions and their defaults: what a my.cnf resolves to before any memory is counted.
// The sources of every default are in docs/memory-model.md.
import { ScenarioInvalidError } from '../0-model/errors.ts';
import { parseBytes } from '../0-model/units.ts';

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

export type OpenFilesRule = 'mysql-5.5' | 'mysql-5.7' | 'mysql-8.0' | 'mariadb-10.11';

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
    source:
      'MySQL 5.5 Reference Manual, server system variables; 5.5→5.6 default changes (sort_buffer_size 2M→256K, join_buffer_size 128K→256K, max_allowed_packet 1M→4M, table_open_cache 400→2000, query_cache_size 0→1M)',
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
  return key
    .trim()
    .toLowerCase()
    .replace(/-/g, '_')
    .replace(/^loose_/, '');
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
