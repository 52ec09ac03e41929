// The expected peak of one server instance: what it will hold, rather than what it could hold at worst.
// The image's measured footprint (image-footprints.ts), the open-file table, the pool pages the data and the
// warm-up touch, and the connections the workload is expected to hold, each running statements.
import type { ExpectedPeak, MemoryTerm } from '../0-model/prediction.ts';
import { formatBytes } from '../0-model/units.ts';
import { BURST_POOL_SIZE, DEFAULT_SEED, HTTP_MAX_IN_FLIGHT, STORM_MAX_IN_FLIGHT } from '../0-model/workload-defaults.ts';
import type { Workload } from '../1-scenario/index.ts';
import { imageFootprint, type AllocatorKind, type ImageFootprint } from './image-footprints.ts';
import { arrivalsOf } from './load-peak.ts';
import { perConnectionParts } from './memory-terms.ts';
import { FILE_INFO_BYTES, type OpenFilesAtStartup } from './open-files.ts';
import type { ServerIdentity, ServerVariables } from './server-profiles.ts';

export interface ExpectedPeakInput {
  identity: ServerIdentity;
  variables: ServerVariables;
  defaults: ServerVariables;
  openFiles: OpenFilesAtStartup;
  /** The instance's name and the configuration's workload: the connections and the seeded rows come from it when it reaches the instance. */
  instance?: string;
  workload?: Workload;
  /** The instance spec's `warmup.bufferPoolFraction`: the pool filled to this fraction before the workload. */
  warmupFraction?: number;
  /** The CPUs the server gets: its cpuset (or the host's), divided among the instances pinned to the same CPUs. */
  cpus?: number;
  /** performance_schema as my.cnf sets it: off, on and autosized, or on with the sum of the instrument sizes it sets. */
  performanceSchema?: boolean | { sizedUnits: number };
  /** MariaDB's thread pool (`thread_handling=pool-of-threads`): the statements it lets run at once. */
  threadPoolActive?: number;
  /** The allocator the server runs with (the instance's `allocator`, and glibc's MALLOC_ARENA_MAX from its env). @default 'glibc' */
  allocator?: AllocatorKind;
  limitBytes?: number;
}

/** A quiet shorter than this is a pause inside one burst, not the end of a work cycle. */
const QUIET_MIN_MS = 1_000;

/**
 * The work cycles a storm drives on this instance: its bursts (stages at a rate above 0) separated by quiets (stages
 * at rate 0 for at least a second). One burst is one cycle; 0 when the workload does not reach the instance or is not a storm.
 */
export function workCycles(workload: Workload | undefined, instance: string | undefined): number {
  if (workload?.kind !== 'storm' || workload.target !== instance) return 0;
  let cycles = 0;
  let inBurst = (workload.startPerSecond ?? 0) > 0;
  if (inBurst) cycles = 1;
  let quietMs = 0;
  for (const stage of workload.stages) {
    if (stage.targetPerSecond > 0) {
      if (!inBurst) cycles++;
      inBurst = true;
      quietMs = 0;
    } else {
      quietMs += stage.durationMs;
      if (quietMs >= QUIET_MIN_MS) inBurst = false;
    }
  }
  return cycles;
}

/** The share of the busy connections' bytes the allocator keeps beyond them after `cycles` work cycles, as measured (the last measured cycle's beyond). */
export function retainedShare(footprint: ImageFootprint, allocator: AllocatorKind, cycles: number): number | undefined {
  const shares = footprint.cycleRetention[allocator]?.peakShare;
  if (!shares || shares.length === 0 || cycles < 1) return undefined;
  return shares[Math.min(cycles, shares.length) - 1];
}

/** Connections a workload is expected to hold on one server at once, and how the count came about. */
export function expectedConnections(workload: Workload | undefined, instance: string | undefined, maxConnections: number): { connections: number; formula: string; shared: boolean } {
  const server = { connections: maxConnections + 1, text: `max_connections ${maxConnections} + 1 admin` };
  if (!workload || instance === undefined) return { connections: 0, formula: 'no workload reaches it', shared: false };
  const arrivals = arrivalsOf(workload.stages, workload.startPerSecond);
  if (workload.kind === 'storm') {
    if (workload.target !== instance) return { connections: 0, formula: 'the storm targets another server', shared: false };
    const maxInFlight = workload.maxInFlight ?? STORM_MAX_IN_FLIGHT;
    const caps = [{ connections: arrivals, text: `${arrivals} sessions arrive` }, { connections: maxInFlight, text: `maxInFlight ${maxInFlight}` }, server];
    const bound = Math.min(...caps.map((c) => c.connections));
    return { connections: bound, formula: `min(${caps.map((c) => c.text).join(', ')}) = ${bound}`, shared: false };
  }
  if (!workload.targets.includes(instance)) return { connections: 0, formula: 'the burst targets other servers', shared: false };
  // The tier's requests and its in-flight cap are shared by its replicas: an even share each.
  const replicas = workload.targets.length;
  const maxInFlight = workload.maxInFlight ?? HTTP_MAX_IN_FLIGHT;
  const share = (n: number) => Math.ceil(n / replicas);
  const caps = [
    { connections: share(arrivals), text: replicas > 1 ? `${arrivals} requests / ${replicas} replicas` : `${arrivals} requests arrive` },
    { connections: share(maxInFlight), text: replicas > 1 ? `maxInFlight ${maxInFlight} / ${replicas} replicas` : `maxInFlight ${maxInFlight}` },
    ...(workload.connectionMode === 'pool' ? [{ connections: workload.poolSize ?? BURST_POOL_SIZE, text: `poolSize ${workload.poolSize ?? BURST_POOL_SIZE}` }] : []),
    server,
  ];
  const bound = Math.min(...caps.map((c) => c.connections));
  return { connections: bound, formula: `min(${caps.map((c) => c.text).join(', ')}) = ${bound}`, shared: replicas > 1 };
}

/** Rows the workload seeds on this instance (users, posts and follows of the feed), 0 when it seeds none here. */
export function seededRows(workload: Workload | undefined, instance: string | undefined): number {
  if (!workload || instance === undefined) return 0;
  const reaches = workload.kind === 'storm' ? workload.target === instance : workload.targets.includes(instance);
  if (!reaches) return 0;
  const seed = workload.seed ?? DEFAULT_SEED;
  return seed.users + seed.posts + seed.users * seed.followsPerUser;
}

/** One busy connection: the measured base and the measured share of its buffers at their maximum. */
export function busyConnectionBytes(footprint: ImageFootprint, v: ServerVariables): { bytes: number; buffersBytes: number } {
  const buffersBytes = perConnectionParts(v).reduce((sum, [, b]) => sum + b, 0) + Math.min(v.tmp_table_size, v.max_heap_table_size);
  return { bytes: Math.round(footprint.busyBaseBytes + footprint.busyBufferShare * buffersBytes), buffersBytes };
}

/**
 * What one busy connection of a storm holds beyond its idle cost, when its statements say which buffers they fill
 * (`fills`): the filled buffers averaged by weight over the statements that fill any. A statement that fills
 * none is over in a moment, so the connections busy at the peak are running the others. Undefined when the mix
 * declares nothing.
 */
export function declaredConnectionBytes(workload: Workload | undefined, v: ServerVariables): { bytes: number; text: string } | undefined {
  if (workload?.kind !== 'storm' || !workload.mix?.some((q) => q.fills !== undefined)) return undefined;
  const size = (name: NonNullable<(typeof workload.mix)[number]['fills']>[number]) => (name === 'tmp_table_size' ? Math.min(v.tmp_table_size, v.max_heap_table_size) : v[name]);
  const filling = workload.mix.filter((q) => (q.fills ?? []).length > 0);
  const weights = filling.reduce((sum, q) => sum + q.weight, 0);
  const bytes = filling.reduce((sum, q) => sum + (q.weight / weights) * (q.fills ?? []).reduce((b, name) => b + size(name), 0), 0);
  const parts = filling.map((q) => `${q.name ?? 'query'} ${(q.fills ?? []).map((name) => `${name} ${formatBytes(size(name))}`).join(' + ')}`);
  return { bytes: Math.round(bytes), text: filling.length > 0 ? `the buffers its statements fill, by weight (${parts.join(', ')})` : 'its statements fill no buffer' };
}

/** Measured (bench/memory-footprint.ts, `SHOW ENGINE PERFORMANCE_SCHEMA STATUS`): autosized performance_schema, 98 066 000 B at max_connections 151, 142 394 000 B at 5000. */
const PERFORMANCE_SCHEMA_AT_151 = 98_066_000;
const PERFORMANCE_SCHEMA_PER_CONNECTION = (142_394_000 - 98_066_000) / (5_000 - 151);
/** Measured once: table instances, table handles, digests and statements of history at 100 000 each (max_connections 5000) took 593 114 000 B. */
const PERFORMANCE_SCHEMA_PER_SIZED_UNIT = (593_114_000 - 142_394_000) / 400_000;

/** The start-up footprint at these settings: the measured one, moved by each setting's measured cost per byte. */
function startUpTerm(footprint: ImageFootprint, v: ServerVariables, defaults: ServerVariables): MemoryTerm {
  let bytes = footprint.startUpBytes - footprint.startUpAt.openFilesLimit * FILE_INFO_BYTES;
  const moved: string[] = [];
  for (const [name, perByte] of Object.entries(footprint.startUpPerByte) as [keyof ServerVariables, number][]) {
    const at = footprint.startUpAt[name] ?? (defaults[name] as number);
    const now = v[name] as number;
    if (now === at) continue;
    bytes += perByte * (now - at);
    const value = (n: number) => (name === 'max_connections' ? String(n) : formatBytes(n));
    moved.push(`${perByte} × (${name} ${value(now)} − ${value(at)})`);
  }
  return {
    name: 'start-up footprint',
    bytes: Math.max(0, Math.round(bytes)),
    formula: `measured ${formatBytes(footprint.startUpBytes)} less its file table${moved.length > 0 ? ` + ${moved.join(' + ')}` : ''}`,
    phase: 'start-up',
    detail: footprint.source,
  };
}

/** The expected peak of one instance, or undefined when its image's footprint was never measured. */
export function expectedPeak(input: ExpectedPeakInput): ExpectedPeak | undefined {
  const footprint = imageFootprint(input.identity.family, input.identity.version);
  if (!footprint) return undefined;
  const v = input.variables;
  const terms: MemoryTerm[] = [startUpTerm(footprint, v, input.defaults)];
  if (input.openFiles.fileTableEntries > 0) {
    terms.push({
      name: 'open-file table',
      bytes: input.openFiles.fileTableEntries * FILE_INFO_BYTES,
      formula: `open_files_limit ${input.openFiles.openFilesLimit} × ${FILE_INFO_BYTES} B`,
      phase: 'start-up',
    });
  }
  const pool = v.innodb_buffer_pool_size;
  const rows = seededRows(input.workload, input.instance);
  const seeded = rows * footprint.poolBytesPerSeededRow;
  const warmed = (input.warmupFraction ?? 0) * pool * footprint.poolBytesPerWarmByte;
  if (seeded > 0 || warmed > 0) {
    const bytes = Math.min(pool, Math.max(seeded, warmed));
    const why = warmed >= seeded ? `warm-up to ${input.warmupFraction} of the pool ${formatBytes(pool)}` : `${rows} seeded rows × ${footprint.poolBytesPerSeededRow} B`;
    terms.push({ name: 'buffer pool, warm', bytes: Math.round(bytes), formula: bytes === pool ? `the whole pool ${formatBytes(pool)} (${why})` : why, phase: 'global' });
  }
  if (input.performanceSchema) {
    const autosized = PERFORMANCE_SCHEMA_AT_151 + PERFORMANCE_SCHEMA_PER_CONNECTION * (v.max_connections - 151);
    const sized = input.performanceSchema === true ? 0 : PERFORMANCE_SCHEMA_PER_SIZED_UNIT * input.performanceSchema.sizedUnits;
    terms.push({
      name: 'performance_schema',
      bytes: Math.round(autosized + sized),
      formula: `autosized: 98 066 000 B at max_connections 151 + ${Math.round(PERFORMANCE_SCHEMA_PER_CONNECTION)} B × (${v.max_connections} − 151)${
        sized > 0 && input.performanceSchema !== true ? ` + ${Math.round(PERFORMANCE_SCHEMA_PER_SIZED_UNIT)} B × ${input.performanceSchema.sizedUnits} instrument slots set in my.cnf` : ''
      }`,
      phase: 'start-up',
      detail: 'measured on oomlab/mariadb:10.11 at max_connections 151 and 5000, and once with four instrument sizes at 100 000 (docs/memory-model.md, measured terms)',
    });
  }
  const held = expectedConnections(input.workload, input.instance, input.openFiles.maxConnections);
  if (held.connections > 0) {
    const declared = declaredConnectionBytes(input.workload, v);
    const busy = declared
      ? { bytes: footprint.idleConnectionBytes + declared.bytes, detail: `${formatBytes(footprint.idleConnectionBytes)} idle + ${formatBytes(declared.bytes)}, ${declared.text}` }
      : (({ bytes, buffersBytes }) => ({
          bytes,
          detail: `${formatBytes(footprint.busyBaseBytes)} + ${footprint.busyBufferShare} × ${formatBytes(buffersBytes)} of buffers at their maximum, measured with the feed mix`,
        }))(busyConnectionBytes(footprint, v));
    const cpus = input.cpus ?? 1;
    const byCpu = Math.round(footprint.busyBytesPerCpu * cpus);
    // The thread pool runs a few statements at once, whatever the connections: only theirs fill buffers.
    const running = input.threadPoolActive !== undefined ? Math.min(held.connections, input.threadPoolActive) : held.connections;
    const all = running * busy.bytes + (held.connections - running) * footprint.idleConnectionBytes;
    terms.push({
      name: 'busy connections',
      bytes: Math.min(all, byCpu),
      formula:
        all > byCpu
          ? `${formatBytes(footprint.busyBytesPerCpu)} per CPU × ${cpus} CPU${cpus === 1 ? '' : 's'}, below ${held.connections} connections × ${formatBytes(busy.bytes)} (${formatBytes(all)}): the CPUs cannot fill them all`
          : running < held.connections
            ? `${running} running (the thread pool) × ${formatBytes(busy.bytes)} + ${held.connections - running} waiting × ${formatBytes(footprint.idleConnectionBytes)}`
            : `${held.connections} connections × ${formatBytes(busy.bytes)}`,
      phase: 'per-connection',
      detail: busy.detail,
    });
    const arenas = Math.min(1, held.connections / footprint.busyOnceAt);
    terms.push({
      name: 'allocator, busy',
      bytes: Math.round(arenas * footprint.busyOnceBytes),
      formula:
        arenas < 1
          ? `${held.connections} / ${footprint.busyOnceAt} × ${formatBytes(footprint.busyOnceBytes)}`
          : `${formatBytes(footprint.busyOnceBytes)} once ${footprint.busyOnceAt} connections run statements`,
      phase: 'per-connection',
    });
  }
  const busyBytes = terms.find((t) => t.name === 'busy connections')?.bytes ?? 0;
  const allocator = input.allocator ?? 'glibc';
  const cycles = workCycles(input.workload, input.instance);
  const retention = footprint.cycleRetention[allocator];
  const share = retainedShare(footprint, allocator, cycles);
  // One burst is what the footprint's busy figures measured (burst-oom and connection-buffers-oom agree with them): only repeated cycles add.
  if (cycles >= 2 && busyBytes > 0 && share !== undefined && retention) {
    const measuredCycles = retention.peakShare.length;
    terms.push({
      name: 'allocator, kept across cycles',
      bytes: Math.round(share * busyBytes),
      formula: `${share} × busy connections ${formatBytes(busyBytes)}: what ${allocator} kept beyond them over ${cycles} work cycles${cycles > measuredCycles ? ` (measured up to ${measuredCycles}; held there)` : ''}`,
      phase: 'per-connection',
      detail: `measured with ${retention.measured}; left after each quiet: ${retention.afterQuietBytes.map((b) => formatBytes(b)).join(', ')} above the seeded server`,
    });
  }
  const unknowns = [
    `how many statements make progress at once: every connection the caps allow, each at the feed mix's measured cost, up to ${formatBytes(footprint.busyBytesPerCpu)} per CPU`,
    cycles >= 2 && share !== undefined
      ? `what ${allocator} keeps over repeated work cycles with other statements than the measured ones (sorts and in-memory GROUP BYs): the measured share of the busy connections is applied to these`
      : cycles >= 2
        ? `what ${allocator} keeps over ${cycles} work cycles: not measured for this allocator on this image, not counted`
        : 'memory the allocator keeps after sessions end (glibc arenas, jemalloc dirty pages): measured only as it was in the footprint run',
  ];
  if (held.shared) unknowns.push("the balancer's split between replicas: each is given an even share; a `fastest` balancer moves clients away from the slower one");
  if (input.workload?.kind === 'storm' && input.workload.mix && !declaredConnectionBytes(input.workload, v))
    unknowns.push("the scenario's own query mix: the busy share was measured with the feed mix");
  if (typeof input.performanceSchema === 'object')
    unknowns.push('performance_schema with instrument sizes of its own: their cost was measured once, all four at 100 000, and is taken as the same per slot');
  unknowns.push("data a scenario's own steps load, beyond the seed and the warm-up");
  const bytes = terms.reduce((sum, t) => sum + t.bytes, 0);
  return {
    bytes,
    terms,
    busyConnections: held.connections,
    connectionsFormula: held.formula,
    source: footprint.source,
    unknowns,
    fits: input.limitBytes === undefined ? undefined : bytes <= input.limitBytes,
    ...(input.limitBytes !== undefined ? { headroomBytes: input.limitBytes - bytes } : {}),
  };
}
