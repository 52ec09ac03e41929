// Does the lab's kill match production's? Process, scope, anon-rss at the kill (within 10 % where the
// limit is known), phase and total-vm, each figure with production's value beside the lab's.
import type { Outcome } from '../0-model/config.ts';
import type { OthersAtKill } from '../0-model/observation.ts';
import type { LabHostFacts } from '../0-model/host.ts';
import { labRoomBytes } from '../0-model/lab-room.ts';
import type { ConfigResult } from '../0-model/report.ts';
import { type ProductionKill, type SignatureMatch, type SignatureRow, serverText } from '../0-model/signature.ts';
import { formatBytes } from '../0-model/units.ts';
import { serverFamilyOf } from '../2-plan/index.ts';

/** The tolerance on anon-rss at the kill the from-incident issue asks for. */
const ANON_TOLERANCE = 0.1;
/** 16 B × 1073741816: the file table's share of total-vm, comparable across servers. */
const FILE_TABLE_KB = 16_777_216;
/**
 * The file table kills at start-up, before the pool is touched: total-vm is 16 GiB plus a start-up footprint well
 * under 1 GiB (the seeds' lines: 16 816 660 – 16 832 960 kB). Larger is a server's own reservation (MariaDB 10.11's
 * terabytes, pmacontrol's 22 GiB mariadbd under load), which is not the file table.
 */
const isFileTable = (totalVmKb: number) => totalVmKb >= FILE_TABLE_KB && totalVmKb < FILE_TABLE_KB + 1024 ** 2;
const SERVERS = /^(mysqld|mariadbd)$/;
/** The lab guest's ballast process (lab/guest/files/oomlab-agent.py), as the kernel's task table names it. */
const BALLAST = 'oomlab-ballast';

const PHASES: Partial<Record<Outcome, ProductionKill['phase']>> = {
  'oom-killed-at-startup': 'start-up',
  'oom-killed-under-load': 'under-load',
  'oom-killed-after-load': 'after-load',
};

const kb = (value: number) => `${value.toLocaleString('en-US')} kB`;

function scopeOf(constraint: string): ProductionKill['scope'] {
  return constraint === 'CONSTRAINT_MEMCG'
    ? 'memcg'
    : constraint === 'CONSTRAINT_NONE'
      ? 'global'
      : constraint === 'CONSTRAINT_MEMORY_POLICY'
        ? 'memory-policy'
        : constraint === 'CONSTRAINT_CPUSET'
          ? 'cpuset'
          : 'unknown';
}

/** The configuration that plays production: one with an axis value `production`, else the first whose production instance was killed. */
function productionConfig(configs: readonly ConfigResult[], instance: string): ConfigResult | undefined {
  const killed = (c: ConfigResult) => c.observations.some((o) => o.kind === 'kernel-oom' && o.instance === instance);
  const named = configs.filter((c) => Object.values(c.axes).includes('production'));
  return named.find(killed) ?? named[0] ?? configs.find(killed);
}

/** The lab's image where it is not production's server (MariaDB 10.11 for a MySQL 5.7): said wherever the verdict is. */
function standInOf(production: ProductionKill, config: ConfigResult | undefined): SignatureMatch['standIn'] {
  const image = config?.axes.image;
  if (!production.server || typeof image !== 'string') return undefined;
  const lab = serverFamilyOf(image);
  if (!lab || (lab.family === production.server.family && lab.version === production.server.version)) return undefined;
  return { image, production: serverText(production.server) };
}

/**
 * A global kill comes when the whole machine runs out: what the other processes held sets how large the server
 * was by then. The lab's guest runs its own kernel threads, dockerd, containerd and the agent; production ran
 * its own. Shown beside anon-rss to say where a gap comes from; never decisive, as no scenario reproduces them.
 */
function othersRow(production: ProductionKill, kill: { others?: OthersAtKill }): SignatureRow {
  const lab = kill.others;
  const labText = lab
    ? `${formatBytes(lab.rssKb * 1024)} in ${lab.count} processes, the largest ${lab.largest.map((t) => `${t.name} ${formatBytes(t.rssKb * 1024)}`).join(', ')}`
    : "unknown: the lab's kernel log had no task table";
  const productionText = production.othersRssKb !== undefined ? formatBytes(production.othersRssKb * 1024) : 'unknown: its kernel lines have no task table';
  const bothKnown = lab !== undefined && production.othersRssKb !== undefined;
  const off = bothKnown && production.othersRssKb! > 0 ? Math.abs(lab.rssKb - production.othersRssKb!) / production.othersRssKb! : undefined;
  return {
    figure: 'other processes',
    production: productionText,
    lab: labText,
    match: off === undefined ? 'unknown' : off <= ANON_TOLERANCE ? 'same' : 'differs',
    decisive: false,
    note: lab?.largest.some((t) => t.name === BALLAST)
      ? `the task table's other rows at the kill: the lab's include ${BALLAST}, which held what production's machine held beside the server (the lab VM's room)`
      : production.othersRssKb === undefined
        ? "the task table's other rows at the kill: production's are unknown, so a gap in anon-rss under the same machine size may be theirs"
        : "the task table's other rows at the kill: what the machine held beside the server sets the size at which it was killed",
  };
}

export interface SignatureContext {
  /** The lab VM's memory when a lab ran the configurations: a global kill's budget, as the machine was production's. */
  labMemoryBytes?: number;
  /**
   * What the lab VM left available once booted, when its shape asked for a room (a ballast held the rest): a global
   * kill's budget for the server, as production's machine less what else it held.
   */
  labRoomBytes?: number;
}

/** A lab's budgets for the signature: its memory, and the room its ballast left when its shape asked for one. */
export function labSignatureContext(lab: LabHostFacts): SignatureContext {
  const room = labRoomBytes(lab);
  return { labMemoryBytes: lab.memoryMiB * 1024 * 1024, ...(room !== undefined ? { labRoomBytes: room } : {}) };
}

export function matchSignature(production: ProductionKill, configs: readonly ConfigResult[], context: SignatureContext = {}): SignatureMatch {
  const config = productionConfig(configs, production.instance);
  const standIn = standInOf(production, config);
  const standing = standIn ? `, with ${standIn.image} standing in for production's ${standIn.production}` : '';
  const kill = config?.observations.find((o) => o.kind === 'kernel-oom' && o.instance === production.instance);
  if (!config || !kill || kill.kind !== 'kernel-oom') {
    // A configuration that ended in a harness error was not decided: that is no evidence the kill does not reproduce.
    const decided = (c: ConfigResult) => c.verdict !== 'error' && c.verdict !== 'skipped';
    const undecided = config ? !decided(config) : !configs.some(decided);
    return {
      verdict: undecided ? 'not-decided' : 'not-reproduced',
      ...(config ? { configId: config.id } : {}),
      production,
      rows: [],
      ...(standIn ? { standIn } : {}),
      summary: !config
        ? undecided
          ? 'Not decided: no configuration ran.'
          : `Not reproduced: no configuration killed ${production.instance}.`
        : undecided
          ? `Not decided: ${config.id}${standing} ended without a verdict (${config.reason ?? config.verdict}), and ${production.instance} was not OOM-killed before it; run it again.`
          : `Not reproduced: ${production.instance} of ${config.id}${standing} was not OOM-killed (${config.outcome ?? config.verdict}).`,
    };
  }
  const rows: SignatureRow[] = [];
  const bothServers = SERVERS.test(production.process) && SERVERS.test(kill.process);
  rows.push({
    figure: 'process',
    production: production.process,
    lab: kill.process,
    match: production.process === kill.process ? 'same' : 'differs',
    decisive: !bothServers,
    ...(production.process !== kill.process && bothServers ? { note: 'does not decide: the same server family under another name, the lab image runs the other of MySQL and MariaDB' } : {}),
  });
  if (production.server) {
    rows.push({
      figure: 'server',
      production: serverText(production.server),
      lab: typeof config.axes.image === 'string' ? config.axes.image : 'unknown',
      match: standIn ? 'differs' : typeof config.axes.image === 'string' && serverFamilyOf(config.axes.image) ? 'same' : 'unknown',
      decisive: false,
      ...(standIn ? { note: "a stand-in: the image this host has; the scenario file's `Image:` comment says why" } : {}),
    });
  }
  const labScope = scopeOf(kill.constraint);
  const scopeMatch = production.scope === 'unknown' || labScope === 'unknown' ? 'unknown' : production.scope === labScope ? 'same' : 'differs';
  rows.push({
    figure: 'scope',
    production: production.scope,
    lab: labScope,
    match: scopeMatch,
    decisive: true,
    // A container's limit stands in for a machine's memory; a global OOM itself needs a machine of its own (a lab VM).
    ...(scopeMatch === 'differs' && production.scope === 'global' && labScope === 'memcg'
      ? { note: "production's whole machine ran out; here a container's limit of the same size stands in for it (--host lab gives a machine of its own)" }
      : scopeMatch === 'same' && labScope === 'global' && context.labMemoryBytes !== undefined
        ? { note: "the whole machine ran out in both: production's and the lab VM's" }
        : {}),
  });
  // A global kill's budget is the machine: the lab VM's memory, never this host's.
  const limit = labScope === 'global' ? context.labMemoryBytes : config.metrics.memoryLimitBytes;
  // A room sized to production's victim (from-incident's room=, for a global kill): the server met the budget
  // production's did, the way a memcg limit gives it; that budget came from this very figure, so a match is an input.
  const room =
    labScope === 'global' && context.labRoomBytes !== undefined && production.anonRssKb !== undefined
      ? { bytes: context.labRoomBytes, production: Math.abs(context.labRoomBytes - production.anonRssKb * 1024) / (production.anonRssKb * 1024) <= ANON_TOLERANCE }
      : undefined;
  if (production.anonRssKb !== undefined && room?.production) {
    const off = Math.abs(kill.anonRssKb - production.anonRssKb) / production.anonRssKb;
    const apart = `${(off * 100).toFixed(1)} % apart`;
    const roomText = `the lab VM left the server ${formatBytes(room.bytes)} (a ballast held the rest), production's machine less what else it held at this kill`;
    rows.push({
      figure: 'anon-rss',
      production: kb(production.anonRssKb),
      lab: kb(kill.anonRssKb),
      match: off <= ANON_TOLERANCE ? 'same' : 'differs',
      // Met, it says only that the server filled the room with anonymous memory; missed, it says the kill came at another size.
      decisive: off > ANON_TOLERANCE,
      note:
        off <= ANON_TOLERANCE
          ? `${apart}: not decisive, ${roomText}, so the size is an input; it shows the server filled that room with anonymous memory`
          : `${apart}, though ${roomText}: the lab's kill came at another size (${kill.anonRssKb > production.anonRssKb ? 'the server held more than the room' : 'page cache or other processes took part of the room'})`,
    });
  } else if (production.anonRssKb !== undefined) {
    const off = Math.abs(kill.anonRssKb - production.anonRssKb) / production.anonRssKb;
    const limitsAgree = production.limitBytes !== undefined && limit !== undefined && Math.abs(limit - production.limitBytes) / production.limitBytes < 0.01;
    // Production's limit known, the lab's another: a gap beyond 10 % is a kill at another size, which no verdict may call production's.
    const underOtherLimit = !limitsAgree && production.limitBytes !== undefined && off > ANON_TOLERANCE;
    const apart = `${(off * 100).toFixed(1)} % apart`;
    // A server sized to hold production's victim matches its anon-rss by construction: shown, never counted.
    const sized = production.anonRssSizedTo === true;
    rows.push({
      figure: 'anon-rss',
      production: kb(production.anonRssKb),
      lab: kb(kill.anonRssKb),
      match: off <= ANON_TOLERANCE ? 'same' : 'differs',
      decisive: !sized && (limitsAgree || underOtherLimit),
      note: sized
        ? off <= ANON_TOLERANCE
          ? `${apart}: not decisive, the scenario sized the server's pool to hold production's anon-rss, so this figure is an input, not a finding`
          : kill.anonRssKb > production.anonRssKb
            ? `${apart}: not decisive, and the sizing missed: the scenario sized the server's pool to hold production's anon-rss, but the lab's server held more when killed (a smallest pool and its own start-up are above production's whole server)`
            : `${apart}: not decisive, and the sizing missed: the scenario sized the server's pool to hold production's anon-rss, but the lab's server was killed before it held that much`
        : limitsAgree
          ? `${apart}${labScope === 'global' ? ", in a lab VM of production's machine size" : ''}`
          : underOtherLimit
            ? `${apart}, under ${limit !== undefined ? `a limit of ${formatBytes(limit)}` : 'a limit not known'} against production's ${formatBytes(production.limitBytes!)}: the lab's kill came at another size`
            : `${apart} (${production.limitBytes === undefined ? "production's limit is unknown" : 'the limits differ'}: not decisive)`,
    });
  }
  if (production.scope === 'global' || labScope === 'global') rows.push(othersRow(production, kill));
  if (production.totalVmKb !== undefined) {
    const fileTable = isFileTable(production.totalVmKb);
    const off = Math.abs(kill.totalVmKb - production.totalVmKb) / production.totalVmKb;
    rows.push({
      figure: 'total-vm',
      production: kb(production.totalVmKb),
      lab: kb(kill.totalVmKb),
      match: off <= ANON_TOLERANCE ? 'same' : 'differs',
      decisive: fileTable,
      note: fileTable ? 'the 16 GiB file table: comparable across servers' : 'each server version reserves its own virtual space (MariaDB 10.11 terabytes of it): not decisive',
    });
  }
  const labPhase = config.outcome ? PHASES[config.outcome] : undefined;
  rows.push({
    figure: 'phase',
    production: production.phase,
    lab: labPhase ?? config.outcome ?? 'unknown',
    match: production.phase === 'unknown' || !labPhase ? 'unknown' : production.phase === labPhase ? 'same' : 'differs',
    decisive: production.phase !== 'unknown',
  });
  if (production.oomScoreAdj !== undefined) {
    // Kernels from 5.x print it at the end of the kill line; older ones only in the task table.
    const labAdj = /\boom_score_adj:(-?\d+)/.exec(kill.line)?.[1];
    rows.push({
      figure: 'oom_score_adj',
      production: String(production.oomScoreAdj),
      lab: labAdj ?? 'not in the lab kill line',
      match: labAdj === undefined ? 'unknown' : Number(labAdj) === production.oomScoreAdj ? 'same' : 'differs',
      decisive: false,
      note: 'it changes which process the kernel picks, not the memory',
    });
  }
  const decisive = rows.filter((r) => r.decisive);
  const differs = decisive.filter((r) => r.match === 'differs');
  // A kill in another scope is the same death under another constraint: partly, never reproduced.
  const verdict: SignatureMatch['verdict'] = differs.length === 0 ? 'reproduced' : 'partly';
  const sameText = decisive.filter((r) => r.match === 'same').map((r) => r.figure);
  const summary =
    verdict === 'reproduced'
      ? `Reproduced by ${config.id}${standing}: ${sameText.join(', ') || 'the kill'} as in production${
          rows.some((r) => r.match === 'differs' && r.figure !== 'server')
            ? `; ${rows
                .filter((r) => r.match === 'differs' && r.figure !== 'server')
                .map((r) => `${r.figure} differs (${r.note ?? 'not decisive'})`)
                .join('; ')}`
            : ''
        }.`
      : `Partly reproduced by ${config.id}${standing}: ${differs.map((r) => `${r.figure} ${r.lab} against production's ${r.production}${r.note ? ` (${r.note})` : ''}`).join('; ')}.`;
  return { verdict, configId: config.id, production, ...(standIn ? { standIn } : {}), rows, summary };
}
