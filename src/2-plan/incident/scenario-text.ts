// The scenario `oomlab from-incident` writes: production's configuration and each candidate fix on its
// own, the workload the leading cause needs, and an expectation that production's outcome reproduces.
// Every value taken from the user's files enters the text through `literal()`, never spliced raw.
import { formatBytes } from '../../0-model/units.ts';
import type { Cause, CauseId, Diagnosis } from './diagnose.ts';
import type { IncidentEvidence } from './evidence.ts';
import { budgetText, othersAtKill } from './kernel-report.ts';
import { parseNofile } from './process-limits.ts';
import { commentText, labHostLines, literal, MiB, roundDownMiB, scenarioOpening, sizeText, type ScenarioTextInput } from './scenario-literal.ts';
import { limitLoweredBody, neighboursBody } from './timeline-scenarios.ts';

export { labHostOf, literal, type GlobalLab, type ScenarioTextInput } from './scenario-literal.ts';
export { poolHolding } from './timeline-scenarios.ts';

/** The offline image closest to production's server: MySQL for MySQL, MariaDB 10.11 otherwise. */
export function labImage(diagnosis: Diagnosis, requested?: string): { image: string; note: string } {
  if (requested) return { image: requested, note: 'the image given with --server' };
  const { family, version } = diagnosis.figures;
  const lead = diagnosis.causes[0]?.id;
  if (lead === 'neighbours' || lead === 'limit-lowered') {
    return {
      image: 'oomlab/mariadb:10.11',
      note: `production ran ${family === 'mysql' ? 'MySQL' : 'MariaDB'} ${version}${diagnosis.figures.versionAssumed ? ' (assumed: the evidence does not name it)' : ''}; the cause is the memory budget, not the server, so the lab runs MariaDB 10.11 (built offline, the smallest footprint here), its buffer pool sized to hold what production's server held`,
    };
  }
  if (family === 'mysql' && lead !== 'nofile-file-table') {
    return {
      image: 'oomlab/mysql:9.7',
      // Measured here: oomlab/mysql:9.7 idle in 512m, 482 MiB anon with performance_schema on, 239 MiB with it off.
      note: `production ran MySQL ${version}; the closest image built offline is MySQL 9.7 (pass --server mysql:${version} if you have it). MySQL 9.7 starts larger than 5.7 (482 MiB anonymous memory idle here, 239 MiB with performance_schema off), so a small limit is tighter in the lab than it was in production`,
    };
  }
  return {
    image: 'oomlab/mariadb:10.11',
    note: `production ran ${family === 'mysql' ? 'MySQL' : 'MariaDB'} ${version}; the lab runs MariaDB 10.11, built offline${family === 'mysql' ? ' (it allocates the same 16 B per file once told open_files_limit; pass --server mysql:5.7 if you have it)' : ''}`,
  };
}

interface Fix {
  key: string;
  /** my.cnf settings over production's. */
  mycnf?: Record<string, string | number>;
  entrypoint?: string[];
  allocator?: 'jemalloc';
  why: string;
}

/** One fix per candidate cause that a my.cnf or an entrypoint can make, each on its own. */
function fixesFor(causes: readonly Cause[], diagnosis: Diagnosis, image: string): Fix[] {
  const f = diagnosis.figures;
  const limit = f.limitBytes;
  const fixes: Fix[] = [];
  for (const cause of causes) {
    switch (cause.id) {
      case 'nofile-file-table':
        fixes.push({
          key: 'ulimit-4096',
          entrypoint: ['sh', '-c', 'ulimit -n 4096 && exec docker-entrypoint.sh mysqld'],
          why: 'the incident 1 fix: nofile 4096 before exec, so the file table is 64 KiB',
        });
        break;
      case 'buffer-pool': {
        // Half the limit, or half production's pool when that is already at or below half: always smaller than production's.
        const productionMiB = Math.floor(f.poolBytes / MiB);
        const halfLimit = limit !== undefined ? roundDownMiB(limit / 2, 128) : productionMiB;
        const size = halfLimit < productionMiB ? halfLimit : Math.max(32, roundDownMiB(f.poolBytes / 2, 32));
        if (size < productionMiB) {
          const why = size === halfLimit && limit !== undefined ? `a pool of half the ${formatBytes(limit)} limit` : `half production's ${formatBytes(f.poolBytes)} pool`;
          fixes.push({ key: `pool-${size}m`, mycnf: { innodb_buffer_pool_size: `${size}M` }, why });
        }
        break;
      }
      case 'connections': {
        if (limit !== undefined) {
          const room = limit * 0.9 - Math.min(f.poolBytes, limit) - f.baseBytes;
          const fit = Math.max(10, Math.floor(room / Math.max(1, f.perConnectionBytes)));
          if (fit < f.maxConnections) fixes.push({ key: `max-connections-${fit}`, mycnf: { max_connections: fit }, why: `the connections whose buffers fit in 90 % of the limit beside the pool` });
        }
        fixes.push({
          key: 'default-buffers',
          mycnf: {
            sort_buffer_size: '256K',
            join_buffer_size: '256K',
            read_rnd_buffer_size: '256K',
            read_buffer_size: '128K',
            ...(f.temporaryTableBytes > 16 * MiB ? { tmp_table_size: '16M', max_heap_table_size: '16M' } : {}),
          },
          why: "the server's default per-connection buffers",
        });
        break;
      }
      case 'performance-schema':
        fixes.push({ key: 'performance-schema-off', mycnf: { performance_schema: 'OFF' }, why: 'performance_schema off: none of its start-up allocation' });
        break;
      case 'allocator':
        fixes.push({ key: 'jemalloc', allocator: 'jemalloc', why: `jemalloc returns freed memory that ${serverAllocator(image)} keeps` });
        break;
      default:
        break;
    }
  }
  return fixes;
}

/** The allocator the lab's server uses unless a fix preloads another: Debian's mysqld links tcmalloc (docker/mysql-9.7), MariaDB uses glibc's. */
function serverAllocator(image: string): string {
  return image.startsWith('oomlab/mysql:') ? 'the tcmalloc mysqld links' : 'glibc malloc';
}

/** Work cycles of the allocator scenario: allocator-retention's three, and a quiet long enough for jemalloc's decay. */
const CYCLES = 3;
const BURST_MS = 20_000;
const QUIET_MS = 30_000;
/**
 * Sessions busy at once in a burst, at most. Measured on a 2-core host (test/fixtures/incidents/README.md, fulltext): 16
 * searching sessions finished within each burst; 151 outlasted the 30 s quiet and the client's 30 s timeout, so no quiet was left to read.
 */
const CYCLE_CONNECTIONS_AT_MOST = 16;

/**
 * Whether the storm builds in-memory temporary tables: when one, min(tmp_table_size, max_heap_table_size), is
 * set in production's my.cnf or is a quarter or more of what the diagnosis counts a connection to hold.
 */
function temporaryTables(f: Diagnosis['figures']): { exercised: boolean; comment: string } {
  const size = formatBytes(f.temporaryTableBytes);
  const given = f.mycnf.tmp_table_size !== undefined || f.mycnf.max_heap_table_size !== undefined;
  const from = given ? "production's" : 'the default';
  if (f.temporaryTableBytes >= MiB && (given || f.temporaryTableBytes >= 0.25 * f.perConnectionBytes)) {
    return {
      exercised: true,
      comment: `A GROUP BY report builds an in-memory temporary table of up to min(tmp_table_size, max_heap_table_size) = ${size} (${from}), which the diagnosis counts for each connection.`,
    };
  }
  return {
    exercised: false,
    comment: `In-memory temporary tables are not exercised: min(tmp_table_size, max_heap_table_size) = ${size} (${from}) is a small part of what a connection holds.`,
  };
}

/** The outcome production had, for `expect`: at start-up when the file table is the cause, else under the load. */
function productionOutcome(lead: CauseId, phase: ScenarioTextInput['phase']): 'oom-killed-at-startup' | 'oom-killed-under-load' | 'oom-killed-after-load' {
  if (phase === 'start-up') return 'oom-killed-at-startup';
  if (phase === 'after-load') return 'oom-killed-after-load';
  if (phase === 'under-load') return 'oom-killed-under-load';
  return STARTUP_CAUSES.has(lead) ? 'oom-killed-at-startup' : 'oom-killed-under-load';
}

/** Causes that allocate as the server starts: their scenario needs no workload. */
const STARTUP_CAUSES: ReadonlySet<CauseId> = new Set(['nofile-file-table', 'performance-schema']);

/** Causes the generated scenario can reproduce with a my.cnf, an entrypoint or an allocator. */
export const REPRODUCIBLE: ReadonlySet<CauseId> = new Set(['nofile-file-table', 'buffer-pool', 'connections', 'performance-schema', 'allocator', 'neighbours', 'limit-lowered']);

/** Why no scenario can be written for the leading cause with what was given, or undefined when one can. */
export function scenarioBlocker(evidence: IncidentEvidence, diagnosis: Diagnosis): string | undefined {
  const lead = diagnosis.causes[0]?.id;
  if (lead === 'neighbours' && diagnosis.figures.limitBytes === undefined) {
    return "neighbours need the budget the processes shared: give --limit (the machine's memory for a global OOM, the cgroup's limit otherwise)";
  }
  if (lead === 'limit-lowered' && (evidence.configuredLimitBytes === undefined || evidence.kill?.memcgLimitKb === undefined)) {
    return "a lowered limit needs both limits: the container's spec (docker inspect, the Pod) and the kernel's `memory: usage …kB, limit …kB` line";
  }
  return undefined;
}

export function scenarioText(input: ScenarioTextInput): string {
  const { diagnosis, evidence } = input;
  const lead = diagnosis.causes[0]!;
  const f = diagnosis.figures;
  // A fix for each cause that weighs at all (0.05), at most three: a cause at 0.01 is noise, not a candidate.
  const candidates = diagnosis.causes.filter((c, index) => c.id !== 'insufficient-evidence' && (c.score >= 0.05 || index === 0)).slice(0, 3);
  const { image, note: imageNote } = labImage(diagnosis, input.image);
  const fixes = fixesFor(candidates, diagnosis, image);
  const limit = f.limitBytes;
  const leadId = lead.id === 'insufficient-evidence' ? (candidates[0]?.id ?? 'buffer-pool') : lead.id;
  const startUp = input.phase === 'start-up' || (input.phase === undefined && STARTUP_CAUSES.has(leadId));
  const nofile = f.nofile ?? (evidence.nofile ? parseNofile(String(evidence.nofile.value.soft))?.soft : undefined);
  const kill = evidence.kill;
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);

  push(`// Generated by \`oomlab from-incident\` on ${input.writtenAt.toISOString().slice(0, 10)} from ${commentText(input.sources.join(', '))}.`);
  push('// The diagnosis, best first (score: the share of the memory at the kill each cause accounts for):');
  for (const cause of diagnosis.causes.slice(0, 4)) push(`//   ${cause.id} ${cause.score.toFixed(2)}: ${commentText(cause.for[0] ?? cause.title)}`);
  if (lead.id === 'insufficient-evidence') push('// The evidence does not settle a cause: this scenario tries the strongest candidate; collect what `from-incident` asked for first.');
  for (const cause of diagnosis.causes) {
    if (cause.id !== 'insufficient-evidence' && cause.score >= 0.2 && !REPRODUCIBLE.has(cause.id)) {
      push(`// Not reproduced here: ${cause.id} (${commentText(cause.title)}) needs its own timeline; see scenarios/ for its family.`);
    }
  }
  push(`// Image: ${commentText(imageNote)}.`);
  if (input.globalLab) {
    const lab = input.globalLab;
    push(
      lab.machineBytes === lab.memoryBytes
        ? `// A global OOM: it runs in a lab VM of production's machine size (${commentText(`${sizeText(lab.memoryBytes)}, ${lab.source}`)}), where nothing but the guest's memory bounds the server.`
        : `// A global OOM: it runs in a lab VM of ${commentText(`${sizeText(lab.memoryBytes)} (${lab.source})`)}, where nothing but the guest's memory bounds the server.`,
    );
    if (lab.roomBytes !== undefined) {
      push(
        `// Its room (room= below): once booted, the guest leaves the server ${commentText(sizeText(lab.roomBytes))}, what production's ${commentText(input.evidence.kill?.process ?? 'server')} held (anon + file + shmem rss)`,
        "// when its machine ran out; a ballast at oom_score_adj -1000 holds the rest, for what production's machine ran beside it.",
      );
    }
    push(
      `// Its host (below) names that VM, so it needs no --host:  ./oomlab run scenarios/${commentText(input.name)}.ts`,
      "// On this host's engine the server would have the host's whole memory and nothing would be killed.",
    );
  } else if (input.labHost) {
    push(`// It runs in a lab VM, ${commentText(input.labHost)} (its host, below), with no --host:  ./oomlab run scenarios/${commentText(input.name)}.ts`);
  }
  push("import { defineScenario } from 'oomlab';");
  // The allocator keeps memory across work cycles: one burst cannot show it.
  const cycles = leadId === 'allocator' && !startUp;
  const storm = leadId === 'neighbours' ? undefined : leadId === 'limit-lowered' ? 'steadyTraffic' : startUp ? undefined : cycles ? 'memoryAfterEachCycle, workCycles' : 'busyMinute';
  if (storm) push(`import { ${storm} } from ${literal(`${input.scenariosLib ?? './lib'}/storms.ts`)};`);
  push('');
  if (cycles) {
    push(
      "/** Cycles of heavy work with quiet between (scenarios/allocator-retention.ts's shape): what the allocator keeps shows in each quiet, and the next burst starts from it. */",
      `const CYCLES = ${CYCLES}; // allocator-retention's count`,
      `const BURST_MS = ${BURST_MS.toLocaleString('en-US').replace(/,/g, '_')}; // 100 new sessions a second, more than the server finishes: every connection the burst allows stays busy`,
      `const QUIET_MS = ${QUIET_MS.toLocaleString('en-US').replace(/,/g, '_')}; // three times jemalloc's default decay (dirty_decay_ms 10 s); with no background thread (its default) it returns what decayed as it next allocates`,
      '',
    );
  }

  push("/** Production's server settings, as given (every value quoted from the files named beside it). */", 'const PRODUCTION_MY_CNF = {');
  for (const [name, value] of Object.entries(f.mycnf)) {
    push(`  ${literal(name)}: ${literal(value)}, // ${commentText(evidence.variables[name]?.source ?? '')}`);
  }
  push('};', '');

  const incident = `${kill ? `${kill.process} OOM-killed (${kill.scope})` : 'An OOM kill'}${limit !== undefined ? ` ${budgetText(kill?.scope, limit, formatBytes)}` : ''}: ${lead.id === 'insufficient-evidence' ? `insufficient evidence; trying ${leadId}` : lead.title}`;
  if (leadId === 'neighbours' || leadId === 'limit-lowered') {
    const body = leadId === 'neighbours' ? neighboursBody(input, image, incident) : limitLoweredBody(input, image, incident);
    // Both size the server's pool to hold what production's victim held (the limit-lowered one when no pool was given).
    const sizedToVictim = leadId === 'neighbours' || input.diagnosis.figures.mycnf.innodb_buffer_pool_size === undefined;
    push(...body, ...productionKill(input, sizedToVictim), '});', '');
    return lines.join('\n');
  }
  const leadTitle = lead.id === 'insufficient-evidence' ? `the candidate ${leadId}` : lead.title;
  push(
    "/** Production's configuration and each candidate fix on its own, over production's settings; `because` is what the report says of it. */",
    'const FIXES = {',
    `  production: { because: ${literal(`the incident: ${leadTitle}`)} },`,
  );
  for (const fix of fixes) {
    const parts: string[] = [`because: ${literal(`${fix.why}: the server stays inside its limit`)}`];
    if (fix.mycnf) parts.push(`mycnf: ${literal(fix.mycnf)}`);
    if (fix.entrypoint) parts.push(`entrypoint: ${literal(fix.entrypoint)}`);
    if (fix.allocator) parts.push(`allocator: ${literal(fix.allocator)}`);
    push(`  ${literal(fix.key)}: { ${parts.join(', ')} },`);
  }
  push("} as const satisfies Record<string, { because: string; mycnf?: Record<string, string | number>; entrypoint?: readonly string[]; allocator?: 'jemalloc' }>;", '');

  const limitText = limit !== undefined ? `${Math.round(limit / MiB)}m` : '4g';
  push(...scenarioOpening(input.name, incident, image));
  push(`    fix: ${literal(['production', ...fixes.map((x) => x.key)])} as (keyof typeof FIXES)[],`);
  if (!input.globalLab) {
    push(`    // ${limit !== undefined ? commentText(`production's limit: ${evidence.limitBytes?.source ?? ''}`) : 'the limit was not given: 4g assumed'}`);
    push(`    memory: [${literal(limitText)}],`);
  }
  push('  },', ...labHostLines(input));
  push(
    '  instances: (c) => {',
    "    const fix: { because: string; mycnf?: Record<string, string | number>; entrypoint?: readonly string[]; allocator?: 'jemalloc' } = FIXES[c.fix];",
    '    return {',
    '      db: {',
  );
  if (input.globalLab)
    push(
      '        image: c.image,',
      input.globalLab.roomBytes !== undefined
        ? "        // No container limit: the lab VM's room is what production's server had, and the kernel's global OOM killer picks the victim."
        : "        // No container limit: the lab VM's memory is production's machine, and the kernel's global OOM killer picks the victim.",
    );
  else push('        image: c.image,', '        memory: c.memory,');
  if (nofile !== undefined) push(`        // ${commentText(`nofile: ${f.nofileInferred ? 'inferred from total-vm' : (evidence.nofile?.source ?? '')}`)}`, `        nofile: ${literal(nofile)},`);
  const openFiles = startUp && f.family === 'mysql' && nofile !== undefined ? `, open_files_limit: ${literal(nofile)}` : '';
  if (openFiles) push('        // MariaDB caps an automatic open_files_limit; MySQL 5.7 takes the OS value, so the lab sets it explicitly.');
  if (!startUp) push("        // The lab's own: a storm's failed connections must not get the client host blocked (1129).");
  push(`        mycnf: { ${startUp ? '' : 'max_connect_errors: 1_000_000, '}...PRODUCTION_MY_CNF${openFiles}, ...fix.mycnf },`);
  if (!startUp) push("        // Production's pool after hours of reads: a fresh pool is reserved, not resident, and would hide the pool's share.", '        warmup: { bufferPoolFraction: 0.95 },');
  push('        ...(fix.entrypoint ? { entrypoint: [...fix.entrypoint] } : {}),', '        ...(fix.allocator ? { allocator: fix.allocator } : {}),');
  push(`        readyTimeoutMs: 60_000,`, `        settleMs: ${startUp ? '3_000' : '2_000'},`);
  push('      },', '    };', '  },');
  if (cycles) {
    push(...cycleWorkload(f));
  } else if (!startUp) {
    const sessions = Math.max(1, Math.round(f.connectionsKnown ? f.connections : Math.min(f.maxConnections, 250)));
    const temporary = temporaryTables(f);
    push(
      `  // A busy minute of ${sessions} connections${f.connectionsKnown ? " (production's count)" : ` (max_connections ${f.maxConnections}, at most 250: how many were open is unknown)`}, after the warm-up:`,
      '  // more sessions arrive than the server finishes, so all of them are busy at once, each sorting more rows than its sort buffer holds.',
      `  // ${commentText(temporary.comment)}`,
      `  workload: () => busyMinute({ connections: ${literal(sessions)}${temporary.exercised ? ', temporaryTables: true' : ''} }),`,
    );
  }
  const outcome = productionOutcome(leadId, input.phase);
  push('  expect: (c) =>', "    c.fix === 'production'");
  push(`      ? { db: { outcome: ${literal(outcome)}, because: FIXES.production.because } }`);
  push(`      : { db: { outcome: 'survived', because: FIXES[c.fix].because } },`);
  push(...productionKill(input));
  push('});', '');
  return lines.join('\n');
}

/** The allocator's workload: bursts of searches, sorts and GROUP BYs with quiet between, and the server's memory read at the end of each quiet. */
function cycleWorkload(f: Diagnosis['figures']): string[] {
  const production = Math.max(1, Math.round(f.connectionsKnown ? f.connections : f.maxConnections));
  const sessions = Math.min(production, CYCLE_CONNECTIONS_AT_MOST);
  const temporary = temporaryTables(f);
  const resultCache = f.mycnf.innodb_ft_result_cache_limit;
  return [
    `  // Each burst keeps ${sessions} sessions busy at once (${f.connectionsKnown ? `production's ${production} connections` : `max_connections ${production}, as how many were open is unknown`}${production > sessions ? `; at most ${CYCLE_CONNECTIONS_AT_MOST}, so that each burst ends before its quiet on a 2-core host` : ''}),`,
    `  // each running three statements: InnoDB full-text searches, sorts that fill the sort buffer${temporary.exercised ? ' and GROUP BYs' : ''}. A search in BOOLEAN MODE`,
    '  // with wildcard terms holds a ranking per matching post and a node per (word, post) until it ends: many small allocations',
    "  // freed at once, the work after which tcmalloc's page heap held about 6 GB in a documented incident",
    '  // (test/fixtures/incidents/fulltext-tcmalloc-allocator). The seed writes the posts as words and adds a FULLTEXT index on them.',
    `  // One search's result cache is capped by innodb_ft_result_cache_limit (${resultCache !== undefined ? commentText(`production's ${String(resultCache)}`) : 'default 2 000 000 000 bytes'}; fts0que.cc), not the server's memory.`,
    `  // ${commentText(temporary.comment)}`,
    `  workload: () => workCycles({ connections: ${literal(sessions)}, cycles: CYCLES, burstMs: BURST_MS, quietMs: QUIET_MS, fullText: true${temporary.exercised ? ', temporaryTables: true' : ''} }),`,
    "  // The server's VmRSS, RssAnon and VmHWM 2 s before each cycle ends, counted from the load's start (after the seed and its index):",
    '  // tcmalloc keeping what the searches freed shows as RssAnon staying near the peak, or climbing, cycle after cycle.',
    '  steps: () => memoryAfterEachCycle({ cycles: CYCLES, burstMs: BURST_MS, quietMs: QUIET_MS }),',
  ];
}

/** Production's kill as its kernel printed it, for the report to set the lab's beside it. */
function productionKill(input: ScenarioTextInput, sizedToVictim = false): string[] {
  const kill = input.evidence.kill;
  if (!kill) return [];
  // A global OOM's budget is the machine's memory (which the lab VM is given, unless it grew to leave the room).
  const limit = input.globalLab ? input.globalLab.machineBytes : input.diagnosis.figures.limitBytes;
  const others = othersAtKill(kill);
  const production = {
    instance: 'db',
    process: kill.process,
    scope: kill.scope,
    ...(kill.constraint ? { constraint: kill.constraint } : {}),
    ...(kill.anonRssKb !== undefined ? { anonRssKb: kill.anonRssKb } : {}),
    // The lab's server was sized from it: its anon-rss at the kill is then an input, which the report must not count as a finding.
    ...(kill.anonRssKb !== undefined && sizedToVictim ? { anonRssSizedTo: true } : {}),
    ...(kill.totalVmKb !== undefined ? { totalVmKb: kill.totalVmKb } : {}),
    ...(limit !== undefined ? { limitBytes: limit } : {}),
    ...(others ? { othersRssKb: others.rssKb } : {}),
    ...(kill.oomScoreAdj !== undefined ? { oomScoreAdj: kill.oomScoreAdj } : {}),
    phase: input.phase ?? 'unknown',
    ...(kill.lines.at(-1) ? { line: kill.lines.at(-1) } : {}),
    server: { family: input.diagnosis.figures.family, version: input.diagnosis.figures.version, ...(input.diagnosis.figures.versionAssumed ? { assumed: true } : {}) },
  };
  return ["  // Production's kill as its kernel printed it: the report sets the lab's kill beside it.", `  production: ${literal(production)},`];
}
