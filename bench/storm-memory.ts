// What the storm driver's memory does as a storm grows, against a real MariaDB 10.11: open-model
// connect-query-quit sessions at a steady rate, 1k, 10k and 50k of them in a run (does the driver keep
// anything per session?), then 1k and 4k connections held open at once (what one open connection costs).
// Each run is a fresh client process (bench/storm-client.ts memory); its figures are the process's own:
// heap and RSS before the storm, at their peak, and after it with garbage collected.
// Usage: node --import tsx bench/storm-memory.ts [--sessions 1000,10000,50000] [--held 1000,4000] [--rate 2000]
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { formatBytes } from '../src/0-model/units.ts';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage, startInstance } from '../src/3-runtime/docker/index.ts';
import { FEED_DATABASE, seedFeed } from '../src/5-workload/index.ts';

const { values } = parseArgs({ options: { sessions: { type: 'string' }, held: { type: 'string' }, rate: { type: 'string' } } });
const SESSIONS = (values.sessions ?? '1000,10000,50000').split(',').map(Number);
const HELD = (values.held ?? '1000,4000').split(',').map(Number);
const RATE = Number(values.rate ?? 2_000);
const POINT_SELECT = `SELECT id, name FROM ${FEED_DATABASE}.users WHERE id = 42`;

interface ClientRun {
  seconds: number;
  sessionsCompleted: number;
  errorsByCode: Record<string, number>;
  peakInFlight: number;
  memory: { rssBefore: number; heapBefore: number; rssPeak: number; heapPeak: number; externalPeak: number; rssAfter: number; heapAfter: number };
}

// On a fresh machine these install and start docker and build the image: minutes, said as they go.
const progress = { onProgress: (message: string) => console.error(`· ${message}`) };
const engine = await connectEngine(progress);
await resolveImage(engine, OFFLINE_MARIADB_IMAGE, progress);
const run = { runId: `bench-memory-${Date.now()}`, scenario: 'bench-storm-memory' };
const maxHeld = Math.max(...HELD);
const db = await startInstance(
  {
    name: 'db',
    image: OFFLINE_MARIADB_IMAGE,
    memory: 8 * 1024 ** 3,
    // Room for every held connection, and a listen backlog that a steady 2000/s never overflows.
    mycnf: { max_connections: maxHeld + 100, back_log: 2_000, max_connect_errors: 1_000_000, innodb_buffer_pool_size: '256M', thread_cache_size: 256 },
  },
  { engine, run, configId: 'bench-memory', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
);
process.once('SIGINT', () => void Promise.resolve(db[Symbol.asyncDispose]()).finally(() => process.exit(130)));
try {
  const ready = await db.waitReady(90_000, new AbortController().signal);
  if (!ready.ready) throw new Error(`server not ready: ${ready.why}`);
  await seedFeed(db.endpoint(), { users: 2_000, posts: 1_000, followsPerUser: 2 });
  const env = { ...process.env, OOMLAB_BENCH_ENDPOINT: JSON.stringify({ ...db.endpoint(), database: FEED_DATABASE }) };
  const client = async (sessions: number, perSecond: number, holdMs: number): Promise<ClientRun> => {
    const out = await $({ quiet: true, env })`node --expose-gc --import tsx bench/storm-client.ts memory ${sessions} ${perSecond} ${holdMs} ${POINT_SELECT}`;
    return JSON.parse(out.stdout.split('\n')[0]!) as ClientRun;
  };
  const errors = (r: ClientRun) => (Object.keys(r.errorsByCode).length > 0 ? `   errors ${JSON.stringify(r.errorsByCode)}` : '');
  const lines: string[] = [];
  for (const sessions of SESSIONS) {
    const r = await client(sessions, RATE, 0);
    const m = r.memory;
    lines.push(
      `${String(sessions).padStart(6)} sessions at ${RATE}/s (${r.sessionsCompleted} completed, at most ${r.peakInFlight} in flight, ${r.seconds.toFixed(1)} s): ` +
        `heap ${formatBytes(m.heapBefore)} before, ${formatBytes(m.heapPeak)} peak, ${formatBytes(m.heapAfter)} after GC (kept: ${formatBytes(m.heapAfter - m.heapBefore)}); ` +
        `RSS ${formatBytes(m.rssBefore)} before, ${formatBytes(m.rssPeak)} peak${errors(r)}`,
    );
    console.error(`· ${sessions} sessions`);
  }
  for (const held of HELD) {
    // Every session arrives within half a second and stays until all have: `held` connections open at once.
    const r = await client(held, held * 2, 3_000);
    const m = r.memory;
    const perConnection = (m.heapPeak + m.externalPeak - m.heapBefore) / r.peakInFlight;
    lines.push(
      `${String(held).padStart(6)} held at once (peak ${r.peakInFlight} in flight): heap ${formatBytes(m.heapPeak)} peak (${formatBytes(m.heapPeak - m.heapBefore)} over the start), ` +
        `RSS ${formatBytes(m.rssPeak)} peak (${formatBytes(m.rssPeak - m.rssBefore)} over the start); about ${(perConnection / 1024).toFixed(1)} KiB of heap and buffers per open connection${errors(r)}`,
    );
    console.error(`· ${held} held`);
  }
  console.log(`storm driver memory against ${OFFLINE_MARIADB_IMAGE} on 127.0.0.1, each run a fresh process, Node ${process.version}`);
  for (const line of lines) console.log(line);
} finally {
  await db[Symbol.asyncDispose]();
}
