import { readFile } from 'node:fs/promises';
import { createConnection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { buildNofileShim, connectEngine, OFFLINE_MARIADB_IMAGE, startInstance } from '../../src/3-runtime/docker/index.ts';
import type { InstanceSpec } from '../../src/1-scenario/index.ts';
import { containersLabelled, docker } from './helpers.ts';

// The per-instance knobs the scenarios turn, read back from the server process and its cgroup on the host,
// not from what the harness asked for.
const run = { runId: `test-knobs-${process.pid}`, scenario: 'test-knobs' };

async function serverProcess(containerId: string): Promise<{ pid: number; comm: string; maps: string; oomScoreAdj: number }> {
  const pid = (await docker.getContainer(containerId).inspect()).State.Pid;
  return {
    pid,
    comm: (await readFile(`/proc/${pid}/comm`, 'utf8')).trim(),
    maps: await readFile(`/proc/${pid}/maps`, 'utf8'),
    oomScoreAdj: Number(await readFile(`/proc/${pid}/oom_score_adj`, 'utf8')),
  };
}

async function withServer<T>(
  spec: Omit<InstanceSpec, 'image'>,
  index: number,
  use: (containerId: string, endpoint: ReturnType<Awaited<ReturnType<typeof startInstance>>['endpoint']>) => Promise<T>,
): Promise<T> {
  const engine = await connectEngine();
  await using db = await startInstance(
    { image: OFFLINE_MARIADB_IMAGE, ...spec },
    { engine, run, configId: `knobs-${index}`, configIndex: index, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
  );
  const ready = await db.waitReady(60_000, new AbortController().signal);
  if (!ready.ready) throw new Error(`server not ready: ${ready.why}`);
  // Awaited here, inside the `await using` scope: a bare `return use(...)` would remove the container first.
  return await use(db.containerId, db.endpoint());
}

describe('per-instance knobs reach the server', () => {
  it.each([
    ['jemalloc', /libjemalloc\.so/],
    ['tcmalloc', /libtcmalloc_minimal\.so/],
  ] as const)('allocator %s is mapped into mariadbd', async (allocator, library) => {
    await withServer({ name: 'db', memory: 1024 ** 3, allocator }, allocator === 'jemalloc' ? 0 : 1, async (containerId) => {
      const server = await serverProcess(containerId);
      expect(server.comm).toBe('mariadbd');
      expect(server.maps).toMatch(library);
    });
  });

  it('glibc malloc preloads nothing', async () => {
    await withServer({ name: 'db', memory: 1024 ** 3 }, 2, async (containerId) => {
      const server = await serverProcess(containerId);
      expect(server.maps).not.toMatch(/libjemalloc|libtcmalloc/);
    });
  });

  // A negative value needs CAP_SYS_RESOURCE, which hosts like this one lack: the planner skips it (test/plan).
  it('oomScoreAdj, memory and swap limits and my.cnf variables are what the server gets', async () => {
    await withServer({ name: 'db', memory: 768 * 1024 ** 2, memorySwap: 1024 ** 3, oomScoreAdj: 500, mycnf: { max_connections: 123, sort_buffer_size: '3M' } }, 3, async (containerId, endpoint) => {
      const server = await serverProcess(containerId);
      expect(server.oomScoreAdj).toBe(500);
      const cgroup = (await readFile(`/proc/${server.pid}/cgroup`, 'utf8')).split('\n').find((l) => /(^|:)memory(,|:)/.test(l) || l.startsWith('0::'))!;
      const dir = `/sys/fs/cgroup/${cgroup.startsWith('0::') ? '' : 'memory'}${cgroup.split(':')[2]}`;
      if (cgroup.startsWith('0::')) {
        expect(Number(await readFile(`${dir}/memory.max`, 'utf8'))).toBe(768 * 2 ** 20);
        expect(Number(await readFile(`${dir}/memory.swap.max`, 'utf8'))).toBe(256 * 2 ** 20);
      } else {
        expect(Number(await readFile(`${dir}/memory.limit_in_bytes`, 'utf8'))).toBe(768 * 2 ** 20);
        // memsw exists only with swap accounting; where it does, it holds memory + swap.
        const memsw = await readFile(`${dir}/memory.memsw.limit_in_bytes`, 'utf8').catch(() => undefined);
        if (memsw !== undefined) expect(Number(memsw)).toBe(2 ** 30);
      }
      const connection = await createConnection(endpoint);
      try {
        const [rows] = await connection.query('SELECT @@max_connections AS maxConnections, @@sort_buffer_size AS sortBuffer');
        expect(rows).toEqual([{ maxConnections: 123, sortBuffer: 3 * 2 ** 20 }]);
      } finally {
        await connection.end();
      }
    });
    expect(await containersLabelled(`oomlab.run=${run.runId}`)).toEqual([]);
  });
});
