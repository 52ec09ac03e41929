import { createConnection, type Connection } from 'mysql2/promise';
import { parseInnodbStatus } from './innodb-status.ts';
import { deltasPerSecond, readContainerResources, readHostCounters } from './resources.ts';
import type { Locatable } from './cgroup-memory.ts';
import type { MysqlEndpoint } from '../0-model/endpoint.ts';
import type { Timeline } from './timeline.ts';
import { sampleEvery } from './sample-every.ts';
import { nodeReader } from './kernel-files.ts';

/** The server status counters of a connection storm. */
export const STATUS_VARIABLES = [
  'Threads_connected',
  'Threads_running',
  'Max_used_connections',
  'Aborted_connects',
  'Connection_errors_max_connections',
  'Connection_errors_internal',
  'Connection_errors_accept',
  'Questions',
] as const;

/** Cgroup counters charted as rates: CPU ticks, and memory pressure's stall time (µs per second) where the cgroup has PSI. */
const RATE_METRICS = ['cpuUserTicks', 'cpuSystemTicks', 'memoryPressureSomeUs', 'memoryPressureFullUs'] as const;

function pick(values: Record<string, number>, keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.filter((key) => values[key] !== undefined).map((key) => [key, values[key]!]));
}

export interface LoadSamplerOptions {
  instance: string;
  /** Where its cgroups are: the started instance itself. */
  locatable: Locatable;
  /** The server to ask for status; a neighbour without one is sampled for cgroup and host figures only. */
  endpoint?: MysqlEndpoint;
  timeline: Timeline;
  /** @default 1_000 */
  intervalMs?: number;
}

/**
 * Samples one instance while a workload runs: cgroup memory and CPU, host counters, SHOW GLOBAL STATUS
 * and SHOW ENGINE INNODB STATUS, through one connection opened before the storm (so max_connections
 * does not lock the observer out). Cheap by design: two statements and a few small files per second.
 */
export async function startLoadSampler(options: LoadSamplerOptions): Promise<{ stop(): Promise<void> }> {
  const intervalMs = options.intervalMs ?? 1_000;
  const { timeline, instance } = options;
  let connection: Connection | undefined;
  // Read once: whether this server can list semaphore waits at all is decided from it.
  let version: string | undefined;
  let reportedUnavailable = false;
  const connect = async (): Promise<Connection | undefined> => {
    try {
      const opened = await createConnection({ ...options.endpoint!, connectTimeout: Math.min(5_000, intervalMs * 2) });
      opened.on('error', () => {});
      return opened;
    } catch (error) {
      // Once: a dead server refuses every later attempt too.
      if (!reportedUnavailable) timeline.add({ kind: 'observer-unavailable', observer: 'server-status', reason: String(error) });
      reportedUnavailable = true;
      return undefined;
    }
  };
  if (options.endpoint) connection = await connect();
  // The node's counters: the instance's own node (a lab VM's), not this host's.
  const readNode = nodeReader((await options.locatable.locate()).node);
  let previousHost = await readHostCounters(readNode);
  let previousCgroup: Record<string, number> | undefined;
  let previousAt = performance.now();
  let stopped = false;

  const sampleOnce = async () => {
    const now = performance.now();
    const seconds = (now - previousAt) / 1000;
    previousAt = now;
    const cgroup = await readContainerResources(options.locatable);
    if (cgroup) {
      // memoryUsageBytes comes from the memory sampler, which runs for every configuration.
      // failcnt is v1's alone (v2 counts memory.events' max instead): a metric the host lacks is not sampled, or
      // report.json held nulls that `oomlab report` then refused.
      for (const metric of ['memoryRssBytes', 'memoryCacheBytes', 'memoryFailcnt'] as const) {
        const value = cgroup[metric];
        if (value !== undefined && Number.isFinite(value)) timeline.add({ kind: 'sample', instance, source: 'cgroup', metric, value });
      }
      if (previousCgroup) {
        for (const [metric, value] of Object.entries(deltasPerSecond(pick(previousCgroup, RATE_METRICS), pick(cgroup, RATE_METRICS), seconds))) {
          timeline.add({ kind: 'sample', instance, source: 'cgroup', metric, value });
        }
      }
      previousCgroup = cgroup;
    }
    const host = await readHostCounters(readNode);
    for (const [metric, value] of Object.entries(deltasPerSecond(previousHost, host, seconds))) {
      timeline.add({ kind: 'sample', instance, source: 'host', metric, value });
    }
    previousHost = host;
    // A slow server is the case to watch, not to give up on: a lost or timed-out connection is
    // reopened on the next tick (it fails fast once the server is gone).
    if (!connection && options.endpoint && !stopped) connection = await connect();
    if (connection) {
      try {
        const [rows] = await connection.query({ sql: `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_VARIABLES.map(() => '?').join(', ')})`, timeout: intervalMs * 5 }, [...STATUS_VARIABLES]);
        for (const row of rows as { Variable_name: string; Value: string }[]) {
          timeline.add({ kind: 'sample', instance, source: 'status', metric: row.Variable_name, value: Number(row.Value) });
        }
        if (version === undefined) {
          const [versions] = await connection.query({ sql: 'SELECT @@version AS version', timeout: intervalMs * 5 });
          version = String((versions as { version: unknown }[])[0]?.version ?? '');
        }
        const [innodb] = await connection.query({ sql: 'SHOW ENGINE INNODB STATUS', timeout: intervalMs * 5 });
        const status = parseInnodbStatus(String((innodb as { Status: string }[])[0]?.Status ?? ''));
        timeline.add({
          kind: 'innodb-status',
          instance,
          semaphoreWaits: status.semaphoreWaits,
          ...(status.osWaitReservations !== undefined ? { osWaitReservations: status.osWaitReservations } : {}),
          ...(status.osWaitSignals !== undefined ? { osWaitSignals: status.osWaitSignals } : {}),
          ...(status.historyListLength !== undefined ? { historyListLength: status.historyListLength } : {}),
          excerpt: status.semaphoresExcerpt,
          ...(version ? { version } : {}),
        });
      } catch {
        // The server went away or did not answer in time: the kernel log and docker events tell why.
        connection.destroy();
        connection = undefined;
      }
    }
  };

  const loop = sampleEvery(intervalMs, () => sampleOnce().catch(() => {}));
  return {
    async stop() {
      stopped = true;
      await loop.stop();
      connection?.destroy();
    },
  };
}
