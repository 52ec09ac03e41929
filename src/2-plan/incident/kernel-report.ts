// The kernel's OOM report as a user pastes it: dmesg, journalctl or /var/log/messages, current or old
// format, or only the task table. Every line is data: nothing from it is ever evaluated.
import type { OthersAtKill } from '../../0-model/observation.ts';

/** Whose memory ran out: a memory cgroup, the whole machine, a NUMA memory policy or a cpuset. */
export type OomScope = 'memcg' | 'global' | 'memory-policy' | 'cpuset' | 'unknown';

/** One row of the kernel's task table (`[  pid  ]   uid  tgid total_vm      rss … name`); sizes in pages. */
export interface OomTask {
  pid: number;
  totalVmPages: number;
  rssPages: number;
  oomScoreAdj?: number;
  name: string;
}

/** One OOM kill as production's kernel reported it. */
export interface ProductionKill {
  /** The victim's comm (`mysqld`, `mariadbd`). */
  process: string;
  pid?: number;
  totalVmKb?: number;
  anonRssKb?: number;
  fileRssKb?: number;
  shmemRssKb?: number;
  scope: OomScope;
  /** `CONSTRAINT_MEMCG`, `CONSTRAINT_NONE`, … as printed. */
  constraint?: string;
  nodemask?: string;
  /** The memory cgroup that ran out (`oom_memcg=`, or v1's `Task in … killed as a result of limit of …`). */
  memcg?: string;
  /** The killed task's own memory cgroup (`task_memcg=`): a container's, where `memcg` may be a parent's budget. */
  taskMemcg?: string;
  /** The `oom-kill:` line, as printed, when its pid is the victim's. */
  constraintLine?: string;
  memcgUsageKb?: number;
  memcgLimitKb?: number;
  oomScoreAdj?: number;
  /** `score 950` of the old `Kill process … or sacrifice child` line. */
  score?: number;
  /** The victim's uid, where the kill line prints it (`, UID 27,` or `UID:0`). */
  uid?: number;
  /** The task table printed with this kill, when there was one. */
  tasks: OomTask[];
  /** `current`: `Killed process … total-vm`; `old`: `Kill process … or sacrifice child`; `task-table`: only rows, victim assumed. */
  format: 'current' | 'old' | 'task-table';
  /** The lines this kill was read from, as printed. */
  lines: string[];
}

const MYSQL_PROCESS = /^(mysqld|mariadbd|mysqld_safe|mariadbd-safe|mysqld-debug)$/;

/** Is this comm a MySQL or MariaDB server? */
export function isServerProcess(name: string): boolean {
  return MYSQL_PROCESS.test(name);
}

// Spellings seen in real reports: `, UID 27,` before or after the name, `kb` in lower case, a space after the colon.
const KILLED = /killed process (\d+)(?:, UID (\d+),)? \(([^\n]*?)\)(?:,? UID (\d+))?,? total-vm:\s?(\d+)kb, anon-rss:\s?(\d+)kb(?:, file-rss:\s?(\d+)kb)?(?:, shmem-rss:\s?(\d+)kb)?/i;
/** A kill line cut after the name, as some write-ups print it. */
const KILLED_BARE = /(Memory cgroup out of memory|Out of memory): Killed process (\d+) \(([^\n]*?)\)\s*$/;
const KILL_OLD = /(Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Kill process (\d+) \(([^\n]*)\) score (\d+) or sacrifice child/;
const MEMCG_KILLED_HEADER = /Memory cgroup out of memory: Killed process/;
const GLOBAL_KILLED_HEADER = /(?<!Memory cgroup )\bOut of memory(?: \(oom_kill_allocating_task\))?: Killed process/i;
const CONSTRAINT = /oom-kill:(.*)$/;
const USAGE = /memory: usage (\d+)kB, limit (\d+)kB/;
const TASK_IN = /Task in (\S+) killed as a result of limit of (\S+)/;
const TASK_HEADER = /\[\s*pid\s*\]\s+(.*\bname)\s*$/;
const TASK_ROW = /\[\s*(\d+)\]\s+(.*)$/;
/** The columns since Linux 4.19 (`pgtables_bytes`), for rows pasted without their header. */
const MODERN_COLUMNS = ['uid', 'tgid', 'total_vm', 'rss', 'pgtables_bytes', 'swapents', 'oom_score_adj', 'name'];

/** Constraint names to the scope they mean (include/linux/oom.h, `enum oom_constraint`). */
const SCOPES: Record<string, OomScope> = {
  CONSTRAINT_MEMCG: 'memcg',
  CONSTRAINT_NONE: 'global',
  CONSTRAINT_MEMORY_POLICY: 'memory-policy',
  CONSTRAINT_CPUSET: 'cpuset',
};

interface Pending {
  constraint?: { fields: Record<string, string>; line: string };
  usage?: { usageKb: number; limitKb: number; line: string };
  taskIn?: { memcg: string; line: string };
  tasks: OomTask[];
  taskColumns?: string[];
  taskLines: string[];
  old?: { pid: number; process: string; score: number; memcg: boolean; line: string };
}

function freshPending(): Pending {
  return { tasks: [], taskLines: [] };
}

function constraintFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return fields;
}

function taskRow(columns: readonly string[], values: string): OomTask | undefined {
  // The name is the last column and may hold spaces; the numeric columns before it never do.
  const parts = values.trim().split(/\s+/);
  if (parts.length < columns.length) return undefined;
  const numeric = parts.slice(0, columns.length - 1);
  const name = parts.slice(columns.length - 1).join(' ');
  const at = (column: string) => {
    const index = columns.indexOf(column);
    return index === -1 ? undefined : Number(numeric[index]);
  };
  const totalVmPages = at('total_vm');
  const rssPages = at('rss');
  if (totalVmPages === undefined || rssPages === undefined || Number.isNaN(totalVmPages) || Number.isNaN(rssPages)) return undefined;
  const adj = at('oom_score_adj');
  return { pid: 0, totalVmPages, rssPages, ...(adj !== undefined && !Number.isNaN(adj) ? { oomScoreAdj: adj } : {}), name };
}

/**
 * Every OOM kill in a pasted kernel log, oldest first. The lines of one report (constraint, memcg usage,
 * task table, kill) are paired by their order, as the kernel prints them; a table with no kill line
 * after it becomes a `task-table` kill of its largest MySQL process (or its largest process).
 */
export function parseOomReports(text: string): ProductionKill[] {
  const kills: ProductionKill[] = [];
  let pending = freshPending();
  // A report that ended without a `Killed process` line: the old `Kill process` line alone, or only the table.
  const finishUnpaired = () => {
    const old = pending.old;
    if (old) {
      const victim = pending.tasks.find((t) => t.pid === old.pid);
      kills.push({
        ...killFrom(pending, old.pid, old.process),
        ...(old.memcg ? { scope: 'memcg' as const } : {}),
        ...(victim ? { totalVmKb: victim.totalVmPages * 4 } : {}),
        format: 'old',
      });
      return;
    }
    const named = pending.constraint?.fields;
    if (named?.task && named.pid) {
      const victim = pending.tasks.find((t) => t.pid === Number(named.pid));
      kills.push({
        ...killFrom(pending, Number(named.pid), named.task),
        ...(victim ? { totalVmKb: victim.totalVmPages * 4 } : {}),
        format: pending.tasks.length > 0 ? 'task-table' : 'current',
      });
      return;
    }
    if (pending.tasks.length === 0) return;
    const servers = pending.tasks.filter((t) => isServerProcess(t.name));
    const pool = servers.length > 0 ? servers : pending.tasks;
    const victim = pool.reduce((a, b) => (b.rssPages > a.rssPages ? b : a));
    kills.push({
      ...killFrom(pending, victim.pid, victim.name),
      totalVmKb: victim.totalVmPages * 4,
      format: 'task-table',
    });
  };
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trimEnd();
    const header = TASK_HEADER.exec(line);
    if (header) {
      if (pending.tasks.length > 0 || pending.old) {
        finishUnpaired();
        pending = freshPending();
      }
      pending.taskColumns = header[1]!.trim().split(/\s+/);
      pending.tasks = [];
      pending.taskLines = [line];
      continue;
    }
    const row = TASK_ROW.exec(line);
    if (row && !pending.taskColumns && /^\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+-?\d+\s+\S/.test(row[2]!.trim())) pending.taskColumns = MODERN_COLUMNS;
    if (row && pending.taskColumns) {
      const task = taskRow(pending.taskColumns, row[2]!);
      if (task) {
        pending.tasks.push({ ...task, pid: Number(row[1]) });
        pending.taskLines.push(line);
        continue;
      }
    }
    const usage = USAGE.exec(line);
    if (usage) {
      pending.usage = { usageKb: Number(usage[1]), limitKb: Number(usage[2]), line };
      continue;
    }
    const taskIn = TASK_IN.exec(line);
    if (taskIn) {
      pending.taskIn = { memcg: taskIn[2]!, line };
      continue;
    }
    const constraint = CONSTRAINT.exec(line);
    if (constraint) {
      pending.constraint = { fields: constraintFields(constraint[1]!), line };
      continue;
    }
    const old = KILL_OLD.exec(line);
    if (old) {
      if (pending.old) {
        finishUnpaired();
        pending = freshPending();
      }
      pending.old = { pid: Number(old[2]), process: old[3]!, score: Number(old[4]), memcg: old[1]!.startsWith('Memory cgroup'), line };
      // Some pastes run the `killed process` line onto the same line.
      if (!KILLED.test(line.slice(old.index + old[0].length))) continue;
    }
    const killed = KILLED.exec(old ? line.slice(old.index + old[0].length) : line);
    if (killed) {
      const pid = Number(killed[1]);
      const kill = killFrom(pending, pid, killed[3]!);
      const uid = killed[2] ?? killed[4] ?? /\bUID:(\d+)/.exec(line)?.[1];
      kills.push({
        ...kill,
        totalVmKb: Number(killed[5]),
        anonRssKb: Number(killed[6]),
        ...(killed[7] !== undefined ? { fileRssKb: Number(killed[7]) } : {}),
        ...(killed[8] !== undefined ? { shmemRssKb: Number(killed[8]) } : {}),
        ...(uid !== undefined ? { uid: Number(uid) } : {}),
        ...headerScope(kill.scope, line, pending),
        format: pending.old ? 'old' : 'current',
        lines: [...kill.lines, line],
      });
      pending = freshPending();
      continue;
    }
    const bare = KILLED_BARE.exec(line);
    if (bare) {
      const kill = killFrom(pending, Number(bare[2]), bare[3]!);
      kills.push({ ...kill, ...headerScope(kill.scope, line, pending), format: 'current', lines: [...kill.lines, line] });
      pending = freshPending();
    }
  }
  finishUnpaired();
  return kills;
}

/**
 * The scope a kill's own header gives where no constraint line did: `Memory cgroup out of memory` (or the old format's
 * `Kill process` line) a memory cgroup's, `Out of memory: Killed process` the machine's. A newcomer's journal line
 * without its constraint line was read as scope unknown, and the neighbours were never weighed.
 */
function headerScope(scope: OomScope, line: string, pending: Pending): { scope?: OomScope } {
  if (scope !== 'unknown') return {};
  if (MEMCG_KILLED_HEADER.test(line) || pending.old?.memcg) return { scope: 'memcg' };
  return !pending.taskIn && GLOBAL_KILLED_HEADER.test(line) ? { scope: 'global' } : {};
}

function killFrom(pending: Pending, pid: number, process: string): Omit<ProductionKill, 'format'> {
  const fields = pending.constraint?.fields ?? {};
  const constraint = fields.constraint;
  const memcg = fields.oom_memcg ?? pending.taskIn?.memcg;
  const task = pending.tasks.find((t) => t.pid === pid);
  const old = pending.old?.pid === pid ? pending.old : undefined;
  const scope: OomScope = constraint ? (SCOPES[constraint] ?? 'unknown') : pending.old && !pending.old.memcg && !pending.taskIn ? 'global' : pending.taskIn ? 'memcg' : 'unknown';
  const lines = [pending.constraint?.line, pending.usage?.line, pending.taskIn?.line, old?.line].filter((l): l is string => l !== undefined);
  const victimRow = task ? pending.taskLines.find((l) => new RegExp(`\\[\\s*${pid}\\]`).test(l)) : undefined;
  return {
    process,
    ...(pid > 0 ? { pid } : {}),
    scope,
    ...(constraint ? { constraint } : {}),
    ...(fields.nodemask ? { nodemask: fields.nodemask } : {}),
    ...(memcg ? { memcg } : {}),
    ...(fields.task_memcg ? { taskMemcg: fields.task_memcg } : {}),
    ...(pending.constraint && Number(fields.pid) === pid ? { constraintLine: pending.constraint.line } : {}),
    ...(pending.usage ? { memcgUsageKb: pending.usage.usageKb, memcgLimitKb: pending.usage.limitKb } : {}),
    ...(task?.oomScoreAdj !== undefined ? { oomScoreAdj: task.oomScoreAdj } : {}),
    ...(old ? { score: old.score } : {}),
    tasks: pending.tasks,
    lines: victimRow ? [victimRow, ...lines] : lines,
  };
}

/** A task-table row's pages in kB: x86-64's 4 KiB page, which every report read here comes from. */
export const TASK_PAGE_KB = 4;

/** The others of a kill whose task table lists its victim; undefined without a table, or with one cut before the victim's row. */
export function othersAtKill(kill: Pick<ProductionKill, 'pid' | 'tasks'>): OthersAtKill | undefined {
  if (kill.pid === undefined || !kill.tasks.some((t) => t.pid === kill.pid)) return undefined;
  return othersInTable(kill);
}

/** What the task table's rows other than the victim's held, whatever part of the table was given. */
export function othersInTable(kill: Pick<ProductionKill, 'pid' | 'tasks'>, largestCount = 3): OthersAtKill {
  const others = kill.tasks.filter((t) => t.pid !== kill.pid);
  const largest = [...others].sort((a, b) => b.rssPages - a.rssPages).slice(0, largestCount);
  return {
    rssKb: others.reduce((sum, t) => sum + t.rssPages * TASK_PAGE_KB, 0),
    count: others.length,
    largest: largest.map((t) => ({ name: t.name, rssKb: t.rssPages * TASK_PAGE_KB })),
  };
}

/**
 * The machine's memory from an old kill line's score, where the report has no `pages RAM`. Kernels that print
 * `Kill process … score N or sacrifice child` print the victim's badness in thousandths of the machine (RAM + swap):
 * `chosen_points * 1000 / totalpages`, with `points` its rss, swap and page tables, less 3 % for a root process, plus
 * oom_score_adj × totalpages / 1000 (mm/oom_kill.c, oom_badness and select_bad_process). So the machine is about the
 * victim's resident memory × 1000 / (score − oom_score_adj): within a few per cent, as page tables and swap are
 * not in the kill line. Only for a global kill (a memcg's score is of its limit), and where oom_score_adj is known
 * or the score leaves room for it being 0.
 */
export function machineFromScore(kill: ProductionKill): { value: number; source: string } | undefined {
  if (kill.score === undefined || kill.scope !== 'global' || kill.anonRssKb === undefined) return undefined;
  const adj = kill.oomScoreAdj;
  // Above 1000 the score holds a positive oom_score_adj nobody printed: the share cannot be told from it.
  if (adj === undefined && kill.score > 1000) return undefined;
  const rootShare = kill.uid === 0 ? 0.97 : 1;
  const permille = (kill.score - (adj ?? 0)) / rootShare;
  if (permille <= 0 || permille > 1000) return undefined;
  const residentKb = kill.anonRssKb + (kill.fileRssKb ?? 0) + (kill.shmemRssKb ?? 0);
  const bytes = Math.round((residentKb * 1024 * 1000) / permille);
  const because = [kill.uid === 0 ? 'less 3 % for a root process' : undefined, adj === undefined ? 'oom_score_adj taken as 0' : `oom_score_adj ${adj}`].filter(Boolean).join(', ');
  return {
    value: bytes,
    source: `kernel: score ${kill.score} of ${kill.process}, whose ${residentKb} kB resident is ${Math.round(permille)} ‰ of the machine (${because}): about ${Math.round(bytes / 1024 ** 2)} MiB`,
  };
}

/** `in a 2 GiB limit`, or `on a 2 GiB machine` for a global OOM, whose budget is the machine. */
export function budgetText(scope: OomScope | undefined, bytes: number, format: (bytes: number) => string): string {
  return scope === 'global' ? `on a ${format(bytes)} machine` : `in a ${format(bytes)} limit`;
}

/** The kill a diagnosis is about: the last kill of a MySQL/MariaDB server that printed its sizes, else the last server kill, else the last kill. */
export function serverKill(kills: readonly ProductionKill[]): ProductionKill | undefined {
  const latestFirst = [...kills].reverse();
  return latestFirst.find((k) => isServerProcess(k.process) && k.anonRssKb !== undefined) ?? latestFirst.find((k) => isServerProcess(k.process)) ?? kills.at(-1);
}

/**
 * Two copies of one kill (dmesg and the journal print the same report; their times are on different clocks):
 * the same pid and process, and the same anon-rss and total-vm wherever both copies give them.
 */
export function sameKill(a: ProductionKill, b: ProductionKill): boolean {
  if (a.pid === undefined || a.pid !== b.pid || a.process !== b.process) return false;
  const agree = (x: number | undefined, y: number | undefined) => x === undefined || y === undefined || x === y;
  return agree(a.anonRssKb, b.anonRssKb) && agree(a.totalVmKb, b.totalVmKb);
}

/** One kill from two copies of it: the fuller copy (more lines kept), with the other's figures where it lacks them. */
export function mergeKills(a: ProductionKill, b: ProductionKill): ProductionKill {
  const [full, other] = b.lines.length > a.lines.length ? [b, a] : [a, b];
  return {
    ...other,
    ...full,
    ...(full.scope === 'unknown' ? { scope: other.scope } : {}),
    tasks: full.tasks.length > 0 ? full.tasks : other.tasks,
  };
}
