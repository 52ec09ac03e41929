// From the evidence of one incident to its candidate causes, ranked by the share of the memory at the
// kill each one accounts for. A cause is never invented: without the figures to weigh, the answer is
// `insufficient-evidence` and what to collect.
import { formatBytes } from '../../0-model/units.ts';
import { perConnectionParts } from '../memory-terms.ts';
import { FILE_INFO_BYTES, openFilesAtStartup } from '../open-files.ts';
import { type MyCnf, resolveVariables, type ServerFamily, type ServerVariables, serverFamilyOf, serverProfile } from '../server-profiles.ts';
import type { IncidentEvidence } from './evidence.ts';
import { isServerProcess, othersInTable, TASK_PAGE_KB } from './kernel-report.ts';

export const CAUSE_IDS = ['nofile-file-table', 'buffer-pool', 'connections', 'performance-schema', 'neighbours', 'allocator', 'limit-lowered', 'insufficient-evidence'] as const;
export type CauseId = (typeof CAUSE_IDS)[number];

export interface Cause {
  id: CauseId;
  /** 0–1: the share of the memory at the kill this cause accounts for, or how strongly a signature points at it. */
  score: number;
  /** One line: the cause in a DBA's words. */
  title: string;
  for: string[];
  against: string[];
}

/** The figures the diagnosis weighed, for the scenario it writes. */
export interface DiagnosisFigures {
  family: ServerFamily;
  version: string;
  /** The version was not in the evidence: guessed from the process name. */
  versionAssumed?: boolean;
  limitBytes?: number;
  anonRssBytes?: number;
  totalVmBytes?: number;
  poolBytes: number;
  /** What one connection that sorts and joins may hold: its buffers and stack. */
  perConnectionBytes: number;
  /** One in-memory temporary table: min(tmp_table_size, max_heap_table_size), part of `perConnectionBytes`. */
  temporaryTableBytes: number;
  /** Connections production had (SHOW STATUS), else max_connections. */
  connections: number;
  connectionsKnown: boolean;
  maxConnections: number;
  /** Code, threads and the global buffers other than the pool. */
  baseBytes: number;
  /** The nofile production's server had, read or inferred from total-vm. */
  nofile?: number;
  nofileInferred: boolean;
  /** The server settings given, as a scenario writes them. */
  mycnf: Record<string, string>;
}

export interface Diagnosis {
  /** Ranked, best first; `insufficient-evidence` first when no cause is weighed strongly enough. */
  causes: Cause[];
  /** What the diagnosis could not know, a line each. */
  unknown: string[];
  /** What to collect to settle it. */
  collect: string[];
  figures: DiagnosisFigures;
}

/** A cause below this score is listed but does not make a diagnosis. */
export const FITS = 0.35;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** mysqld's code, thread stacks of its background threads and heap beside the global buffers (docs/memory-model.md). */
const SERVER_CODE_AND_HEAP = 100 * MiB;
const CONTAINERD_INFINITY = 1_073_741_816;

const plural = (n: number, word: string) => `about ${n} ${word}${n === 1 ? '' : 's'}`;
const pct = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;
const kb = (bytes: number) => `${Math.round(bytes / KiB).toLocaleString('en-US')} kB`;

/** The server's family and version: a `version` variable, the image, or the process name. */
function identify(evidence: IncidentEvidence): { family: ServerFamily; version: string; note?: string } {
  const version = evidence.variables.version?.value;
  if (version) {
    const match = /^(\d+)\.(\d+)/.exec(version);
    if (match) return { family: /mariadb/i.test(version) ? 'mariadb' : 'mysql', version: `${match[1]}.${match[2]}` };
  }
  const fromImage = evidence.image ? serverFamilyOf(evidence.image.value) : undefined;
  if (fromImage) return fromImage;
  if (evidence.kill?.process === 'mariadbd') return { family: 'mariadb', version: '10.11', note: 'mariadbd: MariaDB ≥ 10.5, its version unknown (10.11 assumed)' };
  return { family: 'mysql', version: '5.7', note: 'the server version is unknown (MySQL 5.7 assumed): give --server IMAGE or SHOW GLOBAL VARIABLES' };
}

/** The given settings the model reads; a value it cannot read as a size is dropped and said. */
function settingsOf(evidence: IncidentEvidence, unknown: string[]): Record<string, string> {
  const mycnf: Record<string, string> = {};
  for (const [name, { value, source }] of Object.entries(evidence.variables)) {
    try {
      resolveVariables(serverProfile({ family: 'mariadb', version: '10.11' }).profile, { [name]: value });
      mycnf[name] = value;
    } catch {
      unknown.push(`${name} = ${JSON.stringify(value)} (${source}) is not a size: left out`);
    }
  }
  return mycnf;
}

/** What one busy connection may hold: its buffers, its stack and one in-memory temporary table. */
function connectionFormula(v: ServerVariables): { bytes: number; text: string } {
  const tmpTable = Math.min(v.tmp_table_size, v.max_heap_table_size);
  const parts = [...perConnectionParts(v), ['in-memory temporary table', tmpTable] as [string, number]].filter(([, bytes]) => bytes > 0);
  const big = parts.filter(([, bytes]) => bytes >= MiB);
  const small = parts.filter(([, bytes]) => bytes < MiB).reduce((sum, [, bytes]) => sum + bytes, 0);
  const bytes = parts.reduce((sum, [, b]) => sum + b, 0);
  const named = big.map(([name, b]) => `${formatBytes(b)} ${name}`);
  if (small > 0) named.push(`${formatBytes(small)} of smaller buffers and stack`);
  return { bytes, text: named.join(' + ') };
}

export function diagnose(evidence: IncidentEvidence): Diagnosis {
  const unknown: string[] = [];
  const collect: string[] = [];
  const id = identify(evidence);
  if (id.note) unknown.push(id.note);
  const mycnf = settingsOf(evidence, unknown);
  const { profile } = serverProfile(id);
  const { variables: v } = resolveVariables(profile, mycnf as MyCnf);
  const kill = evidence.kill;
  const limit = evidence.limitBytes?.value;
  const anon =
    kill?.anonRssKb !== undefined
      ? kill.anonRssKb * KiB
      : kill?.tasks.find((t) => t.pid === kill.pid)?.rssPages !== undefined
        ? kill.tasks.find((t) => t.pid === kill.pid)!.rssPages * TASK_PAGE_KB * KiB
        : undefined;
  const totalVm = kill?.totalVmKb !== undefined ? kill.totalVmKb * KiB : undefined;
  const gaveSettings = Object.keys(mycnf).length > 0;
  const pool = v.innodb_buffer_pool_size;
  // The key buffer and Aria's page cache are reserved but resident only as MyISAM/Aria tables fill them: not counted.
  const base = SERVER_CODE_AND_HEAP + v.innodb_log_buffer_size + v.innodb_additional_mem_pool_size;
  const perConnection = connectionFormula(v);
  const usedConnections = Number(evidence.status.max_used_connections?.value ?? evidence.status.threads_connected?.value ?? Number.NaN);
  const connectionsKnown = Number.isFinite(usedConnections);
  const connections = connectionsKnown ? usedConnections : v.max_connections;
  // What the causes share: the victim's anonymous memory at the kill, else the limit.
  const budget = anon ?? limit;

  const causes: Cause[] = [];
  const add = (cause: Cause) => causes.push({ ...cause, score: Math.max(0, Math.min(1, Math.round(cause.score * 100) / 100)) });

  if (!kill) {
    unknown.push('no OOM kill in what was given: was the server killed by the kernel, or did it exit?');
    collect.push('the kernel log around the kill: `dmesg -T | grep -B40 -A5 "Killed process"` (or `journalctl -k`)');
  } else if (!isServerProcess(kill.process)) {
    unknown.push(`the kernel killed \`${kill.process}\`, not mysqld`);
  }
  // A kill confined to some NUMA nodes (a cpuset or a memory policy): a node ran out, not the machine (incident 2's first link).
  if (kill && (kill.constraint === 'CONSTRAINT_CPUSET' || kill.constraint === 'CONSTRAINT_MEMORY_POLICY')) {
    const nodes = /\bmems_allowed=([0-9,-]+)/.exec(kill.constraintLine ?? '')?.[1]?.replace(/,+$/, '') ?? (kill.nodemask && kill.nodemask !== '(null)' ? kill.nodemask : undefined);
    unknown.push(
      `the kill was confined to ${nodes !== undefined ? `NUMA node(s) ${nodes}` : 'some NUMA nodes'} (${kill.constraint}): a node ran out, not the machine, and the other nodes' free memory at the kill is not in these lines`,
    );
    collect.push(
      "each NUMA node's free memory and the server's binding: `numactl --hardware`, `grep MemFree /sys/devices/system/node/node*/meminfo`, `grep -E 'Cpus_allowed_list|Mems_allowed_list' /proc/$(pidof mysqld)/status`; scenarios/numa-imbalance.ts reproduces a server bound to the smaller of two nodes, in a lab VM it boots itself",
    );
  }
  if (limit === undefined) {
    unknown.push('the memory limit: neither the kernel lines nor a spec give it');
    // A global kill's budget is the machine: its RAM is what --limit takes then (a newcomer with a Raspberry Pi's kill did not see it).
    collect.push(
      kill?.scope === 'global'
        ? `the machine's memory, as --limit (a global OOM's budget is the machine): \`free -m\` or \`grep MemTotal /proc/meminfo\` on it, or the kernel's \`… pages RAM\` line${evidence.machineBytes ? `; the kernel's lines suggest about ${formatBytes(evidence.machineBytes.value)} (${evidence.machineBytes.source.replace(/^kernel: /, '')}), which a lab run (--host lab) takes, but a diagnosis weighs only a size you confirm` : ''}`
        : 'the limit: `docker inspect` of the container, the Pod spec, or the kernel line `memory: usage …kB, limit …kB`',
    );
  }

  // The file table: 16 B per file of the open-files limit the server takes, allocated at start-up.
  const nofile = nofileOf(evidence, totalVm);
  {
    const forIt: string[] = [];
    const against: string[] = [];
    let score = 0;
    if (nofile) {
      const files = openFilesAtStartup({ family: profile.family, version: profile.version, nofileSoft: nofile.soft, mycnf: mycnf as MyCnf, cpus: 1 });
      const table = files.fileTableEntries * FILE_INFO_BYTES;
      if (nofile.inferred) {
        forIt.push(
          `total-vm ${kb(totalVm!)} ≈ ${FILE_INFO_BYTES} B × ${CONTAINERD_INFINITY.toLocaleString('en-US')} (${kb(FILE_INFO_BYTES * CONTAINERD_INFINITY)}) + ${kb(totalVm! - FILE_INFO_BYTES * CONTAINERD_INFINITY)}: the open-file table of nofile 1073741816 (containerd's LimitNOFILE=infinity)`,
        );
        score = 0.8;
      } else if (table > 0) {
        forIt.push(`nofile ${nofile.soft} (${nofile.source}): ${files.formula}; the table is ${formatBytes(table)} (${FILE_INFO_BYTES} B × ${files.fileTableEntries})`);
        score = budget ? Math.min(table, budget) / budget : table > GiB ? 0.8 : 0;
        if (limit && table > limit) forIt.push(`${formatBytes(table)} is above the ${formatBytes(limit)} limit: killed at start-up whatever the buffers`);
        if (totalVm !== undefined && totalVm >= table) forIt.push(`total-vm ${kb(totalVm)} holds it`);
      } else {
        against.push(`nofile ${nofile.soft} (${nofile.source}): ${files.formula}`);
      }
    } else if (totalVm !== undefined) {
      against.push(`total-vm ${kb(totalVm)} is far from the 16 GiB of a 1073741816-entry file table`);
    } else {
      unknown.push('the nofile the server had');
    }
    if (score > 0 || nofile) add({ id: 'nofile-file-table', score, title: 'a huge nofile limit makes mysqld allocate its open-file table at start-up', for: forIt, against });
  }

  // The buffer pool, warm: its share of the memory at the kill.
  if (gaveSettings && budget !== undefined) {
    const forIt: string[] = [];
    const against: string[] = [];
    const given =
      mycnf.innodb_buffer_pool_size !== undefined ? `innodb_buffer_pool_size ${mycnf.innodb_buffer_pool_size}` : `innodb_buffer_pool_size ${formatBytes(pool)} (the default: not in what was given)`;
    if (limit !== undefined) {
      const left = limit - pool - base;
      const line = `${given} is ${pct(pool, limit)} of the ${formatBytes(limit)} ${kill?.scope === 'global' ? 'machine' : 'limit'}; beside the server's ~${formatBytes(base)} it leaves ${left > 0 ? formatBytes(left) : 'nothing'} for connections`;
      (pool >= 0.6 * limit ? forIt : against).push(line);
      if (pool >= limit) forIt.push('the pool alone does not fit the limit: sized for the host, not the container');
    }
    // A global kill of a server that had not filled its pool, in a machine the pool and server fit: the machine ran out
    // before the pool filled, so what else held it decides, and the pool counts only for the server's share of the machine.
    // (A newcomer's 4 GB VPS: a 2G pool, mariadbd killed at 1.6 GiB, the pool ranked 1.00 above the 2.4 GiB of others.)
    const unfilled = kill?.scope === 'global' && anon !== undefined && limit !== undefined && pool + base > anon && pool + base <= limit;
    if (anon !== undefined) {
      const share = Math.min(pool, anon) / anon;
      if (unfilled) {
        against.push(
          `the pool (${formatBytes(pool)}) and the server's base are more than all ${kill?.process ?? 'the server'} held at the kill (${kb(anon)}), yet fit the ${formatBytes(limit!)} machine: it had not filled when the machine ran out, and the other ${formatBytes(Math.max(0, limit! - anon))} was held by something else`,
        );
      } else {
        (share >= FITS ? forIt : against).push(`warm, the pool is ${pct(Math.min(pool, anon), anon)} of the anon-rss at the kill (${kb(anon)})`);
      }
    }
    const poolScore = Math.min(pool, budget) / budget;
    add({ id: 'buffer-pool', score: unfilled ? poolScore * (anon! / limit!) : poolScore, title: 'the InnoDB buffer pool is too large for the memory limit', for: forIt, against });
  }

  // Connections: what is left of the memory at the kill once the pool and the server are counted.
  const fileTable =
    nofile && !nofile.inferred
      ? openFilesAtStartup({ family: profile.family, version: profile.version, nofileSoft: nofile.soft, mycnf: mycnf as MyCnf, cpus: 1 }).fileTableEntries * FILE_INFO_BYTES
      : nofile?.inferred
        ? FILE_INFO_BYTES * CONTAINERD_INFINITY
        : 0;
  const residual = budget !== undefined ? Math.max(0, budget - Math.min(pool, budget) - base - fileTable) : 0;
  const connectionBytes = connections * perConnection.bytes;
  if (gaveSettings && budget !== undefined) {
    const forIt: string[] = [];
    const against: string[] = [];
    const who = connectionsKnown ? `${connections} connections (${evidence.status.max_used_connections ? 'Max_used_connections' : 'Threads_connected'})` : `max_connections ${connections}`;
    const worst = pool + base + connectionBytes;
    const worstLine = `pool ${formatBytes(pool)} + ${who} × (${perConnection.text}) = ${formatBytes(worst)}${limit ? ` against a ${formatBytes(limit)} limit` : ''}`;
    (limit !== undefined && worst > limit ? forIt : against).push(worstLine);
    if (anon !== undefined) {
      const explained = Math.min(residual, connectionBytes);
      (explained / anon >= FITS ? forIt : against).push(
        `after the pool and the server, ${formatBytes(residual)} of the anon-rss is left for connections: ${pct(explained, anon)} of it, ${plural(Math.round(explained / Math.max(1, perConnection.bytes)), 'connection')} sorting at once`,
      );
    }
    if (!connectionsKnown) unknown.push('how many connections were open at the kill');
    // Unknown connections are weighed at max_connections, all busy with full buffers: a bound production rarely reaches, so half weight.
    const weight = connectionsKnown ? 1 : 0.5;
    const share = Math.min(residual, connectionBytes) / budget;
    if (!connectionsKnown && share > 0) {
      against.push(
        `how many connections were open is unknown: the score counts that ${Math.round(share * 100)} % at half (${(weight * share).toFixed(2)}), as max_connections ${connections} all busy at once is a bound production rarely reaches; Max_used_connections would count it in full`,
      );
    }
    add({ id: 'connections', score: weight * share, title: 'per-connection buffers × a burst of connections', for: forIt, against });
  }

  // performance_schema: sized at start-up from max_connections and the table caches (MySQL ≥ 5.6; off by default in MariaDB).
  {
    const setting = evidence.variables.performance_schema?.value;
    const on = setting === undefined ? id.family === 'mysql' && id.version !== '5.5' : !/^(0|off|false)$/i.test(setting);
    if (on && limit !== undefined && anon !== undefined) {
      // Commonly 200-400 MiB autosized on MySQL 5.6-8.0; the lower figure, as what the kill must at least hold.
      const estimate = 200 * MiB;
      const left = Math.max(0, anon - Math.min(pool, anon) - base);
      const share = Math.min(estimate, left) / anon;
      add({
        id: 'performance-schema',
        score: limit <= GiB ? share : share / 2,
        title: 'performance_schema sized at start-up beyond a small limit',
        for: [
          `performance_schema ${setting ?? 'ON (the default)'}: autosized from max_connections ${v.max_connections} and table_open_cache ${v.table_open_cache}, commonly 200 MiB or more on MySQL 5.6-8.0, ${pct(estimate, limit)} of the ${formatBytes(limit)} limit`,
        ],
        against: [
          // What the anon-rss leaves it is the score: said, so a low score has its reason beside it.
          ...(left < estimate ? [performanceSchemaRoom(pool, base, anon, evidence.variables.innodb_buffer_pool_size !== undefined)] : []),
          ...(limit > GiB ? [`the limit ${formatBytes(limit)} leaves room for it`] : []),
        ],
      });
      unknown.push('performance_schema memory: not in the kernel lines');
      collect.push("performance_schema's memory: `SELECT SUM(current_alloc) FROM sys.memory_global_by_current_bytes WHERE event_name LIKE 'memory/performance_schema/%'`");
    }
  }

  // Neighbours: others in the same budget, from the task table or from what the memcg held beside mysqld.
  if (kill) {
    const others = kill.tasks.filter((t) => t.pid !== kill.pid);
    const inTable = othersInTable(kill);
    const othersBytes = inTable.rssKb * KiB;
    const victimBytes = (kill.anonRssKb ?? 0) * KiB + (kill.fileRssKb ?? 0) * KiB;
    const forIt: string[] = [];
    const against: string[] = [];
    let score = 0;
    // A whole task table lists the victim too: without its row (a thread's excerpt cut it) the rows read are a part,
    // and what they held is no figure against neighbours. The budget and the victim's size decide then, as with no table.
    const tableCut = others.length > 0 && victimBytes > 0 && !kill.tasks.some((t) => t.pid === kill.pid);
    const noTable = tableCut
      ? `the task table given is cut: ${others.length} row${others.length === 1 ? '' : 's'} and none for ${kill.process} (pid ${kill.pid})`
      : 'the kernel lines have no task table';
    if (tableCut) unknown.push(`which processes held what: ${noTable}, so the ${formatBytes(othersBytes)} its rows held is only a part`);
    const askTaskTable = `the ${tableCut ? 'whole ' : ''}task table the kernel printed before the kill (the \`[  pid  ]   uid  tgid total_vm      rss …\` rows): it names the neighbours`;
    if (others.length > 0 && othersBytes + victimBytes > 0 && !tableCut) {
      // The victim's row may be missing from a pasted table: then the limit is the whole.
      const whole = victimBytes > 0 ? othersBytes + victimBytes : Math.max(othersBytes, limit ?? othersBytes);
      const share = othersBytes / whole;
      const line = `${others.length} other process${others.length === 1 ? '' : 'es'} in the kill's task table held ${formatBytes(othersBytes)} (${pct(othersBytes, whole)} of ${victimBytes > 0 ? 'the resident memory' : 'the limit'}), the largest ${inTable.largest.map((t) => `${JSON.stringify(t.name)} ${formatBytes(t.rssKb * KiB)}`).join(', ')}`;
      (share >= FITS ? forIt : against).push(line);
      score = share;
    } else if (kill.memcgUsageKb !== undefined && victimBytes > 0 && kill.scope === 'memcg') {
      const beside = kill.memcgUsageKb * KiB - victimBytes;
      const share = beside / (kill.memcgUsageKb * KiB);
      const line = `the cgroup held ${kb(kill.memcgUsageKb * KiB)}, ${kb(Math.max(0, beside))} of it not ${kill.process}'s resident memory`;
      (share >= FITS ? forIt : against).push(line);
      score = share * 0.8;
      if (kill.tasks.length === 0) unknown.push('what else ran in the cgroup: the kernel log had no task table');
      if (tableCut) collect.push(askTaskTable);
    } else if (kill.scope === 'global' && limit !== undefined && victimBytes > 0) {
      // A global OOM kills the largest process: what the machine held beside it was someone else's.
      const beside = Math.max(0, limit - victimBytes);
      const share = beside / limit;
      const line = `a global OOM in ${formatBytes(limit)}: ${kill.process} held ${kb(victimBytes)} (${pct(victimBytes, limit)}); the other ${formatBytes(beside)} was other processes' and the kernel's`;
      (share >= FITS ? forIt : against).push(line);
      score = share * 0.8;
      if (!tableCut) unknown.push(`which processes held the rest: ${noTable}`);
      collect.push(askTaskTable);
    }
    if (kill.scope === 'global') forIt.push('a global OOM (no memory cgroup): the kernel picks the largest process, which need not be the one that grew');
    if (score > 0 || kill.scope === 'global')
      add({
        id: 'neighbours',
        score: kill.scope === 'global' ? Math.max(score, 0.2) : score,
        title: `other processes in the same memory budget; ${kill.process} killed as the largest`,
        for: forIt,
        against,
      });
  }

  // A lowered limit: the kernel's limit below the one the container was created with.
  if (evidence.configuredLimitBytes && kill?.memcgLimitKb !== undefined) {
    const configured = evidence.configuredLimitBytes.value;
    const kernel = kill.memcgLimitKb * KiB;
    const lowered = kernel < 0.95 * configured;
    // A pool that fit the limit the server was created with was sized right: the cut, not the pool, is the cause.
    const poolFitConfigured = lowered && gaveSettings && pool + base <= configured && pool + base > kernel * 0.5;
    const poolCause = causes.find((c) => c.id === 'buffer-pool');
    if (poolFitConfigured && poolCause) {
      poolCause.against.push(`the pool and the server (${formatBytes(pool + base)}) fit the ${formatBytes(configured)} the container was created with: the pool was sized for that limit`);
      poolCause.score = Math.min(poolCause.score, 0.9);
    }
    add({
      id: 'limit-lowered',
      score: lowered ? (poolFitConfigured ? 1 : 0.9) : 0,
      title: 'the memory limit was lowered under the live server',
      for: lowered
        ? [
            `the kernel's limit at the kill, ${kb(kernel)}, is below the ${formatBytes(configured)} the container was created with (${evidence.configuredLimitBytes.source})`,
            ...(poolFitConfigured ? [`the pool and the server (${formatBytes(pool + base)}) fit the limit it was created with, not the lowered one`] : []),
          ]
        : [],
      against: lowered ? [] : [`the kernel's limit ${kb(kernel)} is the configured ${formatBytes(configured)}`],
    });
  }

  // Allocator retention: memory that even every connection busy at once cannot account for.
  if (gaveSettings && anon !== undefined) {
    const unexplained = residual - connectionBytes;
    if (unexplained > 0.1 * anon) {
      add({
        id: 'allocator',
        score: (unexplained / anon) * 0.8,
        title: 'memory the allocator keeps after the work that needed it',
        for: [`${formatBytes(unexplained)} of the anon-rss is neither the pool, the server nor the buffers of ${connections} connections all busy at once: memory malloc may hold after peaks`],
        against: [],
      });
      collect.push(
        "the server's memory over days beside its connections (`SHOW GLOBAL STATUS LIKE 'Threads_connected'`); the allocator's own figures (malloc_stats() through gdb); a run with jemalloc to compare",
      );
    }
  }

  if (!gaveSettings) {
    unknown.push('the server settings: buffer pool, per-connection buffers, max_connections');
    collect.push('the server settings: the [mysqld] section of my.cnf, or `mysql -e "SHOW GLOBAL VARIABLES"` > variables.txt');
  }
  if (!connectionsKnown && gaveSettings) collect.push('how many connections production had: `SHOW GLOBAL STATUS LIKE "Max_used_connections"`');
  // A total-vm far from 16 GiB already rules the file table out: the limits are only worth asking for without one.
  if (!nofile && totalVm === undefined) collect.push("the server's limits: `cat /proc/$(pidof mysqld)/limits`");

  causes.sort((a, b) => b.score - a.score);
  const best = causes[0];
  // Without a kill there is no memory at the kill to share out: settings alone never make a diagnosis.
  if (!kill || !best || best.score < FITS) {
    causes.unshift({
      id: 'insufficient-evidence',
      score: 1,
      title: 'insufficient evidence: no cause accounts for the memory at the kill',
      for: [
        !kill
          ? 'there is no kill to weigh the settings against'
          : best
            ? `the strongest candidate, ${best.id}, scores ${best.score.toFixed(2)}, below the ${FITS.toFixed(2)} a cause needs${limit === undefined ? ": without the limit (or, for a global OOM, the machine's memory) there is no budget to share the kill out against" : ''}`
            : `the kill alone${anon !== undefined ? ` (${formatBytes(anon)} anon-rss)` : ''} does not say what held the memory: no setting, limit or neighbour to weigh`,
      ],
      against: [],
    });
  }
  return {
    causes,
    unknown,
    collect,
    figures: {
      family: id.family,
      version: id.version,
      ...(id.note ? { versionAssumed: true } : {}),
      ...(limit !== undefined ? { limitBytes: limit } : {}),
      ...(anon !== undefined ? { anonRssBytes: anon } : {}),
      ...(totalVm !== undefined ? { totalVmBytes: totalVm } : {}),
      poolBytes: pool,
      perConnectionBytes: perConnection.bytes,
      temporaryTableBytes: Math.min(v.tmp_table_size, v.max_heap_table_size),
      connections,
      connectionsKnown,
      maxConnections: v.max_connections,
      baseBytes: base,
      ...(nofile ? { nofile: nofile.soft } : {}),
      nofileInferred: nofile?.inferred ?? false,
      mycnf,
    },
  };
}

/** The nofile the server had: read from limits or a spec, or inferred from a total-vm of 16 GiB and a little more. */
function nofileOf(evidence: IncidentEvidence, totalVm: number | undefined): { soft: number; source: string; inferred: boolean } | undefined {
  if (evidence.nofile) return { soft: evidence.nofile.value.soft, source: evidence.nofile.source, inferred: false };
  const table = FILE_INFO_BYTES * CONTAINERD_INFINITY;
  // The rest of a server's address space, beside the table, is a few GiB at most for these versions.
  if (totalVm !== undefined && totalVm >= table && totalVm < table + 4 * GiB) return { soft: CONTAINERD_INFINITY, source: 'inferred from total-vm', inferred: true };
  return undefined;
}

/**
 * What the anon-rss leaves performance_schema after the pool and the server's base. A pool nobody gave is the
 * server's default: a newcomer read "after the pool (84.1 MiB)" for a 2013 mysqld whose whole anon-rss was 84 MiB.
 */
function performanceSchemaRoom(pool: number, base: number, anon: number, poolGiven: boolean): string {
  const poolText = `the pool (${formatBytes(pool)}${poolGiven ? '' : ', the default: none was given'})`;
  if (pool + base >= anon) {
    return `${poolText} and the server's base (~${formatBytes(base)}) come to more than the whole ${kb(anon)} anon-rss: nothing is left for it${poolGiven ? '' : ", and production's pool was smaller than that default or not yet filled: give its my.cnf"}`;
  }
  return `after ${poolText} and the server's base (~${formatBytes(base)}), ${formatBytes(anon - pool - base)} of the ${kb(anon)} anon-rss is left for it`;
}
