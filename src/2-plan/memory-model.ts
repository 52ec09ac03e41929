// The preflight memory model: what a MySQL/MariaDB configuration can need at worst, term by term, against
// the container's memory limit, and what the scenario's own load can drive. The formula and its sources are
// in docs/memory-model.md; the server profiles, the start-up file limits, the terms and the load are beside this file.
import type { MemoryPrediction } from '../0-model/prediction.ts';
import { formatBytes } from '../0-model/units.ts';
import { effectiveLimit } from '../0-model/limits.ts';
import type { InstanceSpec, Workload } from '../1-scenario/index.ts';
import { loadPeak, workloadCaps, type ConnectionCap } from './load-peak.ts';
import { expectedPeak } from './expected-peak.ts';
import type { AllocatorKind } from './image-footprints.ts';
import { connectionTerms, connectionsWithin, globalTerms, openFileTableTerms, sumOf } from './memory-terms.ts';
import { openFilesAtStartup, type OpenFilesAtStartup } from './open-files.ts';
import { resolveVariables, serverFamilyOf, serverProfile, type MyCnf, type ServerIdentity, type ServerProfile, type ServerVariables } from './server-profiles.ts';

export type { ExpectedPeak, LoadPeak, MemoryPrediction, MemoryTerm } from '../0-model/prediction.ts';

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
  /** What caps the connections the scenario's workload holds on this server (`workloadCaps`): adds the load peak. */
  caps?: readonly ConnectionCap[];
  /** The instance's name and the configuration's workload, for the expected peak's connections and seeded rows. */
  instance?: string;
  workload?: Workload;
  /** The pool filled to this fraction before the workload (an instance's `warmup.bufferPoolFraction`). */
  warmupFraction?: number;
  /** The CPUs this server gets (its cpuset or the host's, shared with the instances pinned beside it). @default cpus */
  serverCpus?: number;
  /** The server's allocator: what it keeps over repeated work cycles was measured per allocator. @default 'glibc' */
  allocator?: AllocatorKind;
}

const ASSUMED_DEFAULT_NOFILE = 1_048_576;

interface ResolvedServer {
  profile: ServerProfile;
  variables: ServerVariables;
  openFiles: OpenFilesAtStartup;
  assumptions: string[];
}

/** The profile, the variables and the start-up file limits of this input's server, and what had to be assumed. */
function resolveServer(input: PredictInput, identity: ServerIdentity): ResolvedServer {
  const assumptions: string[] = [];
  const { profile, note } = serverProfile(identity);
  if (note) assumptions.push(note);
  const { variables, notes } = resolveVariables(profile, input.mycnf);
  assumptions.push(...notes);
  let nofileSoft: number;
  if (typeof input.nofile === 'number') nofileSoft = input.nofile;
  else if (input.defaultNofile !== undefined) nofileSoft = input.defaultNofile;
  else {
    nofileSoft = ASSUMED_DEFAULT_NOFILE;
    assumptions.push(`nofile is the engine's default, assumed ${ASSUMED_DEFAULT_NOFILE}`);
  }
  if (identity.family === 'mariadb' && input.cpus === undefined && variables.thread_pool_size === 0) {
    assumptions.push('thread_pool_size (the CPU count) assumed 1');
  }
  const openFiles = openFilesAtStartup({
    family: profile.family,
    version: profile.version,
    nofileSoft,
    ...(input.nofileHard !== undefined ? { nofileHard: input.nofileHard } : {}),
    ...(input.mycnf ? { mycnf: input.mycnf } : {}),
    cpus: input.cpus ?? 1,
  });
  if (openFiles.maxConnections < variables.max_connections) {
    assumptions.push(`the server lowers max_connections from ${variables.max_connections} to ${openFiles.maxConnections} for lack of file descriptors`);
  }
  return { profile, variables, openFiles, assumptions };
}

/** The worst-case memory of one server configuration, term by term, against the limit; with `caps`, the load peak beside it. */
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
  const { profile, variables: v, openFiles, assumptions } = resolveServer(input, identity);
  const fixedTerms = [...openFileTableTerms(profile, openFiles), ...globalTerms(v)];
  // One more than max_connections: the server keeps a slot for an account with SUPER (CONNECTION_ADMIN).
  const connections = openFiles.maxConnections + 1;
  const terms = [...fixedTerms, ...connectionTerms(v, connections, `${connections} connections (max_connections ${openFiles.maxConnections} + 1 admin)`)];
  assumptions.push(
    `one in-memory temporary table and one join buffer per connection; net buffers at net_buffer_length (each may grow to max_allowed_packet ${formatBytes(v.max_allowed_packet)} for large rows)`,
    'not counted: code and heap of mysqld itself, table and definition caches, performance_schema, InnoDB buffer-pool descriptors, allocator fragmentation',
  );
  const predictedPeakBytes = sumOf(terms);
  const expected = expectedPeak({
    identity,
    variables: v,
    defaults: profile.defaults,
    openFiles,
    ...(input.instance !== undefined ? { instance: input.instance } : {}),
    ...(input.workload ? { workload: input.workload } : {}),
    ...(input.warmupFraction !== undefined ? { warmupFraction: input.warmupFraction } : {}),
    performanceSchema: performanceSchemaOf(input.mycnf),
    ...threadPoolOf(input.mycnf, v.thread_pool_size || (input.serverCpus ?? input.cpus ?? 1)),
    cpus: input.serverCpus ?? input.cpus ?? 1,
    ...(input.allocator ? { allocator: input.allocator } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  });
  if (!expected) assumptions.push(`no measured footprint for ${profile.label} (image-footprints.ts): no expected peak, only the worst case`);
  return {
    predictedPeakBytes,
    ...(limitBytes !== undefined ? { limitBytes, headroomBytes: limitBytes - predictedPeakBytes, connectionsWithinLimit: connectionsWithin(v, sumOf(fixedTerms), limitBytes, connections) } : {}),
    fits: limitBytes === undefined ? undefined : predictedPeakBytes <= limitBytes,
    terms,
    openFilesLimit: openFiles.openFilesLimit,
    assumptions,
    ...(input.caps ? { load: loadPeak({ variables: v, fixedTerms, caps: input.caps, maxConnections: openFiles.maxConnections, ...(limitBytes !== undefined ? { limitBytes } : {}) }) } : {}),
    ...(expected ? { expected } : {}),
  };
}

const settingOf = (mycnf: MyCnf | undefined, name: string) => Object.entries(mycnf ?? {}).find(([key]) => key.toLowerCase().replace(/-/g, '_') === name)?.[1];

/** The instrument sizes whose cost was measured (all four at 100 000 at once). */
const PERFORMANCE_SCHEMA_SIZES = [
  'performance_schema_max_table_instances',
  'performance_schema_max_table_handles',
  'performance_schema_digests_size',
  'performance_schema_events_statements_history_long_size',
];

/** performance_schema as my.cnf sets it (off by default in MariaDB): off, on and autosized, or on with instrument sizes of its own (their sum). */
function performanceSchemaOf(mycnf: MyCnf | undefined): false | true | { sizedUnits: number } {
  const value = settingOf(mycnf, 'performance_schema');
  if (value === undefined || /^(0|off|false|no)$/i.test(String(value).trim())) return false;
  const sized = PERFORMANCE_SCHEMA_SIZES.map((name) => Number(settingOf(mycnf, name))).filter((n) => Number.isFinite(n) && n > 0);
  return sized.length > 0 ? { sizedUnits: sized.reduce((a, b) => a + b, 0) } : true;
}

/** MariaDB's thread pool: each group runs one statement, and lets `thread_pool_oversubscribe` (default 3) more run when it stalls. */
function threadPoolOf(mycnf: MyCnf | undefined, groups: number): { threadPoolActive?: number } {
  if (String(settingOf(mycnf, 'thread_handling') ?? '').trim() !== 'pool-of-threads') return {};
  const oversubscribe = Number(settingOf(mycnf, 'thread_pool_oversubscribe') ?? 3);
  return { threadPoolActive: groups * (1 + (Number.isFinite(oversubscribe) ? oversubscribe : 3)) };
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

/** Where an instance of a planned configuration runs, beyond its own spec. */
export interface InstancePlace {
  /** The configuration's workload: the load peak is added when it reaches this instance. */
  workload?: Workload;
  /** The simulated host the instance shares: its budget is the limit when the instance has none lower. */
  side?: { name: string; memory: number; sharedWith: readonly string[] };
  /** The CPUs the instance gets, where others are pinned to the same ones. @default its cpuset's, else the host's */
  cpus?: number;
}

/** The memory the instance may use (effectiveLimit: its own limit or its side's budget, whichever is lower), and a note when it is the side's. */
function memoryLimitOf(spec: InstanceSpec, side: InstancePlace['side']): { bytes: number; note?: string } | undefined {
  const limit = effectiveLimit(spec.memory, side);
  if (limit?.side === undefined) return limit && { bytes: limit.limitBytes };
  const shared = side!.sharedWith.length > 0 ? `, shared with ${side!.sharedWith.join(', ')}: what they hold is not modelled` : '';
  return { bytes: limit.limitBytes, note: `the limit is side \`${limit.side}\`'s budget ${formatBytes(limit.limitBytes)}${shared}` };
}

/**
 * predictPeakMemory for an instance of a planned configuration: its image, my.cnf, nofile, limit (or its
 * side's budget) and ulimit wrapper, and the load peak when the configuration's workload reaches it.
 */
export function predictInstance(spec: InstanceSpec, host: { defaultNofile?: number; cpus?: number } = {}, place: InstancePlace = {}): MemoryPrediction {
  const declared = typeof spec.nofile === 'number' ? spec.nofile : (host.defaultNofile ?? ASSUMED_DEFAULT_NOFILE);
  const wrapped = nofileAfterWrapper([...(spec.entrypoint ?? []), ...(spec.command ?? [])], declared, declared);
  const limit = memoryLimitOf(spec, place.side);
  const caps = place.workload ? workloadCaps(place.workload, spec.name) : undefined;
  const prediction = predictPeakMemory({
    image: spec.image,
    ...(spec.mycnf ? { mycnf: spec.mycnf } : {}),
    nofile: wrapped.soft,
    nofileHard: wrapped.hard,
    ...(limit ? { memoryLimitBytes: limit.bytes } : {}),
    ...(host.cpus !== undefined ? { cpus: host.cpus } : {}),
    ...(caps ? { caps } : {}),
    instance: spec.name,
    serverCpus: place.cpus ?? cpusetSize(spec.cpusetCpus) ?? host.cpus ?? 1,
    ...(place.workload ? { workload: place.workload } : {}),
    ...(warmupFractionOf(spec) !== undefined ? { warmupFraction: warmupFractionOf(spec)! } : {}),
    allocator: allocatorOf(spec),
  });
  if (typeof spec.nofile !== 'number' && host.defaultNofile === undefined && serverFamilyOf(spec.image)) {
    prediction.assumptions.push(`nofile is the engine's default, assumed ${ASSUMED_DEFAULT_NOFILE}`);
  }
  if (wrapped.soft !== declared || wrapped.hard !== declared) {
    prediction.assumptions.push(`the entrypoint's ulimit leaves the server nofile ${wrapped.soft} (hard ${wrapped.hard})`);
  }
  if (limit?.note) prediction.assumptions.push(limit.note);
  return prediction;
}

/** How many CPUs a cpuset names (`0`, `0-1`, `0,2-3`); undefined without one. */
export function cpusetSize(cpuset: string | undefined): number | undefined {
  if (!cpuset?.trim()) return undefined;
  return cpuset.split(',').reduce((n, part) => {
    const [from, to] = part.split('-').map(Number);
    return n + (to === undefined ? 1 : to - from! + 1);
  }, 0);
}

/** The allocator an instance runs with: its preload, and glibc's arena cap where its env sets MALLOC_ARENA_MAX=2 or fewer. */
export function allocatorOf(spec: Pick<InstanceSpec, 'allocator' | 'env'>): AllocatorKind {
  if (spec.allocator && spec.allocator !== 'glibc') return spec.allocator;
  const arenas = Number(spec.env?.MALLOC_ARENA_MAX);
  return Number.isInteger(arenas) && arenas >= 1 && arenas <= 2 ? 'glibc-arenas-2' : 'glibc';
}

/** `warmup.bufferPoolFraction` of an instance spec, where the scenario language has it. */
function warmupFractionOf(spec: InstanceSpec): number | undefined {
  const fraction = (spec as { warmup?: { bufferPoolFraction?: number } }).warmup?.bufferPoolFraction;
  return typeof fraction === 'number' ? fraction : undefined;
}

/** Bytes resident as soon as the server starts (the open-file table): above the limit, the server is killed before it serves. */
export function startUpBytes(prediction: MemoryPrediction): number {
  return prediction.terms.filter((t) => t.phase === 'start-up').reduce((sum, t) => sum + t.bytes, 0);
}

/** True when the start-up allocation alone exceeds the limit: an OOM kill at start-up, whatever the load. */
export function cannotStart(prediction: MemoryPrediction): boolean {
  return prediction.limitBytes !== undefined && startUpBytes(prediction) > prediction.limitBytes;
}
