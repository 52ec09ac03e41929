// The scenarios whose cause needs a timeline of its own: neighbours starting in one budget, and a limit
// lowered under a live server. Every value taken from the user's files goes through `literal()`.
import { labGuestOwnBytes } from '../../0-model/lab-room.ts';
import { formatBytes } from '../../0-model/units.ts';
import { IMAGE_FOOTPRINTS } from '../image-footprints.ts';
import { commentText, labHostLines, literal, MiB, roundDownMiB, scenarioOpening, sizeText, type ScenarioTextInput } from './scenario-literal.ts';

/**
 * The buffer pool that makes the lab's MariaDB 10.11 hold `anonBytes` once warmed to 95 %: its measured start-up
 * footprint (image-footprints.ts), the pool's descriptors, and the pages the warm-up fills, in steps of 8 MiB.
 */
export function poolHolding(anonBytes: number): number {
  const footprint = IMAGE_FOOTPRINTS.find((i) => i.image === 'oomlab/mariadb:10.11')!;
  const perPoolByte = footprint.startUpPerByte.innodb_buffer_pool_size ?? 0;
  const atPool = footprint.startUpAt.innodb_buffer_pool_size ?? 0;
  const pool = (anonBytes - footprint.startUpBytes + perPoolByte * atPool) / (perPoolByte + 0.95 * footprint.poolBytesPerWarmByte);
  return Math.max(32 * MiB, Math.round(pool / (8 * MiB)) * 8 * MiB);
}

/** What the lab's MariaDB 10.11 holds with a pool of `poolBytes` warmed to 95 %: poolHolding's inverse. */
export function heldWithPool(poolBytes: number): number {
  const footprint = IMAGE_FOOTPRINTS.find((i) => i.image === 'oomlab/mariadb:10.11')!;
  const perPoolByte = footprint.startUpPerByte.innodb_buffer_pool_size ?? 0;
  const atPool = footprint.startUpAt.innodb_buffer_pool_size ?? 0;
  return footprint.startUpBytes + perPoolByte * (poolBytes - atPool) + 0.95 * footprint.poolBytesPerWarmByte * poolBytes;
}

/**
 * Neighbours in one budget, the global-OOM shape: the server warm at the size production's victim had, then
 * other processes start one by one, each smaller than it, until the budget is exceeded and the kernel kills
 * the largest process, the server, which did not grow.
 */
export function neighboursBody(input: ScenarioTextInput, image: string, incident: string): string[] {
  const { evidence, diagnosis } = input;
  const f = diagnosis.figures;
  const kill = evidence.kill;
  const lab = input.globalLab;
  const budget = lab?.memoryBytes ?? f.limitBytes ?? 0;
  const others = (kill?.tasks ?? []).filter((t) => t.pid !== kill?.pid);
  const pageBytes = 4 * 1024;
  const othersBytes = others.reduce((sum, t) => sum + t.rssPages * pageBytes, 0);
  const largestOther = Math.max(0, ...others.map((t) => t.rssPages * pageBytes));
  const victimRow = kill?.tasks.find((t) => t.pid === kill.pid);
  const victim =
    f.anonRssBytes !== undefined
      ? { bytes: f.anonRssBytes, source: `anon-rss ${Math.round(f.anonRssBytes / 1024)} kB at the kill` }
      : victimRow
        ? { bytes: victimRow.rssPages * pageBytes, source: `its task-table row, rss ${victimRow.rssPages} pages` }
        : {
            bytes: Math.max(budget - othersBytes, 1.25 * largestOther),
            source: `not printed: taken as what the task table's other rows (${sizeText(othersBytes)}) leave of the budget, and more than the largest of them`,
          };
  const pool = poolHolding(victim.bytes);
  // The lab's server holds at least its smallest pool's start-up: a victim smaller than that (a 3.7 MB mysqld an old
  // kernel picked) would otherwise ask for hundreds of neighbours of a few MiB, 3 s apart.
  const server = Math.max(victim.bytes, heldWithPool(pool));
  // Each neighbour smaller than the server, so the kernel's choice falls on the server, as production's did.
  const eachAtMost = 0.75 * server;
  const overflow = budget - server + 0.1 * budget;
  const count = Math.max(2, Math.ceil(overflow / eachAtMost));
  // In a lab VM the guest's own kernel, engine and container shims live in the budget too, as much as a booted guest
  // keeps (a 512 MiB guest keeps about 240 MiB: the two fifths once left were 205); and a fifth is left free.
  const fit = budget - server - (lab ? labGuestOwnBytes(budget) : 0) - 0.2 * budget;
  const process = kill?.process ?? 'mysqld';
  const named = [...new Set(others.map((t) => t.name))].slice(0, 4);
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push(
    `// The memory the server and its neighbours shared: ${kill?.scope === 'global' ? "the machine's (a global OOM)" : "the cgroup's limit"}, from ${commentText(lab?.source ?? evidence.limitBytes?.source ?? '')}${lab ? ` — the lab VM's memory (--host ${commentText(lab.host)})` : ''}.`,
    lab ? `// BUDGET: ${sizeText(budget)}, given to the lab VM, not to a container.` : `const BUDGET = ${literal(sizeText(budget))};`,
    server > 1.1 * victim.bytes
      ? `// ${commentText(`${process} held ${victim.source}`)}: less than the lab's server holds with its smallest pool, warmed to 95 % (about ${sizeText(server)}); the neighbours are sized against that.`
      : `// ${commentText(`${process} held ${victim.source}`)}: a pool of this size, warmed to 95 %, makes the lab's server hold about as much.`,
    `const SERVER_POOL = ${literal(`${Math.round(pool / MiB)}M`)};`,
    '',
    `// The neighbours each configuration starts once the server is warm (${others.length > 0 ? commentText(`production's task table names ${named.join(', ')}`) : "the kernel lines do not name production's"}):`,
    '// `neighbours` processes of `each`, every one smaller than the server, so the kernel picks the server.',
    'const FIXES = {',
    `  production: { neighbours: ${count}, each: ${literal(sizeText(overflow / count))}, because: ${literal(`the incident: the neighbours take the rest of the budget and more; the kernel kills the largest process, ${process}, which did not grow`)} },`,
  );
  const keys = ['production'];
  if (fit > 0) {
    keys.push('neighbours-fit');
    push(
      `  'neighbours-fit': { neighbours: ${count}, each: ${literal(sizeText(fit / count))}, because: ${literal(`the neighbours sized, by production's figures, to leave the server its memory${lab ? `, the guest's own system the ${sizeText(labGuestOwnBytes(budget))} a booted guest keeps,` : ''} and a fifth of the budget free (the ranking measures what is left): nothing is killed`)} },`,
    );
  }
  keys.push('neighbours-first');
  push(
    `  'neighbours-first': { neighbours: ${count}, each: ${literal(sizeText(overflow / count))}, oomScoreAdj: 1000, because: 'the neighbours at oom_score_adj 1000 (a BestEffort pod, a systemd OOMScoreAdjust): the kernel kills one of them instead of the server' },`,
    '} as const satisfies Record<string, { neighbours: number; each: string; oomScoreAdj?: number; because: string }>;',
    '',
    ...scenarioOpening(input.name, incident, image),
    `    fix: ${literal(keys)} as (keyof typeof FIXES)[],`,
    '  },',
    ...(lab
      ? ["  // No side and no container limit: the lab VM's memory (BUDGET) is production's machine, and the kernel's global OOM killer picks the victim.", ...labHostLines(input)]
      : [
          "  // One budget for the server and its neighbours, as production's machine (or parent cgroup) was.",
          ...(input.labHost ? ['  // In the lab VM `from-incident --host` named: `oomlab run` boots it for this file without being told.'] : []),
          `  host: () => ({ sides: { host: { memory: BUDGET } }${input.labHost ? `, runtime: ${literal(input.labHost)}` : ''} }),`,
        ]),
    '  instances: (c) => ({',
    '    db: {',
    '      image: c.image,',
    ...(lab ? [] : ["      side: 'host',"]),
    '      mycnf: { ...PRODUCTION_MY_CNF, innodb_buffer_pool_size: SERVER_POOL },',
    '      warmup: { bufferPoolFraction: 0.95 },',
    '      readyTimeoutMs: 60_000,',
    '      settleMs: 5_000,',
    '    },',
    '  }),',
    '  // Once the server is warm, the neighbours start one every 3 s, each holding its memory and touching it as a busy process does.',
    '  steps: (c) => {',
    '    const fix: { neighbours: number; each: string; oomScoreAdj?: number } = FIXES[c.fix];',
    '    return Array.from({ length: fix.neighbours }, (_, i) => ({',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated scenario's own template
    '      name: `neighbour-${i + 1}`,',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the generated scenario's own template
    '      at: `${2 + 3 * i}s`,',
    "      action: 'neighbour' as const,",
    '      memory: fix.each,',
    '      image: c.image,',
    ...(lab ? [] : ["      side: 'host',"]),
    '      ...(fix.oomScoreAdj !== undefined ? { oomScoreAdj: fix.oomScoreAdj } : {}),',
    '    }));',
    '  },',
    '  expect: (c) =>',
    "    c.fix === 'production'",
    "      ? { db: { outcome: 'oom-killed-under-load', because: FIXES.production.because, afterStep: 'neighbour-1' } }",
    "      : { db: { outcome: 'survived', because: FIXES[c.fix].because } },",
  );
  return lines;
}

/** A limit lowered under a live server: created with one limit, the pool sized for it, then cut to the kernel's limit at the kill. */
export function limitLoweredBody(input: ScenarioTextInput, image: string, incident: string): string[] {
  const { evidence, diagnosis } = input;
  const f = diagnosis.figures;
  const configured = evidence.configuredLimitBytes?.value ?? 0;
  const lowered = (evidence.kill?.memcgLimitKb ?? 0) * 1024;
  // Without production's pool, the one that makes the lab's server hold what production's held at the kill.
  const sized = f.mycnf.innodb_buffer_pool_size === undefined && f.anonRssBytes !== undefined ? poolHolding(f.anonRssBytes) : undefined;
  const poolBytes = sized ?? f.poolBytes;
  const productionPool = f.mycnf.innodb_buffer_pool_size ?? `${Math.round(poolBytes / MiB)}M`;
  const halfLowered = roundDownMiB(lowered / 2, 128);
  const smaller = halfLowered * MiB < poolBytes ? halfLowered : Math.max(32, roundDownMiB(poolBytes / 2, 32));
  const lines: string[] = [];
  if (sized !== undefined) {
    lines.push(
      `// innodb_buffer_pool_size was not given: ${Math.round(sized / MiB)}M, warmed to 95 %, makes the lab's server hold the anon-rss production's held at the kill (${Math.round(f.anonRssBytes! / 1024)} kB).`,
    );
  }
  lines.push(
    `// The limit the container was created with (${commentText(evidence.configuredLimitBytes?.source ?? '')}), and the one the kernel enforced at the kill`,
    `// (memory: usage ${evidence.kill?.memcgUsageKb ?? '?'}kB, limit ${evidence.kill?.memcgLimitKb ?? '?'}kB).`,
    `const CONFIGURED_LIMIT = ${literal(sizeText(configured))};`,
    `const LOWERED_LIMIT = ${literal(sizeText(lowered))};`,
    '',
    "/** Production's change and each candidate fix: the pool each runs with, and the limit it is lowered to once the server answers. */",
    'const FIXES = {',
    `  production: { pool: ${literal(productionPool)}, lowered: LOWERED_LIMIT, because: ${literal(`the incident: the limit cut to ${formatBytes(lowered)} under a server whose pool was sized for ${formatBytes(configured)}`)} },`,
    `  ${literal(`pool-${smaller}m`)}: { pool: ${literal(`${smaller}M`)}, lowered: LOWERED_LIMIT, because: 'the pool shrunk with the limit: it fits the lowered one' },`,
    `  'limit-kept': { pool: ${literal(productionPool)}, because: 'the limit left as the container was created: the pool was sized for it' },`,
    '} as const satisfies Record<string, { pool: string; lowered?: string; because: string }>;',
    '',
    ...scenarioOpening(input.name, incident, image),
    `    fix: ${literal(['production', `pool-${smaller}m`, 'limit-kept'])} as (keyof typeof FIXES)[],`,
    '  },',
    ...labHostLines(input),
    '  instances: (c) => ({',
    '    db: {',
    '      image: c.image,',
    '      memory: CONFIGURED_LIMIT,',
    "      // The lab's own: a storm's failed connections must not get the client host blocked (1129).",
    '      mycnf: { max_connect_errors: 1_000_000, ...PRODUCTION_MY_CNF, innodb_buffer_pool_size: FIXES[c.fix].pool },',
    '      // The hours of reads after the change: a fresh pool is reserved, not resident; filled, it meets the new limit.',
    '      warmup: { bufferPoolFraction: 0.95 },',
    '      readyTimeoutMs: 60_000,',
    '      settleMs: 2_000,',
    '    },',
    '  }),',
    "  // The day's traffic once the pool is warm: point reads and feed pages.",
    '  workload: () => steadyTraffic(),',
    '  // As soon as the server answers, before the warm-up: the new limit meets a cold pool, as a live change does.',
    '  steps: (c) => {',
    '    const fix: { because: string; lowered?: string } = FIXES[c.fix];',
    "    return fix.lowered ? [{ name: 'lower-limit', after: 'db.ready', action: 'limit' as const, instance: 'db' as const, memory: fix.lowered }] : [];",
    '  },',
    '  expect: (c) =>',
    "    c.fix === 'production'",
    "      ? { db: { outcome: 'oom-killed-under-load', because: FIXES.production.because, afterStep: 'lower-limit' } }",
    "      : { db: { outcome: 'survived', because: FIXES[c.fix].because } },",
  );
  return lines;
}
