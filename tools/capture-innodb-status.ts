// Captures SHOW ENGINE INNODB STATUS from a real server under contention, for the parser's fixtures:
// one labelled container, writers on a hot row and an append-only table, readers scanning, and a
// poller that keeps every status whose SEMAPHORES section lists a wait.
//   node --import tsx tools/capture-innodb-status.ts IMAGE OUT.txt [--writers 64] [--readers 32] [--seconds 20]
//     [--cpuset 0] [--buffer-pool 16M] [--thread-concurrency 0] [--poll-ms 100] [--new-connection]
// --new-connection: every statement on a connection of its own, as a connection storm's sessions.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createConnection, createPool } from 'mysql2/promise';
import { parseInnodbStatus } from '../src/4-observe/innodb-status.ts';
import { buildNofileShim, connectEngine, startInstance } from '../src/3-runtime/docker/index.ts';
import { readHostFacts } from '../src/4-observe/index.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    writers: { type: 'string', default: '64' },
    readers: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '20' },
    cpuset: { type: 'string', default: '0' },
    'buffer-pool': { type: 'string', default: '16M' },
    'thread-concurrency': { type: 'string', default: '0' },
    'poll-ms': { type: 'string', default: '100' },
    'new-connection': { type: 'boolean', default: false },
  },
});
const [image, out] = positionals;
if (!image || !out) {
  console.error('usage: capture-innodb-status.ts IMAGE OUT.txt [--writers N] [--readers N] [--seconds S] [--cpuset CPUS] [--buffer-pool SIZE] [--thread-concurrency N] [--poll-ms MS]');
  process.exit(2);
}

const engine = await connectEngine({ autoStart: false });
const host = await readHostFacts();
const run = { runId: `capture-${randomBytes(4).toString('hex')}`, scenario: 'capture-innodb-status' };
const mycnf: Record<string, string | number> = {
  innodb_buffer_pool_size: values['buffer-pool'],
  max_connections: 1000,
  // A flavour without the variable (MariaDB 10.6+) would refuse to start; `loose-` lets it ignore it.
  'loose-innodb_thread_concurrency': Number(values['thread-concurrency']),
};
const spec = { name: 'server', image, memory: 2 * 1024 ** 3, cpusetCpus: values.cpuset, mycnf };
await using instance = await startInstance(spec, { engine, run, configId: 'capture', configIndex: 0, hostNofileHardLimit: host.nofileHardLimit, shimPath: buildNofileShim });
const ready = await instance.waitReady(120_000, AbortSignal.timeout(130_000));
if (!ready.ready) throw new Error(`${image} not ready (${ready.why}): ${await instance.logTail(10)}`);
const endpoint = instance.endpoint();

const setup = await createConnection(endpoint);
const [[{ version }]] = (await setup.query('SELECT @@version AS version')) as unknown as [[{ version: string }]];
for (const sql of [
  'CREATE DATABASE IF NOT EXISTS capture',
  'CREATE TABLE capture.hot (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB',
  'INSERT INTO capture.hot VALUES (1, 0), (2, 0), (3, 0), (4, 0)',
  'CREATE TABLE capture.log (id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, body VARCHAR(200) NOT NULL, KEY (k)) ENGINE=InnoDB',
])
  await setup.query(sql);
await setup.query(
  'INSERT INTO capture.log (k, body) SELECT seq % 1000, REPEAT("x", 150) FROM (SELECT a.n * 100 + b.n AS seq FROM (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) a, (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) b) s',
);

const deadline = Date.now() + Number(values.seconds) * 1000;
const pool = createPool({ ...endpoint, connectionLimit: Number(values.writers) + Number(values.readers), waitForConnections: true });
// A storm's session: connect, one statement, disconnect; else the pool keeps its connections.
const query = async (sql: string, params: unknown[] = []) => {
  if (!values['new-connection']) return pool.query(sql, params);
  const connection = await createConnection({ ...endpoint, connectTimeout: 10_000 });
  try {
    return await connection.query(sql, params);
  } finally {
    connection.destroy();
  }
};
const loop = async (work: () => Promise<unknown>) => {
  while (Date.now() < deadline) await work().catch(() => {});
};
const writers = Array.from({ length: Number(values.writers) }, (_, i) =>
  loop(() => (i % 2 === 0 ? query('UPDATE capture.hot SET n = n + 1 WHERE id = ?', [1 + (i % 4)]) : query('INSERT INTO capture.log (k, body) VALUES (?, REPEAT("y", 180))', [i]))),
);
const readers = Array.from({ length: Number(values.readers) }, () => loop(() => query('SELECT k, COUNT(*), MAX(body) FROM capture.log GROUP BY k ORDER BY 2 DESC LIMIT 5')));

let samples = 0;
const withWaits: { text: string; waits: number; sites: number }[] = [];
const seen = new Map<string, number>();
const poller = (async () => {
  while (Date.now() < deadline) {
    const [rows] = await setup.query('SHOW ENGINE INNODB STATUS');
    const text = String((rows as { Status: string }[])[0]?.Status ?? '');
    samples++;
    const parsed = parseInnodbStatus(text).semaphoreWaits;
    const sites = new Set(parsed.map((w) => `${w.file}:${w.line} ${w.lock ?? ''}`));
    for (const site of sites) seen.set(site, (seen.get(site) ?? 0) + 1);
    if (parsed.length > 0 || /has waited at/.test(text)) withWaits.push({ text, waits: parsed.length, sites: sites.size });
    await new Promise((r) => setTimeout(r, Number(values['poll-ms'])));
  }
})();
await Promise.all([...writers, ...readers, poller]);
await pool.end();
const [rows] = await setup.query('SHOW ENGINE INNODB STATUS');
await setup.end();

// The sample whose waits are the most varied, then the most numerous: a fixture with several kinds of wait.
const best = withWaits.sort((a, b) => b.sites - a.sites || b.waits - a.waits)[0];
await writeFile(out, best?.text ?? String((rows as { Status: string }[])[0]?.Status ?? ''));
console.log(
  JSON.stringify({
    image,
    version,
    samples,
    withWaits: withWaits.length,
    kept: { waits: best?.waits ?? 0, sites: best?.sites ?? 0 },
    samplesPerSite: Object.fromEntries([...seen].sort((a, b) => b[1] - a[1])),
    out,
    load: { ...values },
  }),
);
