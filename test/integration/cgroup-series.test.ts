// The load observers' per-instance series on this host's real cgroups (v1, with a hybrid unified
// hierarchy): anonymous memory, page cache, CPU, memory pressure and the OOM counter, read from a real
// MariaDB under a real limit. The v2 path of the same reader runs in the lab VM's test (test/integration/lab.test.ts).
import { createConnection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { readContainerResources } from '../../src/4-observe/resources.ts';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, startInstance } from '../../src/3-runtime/docker/index.ts';

const run = { runId: `test-cgroup-series-${process.pid}`, scenario: 'test-cgroup-series' };

describe('cgroup series of a running server', () => {
  it('has anonymous memory, page cache, CPU, memory pressure and an OOM counter, and they move under work', async () => {
    const engine = await connectEngine();
    await using db = await startInstance(
      { name: 'db', image: OFFLINE_MARIADB_IMAGE, memory: 512 * 1024 ** 2 },
      { engine, run, configId: 'cgroup-series', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
    );
    const ready = await db.waitReady(60_000, new AbortController().signal);
    expect(ready.ready).toBe(true);
    const location = await db.locate();
    expect(location.cgroupDirs.memory).toBeDefined();
    const before = await readContainerResources(db);
    expect(before).toBeDefined();
    // Some CPU and some memory, so every series has something to show.
    const connection = await createConnection({ ...db.endpoint(), connectTimeout: 10_000 });
    await connection.query('CREATE DATABASE IF NOT EXISTS t');
    await connection.query('CREATE TABLE IF NOT EXISTS t.x (id INT PRIMARY KEY, pad VARCHAR(2000)) ENGINE=InnoDB');
    for (let i = 0; i < 20; i++) await connection.query("INSERT INTO t.x SELECT seq, REPEAT('x', 2000) FROM t.seq_1_to_1000 WHERE seq > ? AND seq <= ? + 50", [i * 50, i * 50]);
    await connection.end();
    const after = (await readContainerResources(db))!;
    expect(after.memoryRssBytes).toBeGreaterThan(10 * 1024 ** 2);
    expect(after.memoryCacheBytes).toBeGreaterThanOrEqual(0);
    expect(after.cpuUserTicks! + after.cpuSystemTicks!).toBeGreaterThan(before!.cpuUserTicks! + before!.cpuSystemTicks!);
    // This v1 host's unified hierarchy shows per-container PSI; the OOM counter comes from memory.oom_control.
    expect(location.cgroupDirs.unified).toMatch(/^\/sys\/fs\/cgroup\/(unified\/)?/);
    expect(after.memoryPressureSomeUs).toBeTypeOf('number');
    expect(after.memoryEventsOomKill).toBe(0);
  });
});
