// The per-image figures of the expected-peak memory model (src/2-plan/image-footprints.ts), measured as the
// cgroup's anonymous memory (memory.stat total_rss) of a real server: its start-up footprint for a few
// buffer-pool sizes, what the seeded feed data warms in the pool, and what one idle and one busy connection
// add (busy: running the storm's feed mix in a loop, with the incident-era and the sized buffers).
// It starts containers: run it under the shared lock.
// Usage: node --import tsx bench/memory-footprint.ts [--image oomlab/mariadb:10.11] [--idle 200] [--busy 100] [--busy-seconds 8]
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createConnection, type Connection } from 'mysql2/promise';
import type { InstanceSpec } from '../src/1-scenario/index.ts';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage, startInstance } from '../src/3-runtime/docker/index.ts';
import { readContainerResources, readServerVariables } from '../src/4-observe/index.ts';
import { FEED_DATABASE, feedQueryMix, seedFeed, seededRandom } from '../src/5-workload/index.ts';
import { INCIDENT_ERA_BUFFERS, SIZED_BUFFERS } from '../scenarios/lib/buffers.ts';

const { values } = parseArgs({
  options: {
    image: { type: 'string' },
    idle: { type: 'string' },
    busy: { type: 'string' },
    'busy-seconds': { type: 'string' },
    startups: { type: 'string' },
    'startup-only': { type: 'boolean' },
    /** Pins the server to these CPUs (`1`): where busy connections stop adding memory. */
    cpuset: { type: 'string' },
    buffers: { type: 'string' },
  },
});
const IMAGE = values.image ?? OFFLINE_MARIADB_IMAGE;
const IDLE = Number(values.idle ?? 200);
const BUSY = (values.busy ?? '25,100').split(',').map(Number);
const BUSY_SECONDS = Number(values['busy-seconds'] ?? 8);
// Start-up variants, `;` between them, `,` between settings: the pool sizes, then each global buffer moved alone.
const STARTUPS = (
  values.startups ??
  'innodb_buffer_pool_size=32M;innodb_buffer_pool_size=128M;innodb_buffer_pool_size=256M;innodb_buffer_pool_size=1G;innodb_log_buffer_size=1M;key_buffer_size=16k;aria_pagecache_buffer_size=8M;max_connections=151;query_cache_size=0'
)
  .split(';')
  .filter((variant) => variant !== '')
  .map((variant) => Object.fromEntries(variant.split(',').map((pair) => pair.split('=') as [string, string])));
const FEED = { users: 2_000, posts: 40_000, followsPerUser: 20 };

const progress = { onProgress: (message: string) => console.error(`· ${message}`) };
const engine = await connectEngine(progress);
await resolveImage(engine, IMAGE, progress);
const run = { runId: `bench-footprint-${Date.now()}`, scenario: 'bench-memory-footprint' };
let index = 0;

async function withServer<T>(mycnf: InstanceSpec['mycnf'], work: (server: Awaited<ReturnType<typeof startInstance>>) => Promise<T>): Promise<T> {
  const server = await startInstance(
    {
      name: 'db',
      image: IMAGE,
      memory: 8 * 1024 ** 3,
      nofile: 20_000,
      ...(values.cpuset ? { cpusetCpus: values.cpuset } : {}),
      mycnf: { max_connections: 1_000, max_connect_errors: 1_000_000, ...mycnf },
    },
    { engine, run, configId: `footprint-${index}`, configIndex: index++, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
  );
  try {
    const ready = await server.waitReady(90_000, new AbortController().signal);
    if (!ready.ready) throw new Error(`${IMAGE} not ready: ${ready.why}`);
    await sleep(3_000);
    return await work(server);
  } finally {
    await server[Symbol.asyncDispose]();
  }
}

async function anonOf(server: Awaited<ReturnType<typeof startInstance>>): Promise<number> {
  const resources = await readContainerResources(server);
  if (!resources) throw new Error('the cgroup is gone');
  return resources.memoryRssBytes!;
}

/** The highest anon sampled every 100 ms while `work` runs. */
async function peakWhile(server: Awaited<ReturnType<typeof startInstance>>, work: Promise<unknown>): Promise<number> {
  let peak = await anonOf(server);
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, await anonOf(server).catch(() => 0));
      await sleep(100);
    }
  })();
  try {
    await work;
  } finally {
    done = true;
    await sampling;
  }
  return Math.max(peak, await anonOf(server));
}

const connect = (server: Awaited<ReturnType<typeof startInstance>>) => createConnection({ ...server.endpoint(), database: FEED_DATABASE, connectTimeout: 20_000 });
const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.error(`  ${line}`);
};
const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);

// 1. Start-up: nothing but the server, per variant (max_connections 1000 unless the variant sets it).
for (const variant of STARTUPS) {
  await withServer(variant, async (server) => {
    const anon = await anonOf(server);
    const status = await readServerVariables(server.endpoint());
    say(
      `start-up ${Object.entries(variant)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}: anon ${mib(anon)} MiB (${anon} B), open_files_limit ${status.open_files_limit}, @@version ${status.version}`,
    );
  });
}
if (values['startup-only']) BUSY.length = 0;

// 2-4. Per buffer set: the data's warmth, idle connections, busy connections.
for (const [name, buffers] of BUSY.length === 0
  ? []
  : ([
      ['incident-era', INCIDENT_ERA_BUFFERS],
      ['sized', SIZED_BUFFERS],
    ] as const)) {
  if (values.buffers && values.buffers !== name) continue;
  for (const busy of BUSY) {
    await withServer({ innodb_buffer_pool_size: '256M', ...buffers }, async (server) => {
      const started = await anonOf(server);
      await seedFeed(server.endpoint(), FEED);
      const seeded = await anonOf(server);
      const probe = await connect(server);
      const [rows] = (await probe.query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_data'")) as unknown as [{ Value: string }[]];
      const pages = Number(rows[0]?.Value ?? 0);
      say(`${name}: start-up ${mib(started)} MiB; after seeding ${FEED.posts} posts ${mib(seeded)} MiB (+${mib(seeded - started)} MiB, ${pages} pool pages = ${mib(pages * 16_384)} MiB)`);
      // Idle: connections that connect and hold, no statement.
      const idle: Connection[] = [];
      const beforeIdle = await anonOf(server);
      for (let i = 0; i < IDLE; i++) idle.push(await connect(server));
      await sleep(1_000);
      const withIdle = await anonOf(server);
      say(`${name}: ${IDLE} idle connections +${mib(withIdle - beforeIdle)} MiB = ${((withIdle - beforeIdle) / IDLE / 1024).toFixed(1)} KiB each`);
      await Promise.all(idle.map((c) => c.end()));
      await sleep(1_000);
      const afterIdle = await anonOf(server);
      // Busy: `busy` connections each running the feed mix, one statement after the other.
      const mix = feedQueryMix(FEED);
      const total = mix.reduce((s, q) => s + q.weight, 0);
      const counts = new Map<string, number>();
      const sessions = await Promise.all(Array.from({ length: busy }, () => connect(server)));
      const deadline = Date.now() + BUSY_SECONDS * 1_000;
      const loop = async (connection: Connection, seed: number) => {
        const random = seededRandom(seed);
        while (Date.now() < deadline) {
          let pick = random() * total;
          const query = mix.find((q) => (pick -= q.weight) < 0) ?? mix[0]!;
          await connection.query(query.sql, query.params?.(random) ?? []);
          counts.set(query.name, (counts.get(query.name) ?? 0) + 1);
        }
      };
      const peak = await peakWhile(server, Promise.all(sessions.map((c, i) => loop(c, i + 1))));
      const held = await anonOf(server);
      await Promise.all(sessions.map((c) => c.end()));
      await sleep(1_000);
      const after = await anonOf(server);
      say(
        `${name}: ${busy} busy connections for ${BUSY_SECONDS} s (${[...counts].map(([q, n]) => `${q} ${n}`).join(', ')}): peak +${mib(peak - afterIdle)} MiB = ${((peak - afterIdle) / busy / 1024).toFixed(1)} KiB each; ` +
          `at the end, still connected, +${mib(held - afterIdle)} MiB; after they quit +${mib(after - afterIdle)} MiB`,
      );
      await probe.end();
    });
  }
}
console.log(`memory footprint of ${IMAGE}, cgroup anon (memory.stat total_rss), ${new Date().toISOString()}`);
for (const line of lines) console.log(line);
