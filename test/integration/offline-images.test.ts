import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildNofileShim, connectEngine, LABEL_OWNER_PID, LABEL_RUN, OFFLINE_RECIPES, offlineImageState, sessionLabels, startInstance } from '../../src/3-runtime/docker/index.ts';
import { docker } from './helpers.ts';

// The official images' contract on every offline image that is built here. Only oomlab/mariadb:10.11 is
// built by the suite (global-setup); the others are not built in CI (its time budget), so their cases
// skip with the reason when this engine has no good copy of them.
const run = { runId: `test-offline-images-${process.pid}`, scenario: 'test-offline-images' };
const engine = connectEngine();

const EXPECTED: Record<string, { version: RegExp; comm: string; plugin: string }> = {
  'oomlab/mariadb:10.5': { version: /^10\.5\.\d+-MariaDB/, comm: 'mariadbd', plugin: 'mysql_native_password' },
  'oomlab/mariadb:10.11': { version: /^10\.11\.\d+-MariaDB/, comm: 'mariadbd', plugin: 'mysql_native_password' },
  'oomlab/mariadb:11.8': { version: /^11\.8\.\d+-MariaDB/, comm: 'mariadbd', plugin: 'mysql_native_password' },
  'oomlab/mysql:9.7': { version: /^9\.7\.\d+/, comm: 'mysqld', plugin: 'caching_sha2_password' },
};

async function whyNotHere(image: string): Promise<string | undefined> {
  const state = await offlineImageState(await engine, image);
  return state.state === 'good'
    ? undefined
    : `${image} is ${state.state} on this engine, and this suite builds no image but oomlab/mariadb:10.11 (in its global setup); a run of a scenario that uses ${image} builds it`;
}

async function connectWithin(endpoint: { host: string; port: number; user: string; password: string }, ms: number): Promise<Connection> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await createConnection({ ...endpoint, connectTimeout: 2_000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

async function one<T extends RowDataPacket>(connection: Connection, sql: string): Promise<T> {
  const [rows] = await connection.query<T[]>(sql);
  return rows[0]!;
}

describe.each(Object.keys(OFFLINE_RECIPES))('offline image %s', (image) => {
  const expected = EXPECTED[image]!;
  const flavor = OFFLINE_RECIPES[image]!.flavor;

  it('starts through the runtime: mysql2 logs in as root over plain TCP, conf.d wins, the server is named and preloaded', async ({ skip }) => {
    const why = await whyNotHere(image);
    if (why) return skip(why);
    // nofile 8192 for real; open_files_limit 6000 asked in conf.d (with table caches small enough not to ask for more).
    const spec = {
      name: 'db',
      image,
      memory: 1024 ** 3,
      nofile: 8192,
      allocator: 'jemalloc' as const,
      mycnf: { open_files_limit: 6000, max_connections: 77, table_open_cache: 1000, table_open_cache_instances: 1 },
    };
    await using db = await startInstance(spec, { engine: await engine, run, configId: image, configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim });
    const ready = await db.waitReady(120_000, new AbortController().signal);
    expect(ready, await db.logTail(20)).toMatchObject({ ready: true });
    const connection = await createConnection({ ...db.endpoint(), connectTimeout: 5_000 });
    try {
      const variables = await one(connection, 'SELECT @@version AS version, @@open_files_limit AS openFiles, @@max_connections AS maxConnections');
      expect(variables.version).toMatch(expected.version);
      expect(variables.maxConnections).toBe(77);
      // MariaDB takes open_files_limit as asked; MySQL keeps the rlimit when it is above the request.
      expect(variables.openFiles).toBe(flavor === 'mysql' ? 8192 : 6000);
      // No TLS: for caching_sha2_password mysql2 fetched the server's RSA key instead (docker/lib/entrypoint.sh).
      expect((await one(connection, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")).Value).toBe('');
      expect((await one(connection, "SELECT plugin FROM mysql.user WHERE user = 'root' AND host = '%'")).plugin).toBe(expected.plugin);
    } finally {
      await connection.end();
    }
    const pid = (await docker.getContainer(db.containerId).inspect()).State.Pid;
    expect((await readFile(`/proc/${pid}/comm`, 'utf8')).trim()).toBe(expected.comm);
    expect(await readFile(`/proc/${pid}/maps`, 'utf8')).toMatch(/libjemalloc\.so/);
  });

  it('runs /docker-entrypoint-initdb.d once on the first start, with a root password that needs quoting', async ({ skip }) => {
    const why = await whyNotHere(image);
    if (why) return skip(why);
    const password = `p'w"\\ x#${randomBytes(3).toString('hex')}`;
    const archive = pack();
    archive.entry({ name: 'docker-entrypoint-initdb.d/01-schema.sql', mode: 0o644 }, 'CREATE DATABASE initdb;\nCREATE TABLE initdb.t (id INT PRIMARY KEY);\nINSERT INTO initdb.t VALUES (42);\n');
    archive.entry({ name: 'docker-entrypoint-initdb.d/02-mark.sh', mode: 0o755 }, '#!/bin/sh\necho ran > /var/lib/mysql/initdb-sh-ran\n');
    archive.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(chunk as Buffer);
    await docker.getImage(image).inspect();
    const container = await docker.createContainer({
      Image: image,
      Env: [`MYSQL_ROOT_PASSWORD=${password}`],
      ExposedPorts: { '3306/tcp': {} },
      Labels: { [LABEL_RUN]: run.runId, [LABEL_OWNER_PID]: String(process.pid), ...sessionLabels() },
      HostConfig: { PortBindings: { '3306/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, Memory: 1024 * 1024 * 1024 },
    });
    try {
      await container.putArchive(Buffer.concat(chunks), { path: '/' });
      await container.start();
      const port = Number((await container.inspect()).NetworkSettings.Ports['3306/tcp']![0]!.HostPort);
      const connection = await connectWithin({ host: '127.0.0.1', port, user: 'root', password }, 120_000);
      try {
        expect((await one(connection, 'SELECT id FROM initdb.t')).id).toBe(42);
      } finally {
        await connection.end();
      }
      const listing = await container.exec({ Cmd: ['sh', '-c', 'cat /var/lib/mysql/initdb-sh-ran; ls -a /var/lib/mysql'], AttachStdout: true, AttachStderr: true });
      const stream = await listing.start({});
      let output = '';
      stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      await new Promise((done) => stream.on('end', done));
      expect(output).toContain('ran');
      expect(output).toContain('.oomlab-initdb-done');
    } finally {
      await container.remove({ force: true, v: true });
    }
  });
});
