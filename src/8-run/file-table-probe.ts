import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, OomlabError } from '../0-model/errors.ts';
import type { FileTableProbe, FileTableSample, Progress } from '../0-model/report.ts';
import { formatBytes } from '../0-model/units.ts';
import { readProcessMemory, readServerVariables } from '../4-observe/index.ts';
import { buildNofileShim, type ImageResolution, type RuntimeConnection } from '../3-runtime/index.ts';

/**
 * Two nofile values far enough apart that 16 B each is 255 MiB of difference: a server's resident memory
 * wanders by a few MiB between starts (2 MiB seen on MySQL 9.7), which is 0.1 B per descriptor here.
 */
export const PROBE_NOFILES = [65_536, 16_777_216] as const;
/** containerd's LimitNOFILE=infinity, the incident's nofile. */
export const CONTAINERD_INFINITY = 1_073_741_816;

// Everything else a server sizes from open_files_limit is pinned, so the slope is the file table's alone.
const PINNED_MY_CNF = { max_connections: 151, table_open_cache: 400, table_definition_cache: 400, performance_schema: 'OFF', innodb_buffer_pool_size: '32M' };
const READY_TIMEOUT_MS = 90_000;
const SETTLE_MS = 1_000;

export interface ProbeContext {
  connection: RuntimeConnection;
  hostNofileHardLimit: number;
  shimPath: () => Promise<string>;
  signal: AbortSignal;
  /** @default CONTAINERD_INFINITY */
  predictAt?: number;
  onProgress?: (text: string) => void;
}

/** Least-squares slope of y over x: with two samples, the line through them. */
export function slopeOf(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const meanX = points.reduce((s, p) => s + p.x, 0) / n;
  const meanY = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - meanX) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, p) => s + (p.x - meanX) * (p.y - meanY), 0) / sxx;
}

export function fitFileTable(image: string, samples: FileTableSample[], predictAt: number, durationMs: number): FileTableProbe {
  const round = (v: number) => Math.round(v * 100) / 100;
  // Resident memory is what the memory cgroup charges and what killed the incident's server.
  const bytesPerDescriptor = round(slopeOf(samples.map((s) => ({ x: s.openFilesLimit, y: s.rssAnonBytes }))));
  const mappedBytesPerDescriptor = round(slopeOf(samples.map((s) => ({ x: s.openFilesLimit, y: s.vmDataBytes }))));
  return { image, samples, bytesPerDescriptor, mappedBytesPerDescriptor, predicted: { nofile: predictAt, bytes: Math.max(0, Math.round(bytesPerDescriptor * predictAt)) }, durationMs };
}

/** Starts the image once per probe nofile in a labelled container and reads the server's own figures. */
export async function probeFileTable(image: string, context: ProbeContext): Promise<FileTableProbe> {
  const started = Date.now();
  const run = { runId: `probe-${randomBytes(4).toString('hex')}`, scenario: 'file-table-probe' };
  const samples: FileTableSample[] = [];
  for (const [index, nofile] of PROBE_NOFILES.entries()) {
    context.onProgress?.(`file-table probe of ${image}: nofile ${nofile}`);
    const spec = { name: 'probe', image, nofile, memory: 2 * 1024 ** 3, mycnf: { ...PINNED_MY_CNF, open_files_limit: nofile } };
    await using instance = await context.connection.startInstance(spec, {
      run,
      configId: `probe-nofile=${nofile}`,
      configIndex: index,
      hostNofileHardLimit: context.hostNofileHardLimit,
      shimPath: context.shimPath,
    });
    const ready = await instance.waitReady(READY_TIMEOUT_MS, context.signal);
    if (!ready.ready && ready.why === 'cancel') throw new CancelledError(`the file-table probe of ${image} was interrupted`);
    if (!ready.ready) {
      throw new OomlabError(
        'IMAGE_MISSING',
        `the file-table probe could not start ${image} at nofile ${nofile} (${ready.why} after ${ready.afterMs}ms) — server log: ${(await instance.logTail(5)).trim().split('\n').at(-1) ?? ''}`,
      );
    }
    await sleep(SETTLE_MS, undefined, { signal: context.signal });
    const { pid } = await instance.state();
    if (pid === undefined) throw new OomlabError('IMAGE_MISSING', `the file-table probe found ${image} stopped at nofile ${nofile} — run it alone to see its log`);
    const memory = await readProcessMemory(pid);
    const variables = await readServerVariables(instance.endpoint());
    samples.push({ nofile, emulated: instance.nofile.emulated, openFilesLimit: Number(variables.open_files_limit), vmDataBytes: memory.vmDataBytes, rssAnonBytes: memory.rssAnonBytes });
  }
  return fitFileTable(image, samples, context.predictAt ?? CONTAINERD_INFINITY, Date.now() - started);
}

/** Probes every image the run has, once, before the matrix; the figure goes beside the image in the report. */
export async function probeImages(
  connection: RuntimeConnection,
  hostNofileHardLimit: number,
  images: Map<string, ImageResolution & { fileTable?: FileTableProbe }>,
  signal: AbortSignal,
  progress: (p: Progress) => void,
): Promise<void> {
  let shim: Promise<string> | undefined;
  for (const [name, image] of images) {
    if (!image.available) continue;
    const probe = await probeFileTable(name, { connection, hostNofileHardLimit, shimPath: () => (shim ??= buildNofileShim()), signal, onProgress: (text) => progress({ kind: 'message', text }) });
    image.fileTable = probe;
    progress({ kind: 'message', text: fileTableLine(probe) });
  }
}

/** The probe's answer in one line, as a reviewer would paste it. */
export function fileTableLine(probe: FileTableProbe): string {
  const at = probe.samples.map((s) => s.openFilesLimit).join(' and ');
  return `${probe.image}: ${probe.bytesPerDescriptor} B per descriptor (open_files_limit ${at}) → ${formatBytes(probe.predicted.bytes)} at nofile ${probe.predicted.nofile}, measured in ${(probe.durationMs / 1000).toFixed(1)} s`;
}
