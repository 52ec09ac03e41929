// Starts one MariaDB (or --image) server seeded with the feed, prints its endpoint, and keeps it until Ctrl-C:
// for profiling bench/storm-client.ts by hand (node --cpu-prof) against a server that outlives the client.
// Usage: node --import tsx bench/storm-serve.ts [--image oomlab/mariadb:10.11] [--cpuset 1] [--max-connections 128]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, resolveImage, startInstance } from '../src/3-runtime/docker/index.ts';
import { FEED_DATABASE, seedFeed } from '../src/5-workload/index.ts';

const { values } = parseArgs({ options: { image: { type: 'string' }, cpuset: { type: 'string' }, 'max-connections': { type: 'string' }, out: { type: 'string' } } });
const image = values.image ?? OFFLINE_MARIADB_IMAGE;
// On a fresh machine these install and start docker and build the image: minutes, said as they go.
const progress = { onProgress: (message: string) => console.error(`· ${message}`) };
const engine = await connectEngine(progress);
await resolveImage(engine, image, progress);
const run = { runId: `bench-serve-${Date.now()}`, scenario: 'bench-serve' };
const db = await startInstance(
  {
    name: 'db',
    image,
    memory: 4 * 1024 ** 3,
    ...(values.cpuset ? { cpusetCpus: values.cpuset } : {}),
    mycnf: { max_connections: Number(values['max-connections'] ?? 128), max_connect_errors: 1_000_000, innodb_buffer_pool_size: '256M', thread_cache_size: 64 },
  },
  { engine, run, configId: 'bench-serve', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
);
const stop = () => void Promise.resolve(db[Symbol.asyncDispose]()).finally(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
const ready = await db.waitReady(90_000, new AbortController().signal);
if (!ready.ready) {
  console.error(`server not ready: ${ready.why}`);
  stop();
} else {
  await seedFeed(db.endpoint(), { users: 2_000, posts: 40_000, followsPerUser: 20 });
  const endpoint = JSON.stringify({ ...db.endpoint(), database: FEED_DATABASE });
  if (values.out) await writeFile(values.out, endpoint);
  console.log(endpoint);
}
