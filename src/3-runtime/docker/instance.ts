import { randomBytes } from 'node:crypto';
import { instanceHostname } from '../../0-model/instance-hostname.ts';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';
import { pack } from 'tar-stream';
import { poll } from '../../0-model/poll.ts';
import type { InstanceSpec } from '../../1-scenario/index.ts';
import type { Engine } from './engine.ts';
import { labelsFor } from './labels.ts';
import type { InstanceLocation, StartContext, StartedInstance } from '../runtime.ts';
import { cgroupDirOf, unifiedCgroupDirOf } from '../proc-cgroup.ts';
import { planNofile, SHIM_CONTAINER_PATH } from '../nofile-shim.ts';
import { removeContainer } from './cleanup.ts';
import type { MysqlEndpoint } from '../../0-model/endpoint.ts';

/** Docker's start needs the engine's clients beside what the seam gives. */
export interface InstanceContext extends StartContext {
  engine: Engine;
}

const MYSQL_PORT = '3306/tcp';
const PING_TIMEOUT_MS = 2_000;
const EXIT_STREAM_GRACE_MS = 15_000;
const NEIGHBOUR_SETTLE_MS = 1_000;
/** While waiting for readiness, inspect the container every this many 250 ms polls (2 s). */
const INSPECT_EVERY_POLLS = 8;

/** The spec's entrypoint, under `numactl --interleave=all` when it asks for interleaved memory. */
async function entrypointOf(spec: InstanceSpec, docker: Engine['api']): Promise<{ Entrypoint?: string[]; Cmd?: string[] }> {
  if (spec.numa !== 'interleave') return spec.entrypoint ? { Entrypoint: spec.entrypoint } : {};
  const image = (await docker.getImage(spec.image).inspect()).Config;
  const inner = spec.entrypoint ?? (image.Entrypoint as string[] | null) ?? [];
  // An entrypoint given through the API drops the image's CMD, so it is carried over here.
  return { Entrypoint: ['numactl', '--interleave=all', ...inner], Cmd: spec.command ?? (image.Cmd as string[] | null) ?? [] };
}

/** Allocator libraries as every offline image installs them (docker/lib/recipe.sh links these paths). */
export const ALLOCATOR_LIBRARIES: Record<'glibc' | 'jemalloc' | 'tcmalloc', string | undefined> = {
  glibc: undefined,
  jemalloc: '/usr/lib/libjemalloc.so',
  tcmalloc: '/usr/lib/libtcmalloc_minimal.so',
};

function renderMyCnf(settings: Record<string, string | number | boolean>): string {
  const lines = Object.entries(settings).map(([key, value]) => (value === true ? key : `${key} = ${value}`));
  return `# written by oomlab for this configuration\n[mysqld]\n${lines.join('\n')}\n`;
}

async function tarOf(files: { name: string; content: Buffer | string; mode: number }[]): Promise<Buffer> {
  const archive = pack();
  for (const file of files) archive.entry({ name: file.name, mode: file.mode }, file.content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Creates and starts one server container as the spec says; the caller disposes it. */
export async function startInstance(spec: InstanceSpec, context: InstanceContext): Promise<StartedInstance> {
  const docker = context.engine.api;
  const password = randomBytes(18).toString('base64url');
  const nofile = planNofile(spec.nofile, context.hostNofileHardLimit);
  const hostname = instanceHostname(context.run.runId, context.configIndex, spec.name);
  const remote = context.engine.remote;
  // On another node the server listens on a port of the node's own network, reached through a forward.
  const nodePort = remote?.nextPort();
  const containerName = `${hostname}-${context.run.runId.slice(0, 8)}`;
  const memory = spec.memory;
  const memorySwap = spec.memorySwap ?? memory;
  const env: Record<string, string> = {
    MYSQL_ROOT_PASSWORD: password,
    MARIADB_ROOT_PASSWORD: password,
    ...spec.env,
    ...nofile.env,
    ...(nodePort !== undefined ? { MYSQL_TCP_PORT: String(nodePort) } : {}),
  };
  // The shim first (it must see getrlimit before anything else), then the allocator, then the user's own.
  const preload = [nofile.emulated ? SHIM_CONTAINER_PATH : undefined, ALLOCATOR_LIBRARIES[spec.allocator ?? 'glibc'], spec.env?.LD_PRELOAD].filter(Boolean);
  if (preload.length > 0) env.LD_PRELOAD = preload.join(':');

  const container = await docker.createContainer({
    name: containerName,
    // The node's network has the node's hostname: docker refuses another one there.
    ...(nodePort === undefined ? { Hostname: hostname } : {}),
    Image: spec.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(spec.command ? { Cmd: spec.command } : {}),
    ...(await entrypointOf(spec, docker)),
    Labels: labelsFor(context.run, context.configId, spec.name),
    ...(nodePort === undefined ? { ExposedPorts: { [MYSQL_PORT]: {} } } : {}),
    HostConfig: {
      // Loopback only: the harness never exposes a server beyond this host (a lab VM's node is reached only from 127.0.0.1).
      ...(nodePort === undefined ? { PortBindings: { [MYSQL_PORT]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : { NetworkMode: 'host' }),
      ...(memory !== undefined ? { Memory: memory } : {}),
      ...(memorySwap !== undefined ? { MemorySwap: memorySwap } : {}),
      ...(nofile.ulimit ? { Ulimits: [{ Name: 'nofile', Soft: nofile.ulimit.soft, Hard: nofile.ulimit.hard }] } : {}),
      ...(spec.cpusetCpus ? { CpusetCpus: spec.cpusetCpus } : {}),
      ...(spec.cpusetMems ? { CpusetMems: spec.cpusetMems } : {}),
      // Docker's default seccomp allows set_mempolicy only with CAP_SYS_NICE: without it numactl exits 1 (`set_mempolicy: Operation not permitted`).
      ...(spec.numa === 'interleave' ? { CapAdd: ['SYS_NICE'] } : {}),
      ...(spec.oomScoreAdj !== undefined ? { OomScoreAdj: spec.oomScoreAdj } : {}),
      ...(context.cgroupParent ? { CgroupParent: context.cgroupParent } : {}),
    },
  });

  try {
    const files: { name: string; content: Buffer | string; mode: number }[] = [];
    const mycnf = { ...spec.mycnf, ...(nodePort !== undefined && spec.role !== 'neighbour' ? { port: nodePort } : {}) };
    if (Object.keys(mycnf).length > 0) {
      files.push({ name: 'etc/mysql/conf.d/oomlab.cnf', content: renderMyCnf(mycnf), mode: 0o644 });
    }
    if (nofile.emulated) files.push({ name: SHIM_CONTAINER_PATH.slice(1), content: await readFile(await context.shimPath()), mode: 0o755 });
    if (files.length > 0) await container.putArchive(await tarOf(files), { path: '/' });
    await container.start();
  } catch (error) {
    await removeContainer(docker, container.id).catch(() => {});
    throw error;
  }
  const startedAt = Date.now();

  let exitedFlag = false;
  // The wait stream is how an exit is normally seen; an inspect that finds the container stopped also
  // settles it, so a stream the engine never answers cannot make a dead server look alive.
  let seenStopped: (exit: { exitCode: number }) => void = () => {};
  const stoppedByInspect = new Promise<{ exitCode: number }>((resolve) => (seenStopped = resolve));
  const exited = Promise.race([
    context.engine.streams
      .getContainer(container.id)
      .wait()
      .then(
        (result: { StatusCode: number }) => ({ exitCode: result.StatusCode }),
        () => ({ exitCode: -1 }),
      ),
    stoppedByInspect,
  ]).finally(() => (exitedFlag = true));

  const inspected = await container.inspect().catch(() => undefined);
  const binding = inspected?.NetworkSettings.Ports?.[MYSQL_PORT]?.[0];
  const published = binding ? Number(binding.HostPort) : undefined;
  const port = nodePort !== undefined && remote ? await remote.reach(nodePort) : published;
  const readNodeFile = remote ? (path: string) => remote.node.readFile(path) : (path: string) => readFile(path, 'utf8').catch(() => undefined);

  let located: Promise<InstanceLocation> | undefined;
  const locateOnce = async (): Promise<InstanceLocation> => {
    const hostPid = (await instance.state()).pid;
    const procCgroup = hostPid ? await readNodeFile(`/proc/${hostPid}/cgroup`) : undefined;
    const node = remote ? { node: remote.node } : {};
    if (!procCgroup) return { cgroupDirs: {}, ...node };
    const memory = cgroupDirOf(procCgroup, 'memory');
    const cpuacct = cgroupDirOf(procCgroup, 'cpuacct');
    // A v1 line for memory means a hybrid host: its unified hierarchy sits under /sys/fs/cgroup/unified.
    const unified = unifiedCgroupDirOf(procCgroup, /^\d+:[^:]*\bmemory\b/m.test(procCgroup));
    return { cgroupDirs: { ...(memory ? { memory } : {}), ...(cpuacct ? { cpuacct } : {}), ...(unified ? { unified } : {}) }, ...(hostPid ? { hostPid } : {}), ...node };
  };

  const instance: StartedInstance = {
    spec,
    containerId: container.id,
    containerName,
    hostname,
    port,
    nofile,
    startedAt,
    exited,
    hasExited: () => exitedFlag,
    endpoint() {
      if (port === undefined) throw new Error(`${containerName} has no published port (it exited at start-up)`);
      return { host: '127.0.0.1', port, user: 'root', password };
    },
    async waitReady(timeoutMs, signal) {
      if (spec.role === 'neighbour') {
        // A neighbour has no server to ping: it is up once it has run a moment without dying.
        await Promise.race([sleep(NEIGHBOUR_SETTLE_MS, undefined, { signal }).catch(() => {}), exited]);
        const afterMs = Date.now() - startedAt;
        return exitedFlag ? { ready: false, afterMs, why: 'exited' } : signal.aborted ? { ready: false, afterMs, why: 'cancel' } : { ready: true, afterMs };
      }
      const polled = await poll(
        async (n) => {
          if (exitedFlag) return 'exited';
          if (port !== undefined && (await ping(instance.endpoint(), PING_TIMEOUT_MS * (remote?.timeScale ?? 1)))) return 'ready';
          if (n % INSPECT_EVERY_POLLS === 0) {
            const state = (await container.inspect().catch(() => undefined))?.State;
            if (state && !state.Running && !state.Restarting) seenStopped({ exitCode: state.ExitCode });
          }
          return undefined;
        },
        { intervalMs: 250, timeoutMs: Math.max(0, startedAt + timeoutMs - Date.now()), signal, wake: exited },
      );
      const afterMs = Date.now() - startedAt;
      if (polled.done) return polled.value === 'ready' ? { ready: true, afterMs } : { ready: false, afterMs, why: 'exited' };
      return { ready: false, afterMs, why: polled.why };
    },
    async state() {
      const info = await container.inspect();
      return {
        status: info.State.Status,
        running: info.State.Running,
        oomKilled: info.State.OOMKilled,
        exitCode: info.State.ExitCode,
        // The server's pid on the host: the entrypoint execs the server, so the container's init is it.
        ...(info.State.Pid > 0 ? { pid: info.State.Pid } : {}),
      };
    },
    async logTail(lines) {
      const buffer = (await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      return demuxLogs(buffer);
    },
    // Once the container has been inspected its place is known for good: a container already gone has none.
    locate() {
      located ??= locateOnce().catch((): InstanceLocation => {
        // The engine did not answer: asked again next time.
        located = undefined;
        return { cgroupDirs: {}, ...(remote ? { node: remote.node } : {}) };
      });
      return located;
    },
    async [Symbol.asyncDispose]() {
      await removeContainer(docker, container.id);
      // The wait stream normally ends with the removal; a dropped stream must not hold the run.
      await Promise.race([exited, sleep(EXIT_STREAM_GRACE_MS)]);
    },
  };
  return instance;
}

async function ping(endpoint: MysqlEndpoint, timeoutMs: number): Promise<boolean> {
  try {
    const connection = await createConnection({ ...endpoint, connectTimeout: timeoutMs });
    try {
      // A query with a timeout, not ping(): a server stalled in reclaim can accept and then never answer.
      await connection.query({ sql: 'SELECT 1', timeout: timeoutMs });
      return true;
    } finally {
      connection.destroy();
    }
  } catch {
    return false;
  }
}

/** Docker multiplexes stdout/stderr in 8-byte-framed chunks when the container has no TTY. */
export function demuxLogs(buffer: Buffer): string {
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size).toString('utf8'));
    offset += 8 + size;
  }
  return offset === 0 ? buffer.toString('utf8') : parts.join('');
}
