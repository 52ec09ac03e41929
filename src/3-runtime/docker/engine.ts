import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { execa } from 'execa';
import { DockerUnavailableError, EngineLostError } from '../../0-model/errors.ts';
import { onPath } from '../../0-model/host.ts';
import { poll } from '../../0-model/poll.ts';
import type { ConnectOptions, NodeAccess } from '../runtime.ts';
import { dataRootOf, releaseDeadEngineMounts } from './engine-leftovers.ts';

const DOCKERD_ARGS = ['--userland-proxy=false'] as const;

/** Two clients: requests fail fast (a lost engine must not hang a run); streams and waits may last. */
export interface Engine {
  api: Docker;
  streams: Docker;
  where: string;
  /** How the clients reach the engine (empty: DOCKER_HOST or the local socket); a probe with its own timeout is made from it. */
  at: Docker.DockerOptions;
  /** An engine on another node (a lab VM): how its published ports are reached from here, and where its files are read. */
  remote?: RemoteEngine;
}

/** What differs when the engine runs on another node than this process. */
export interface RemoteEngine {
  /**
   * A port of the node for the next server: servers share the node's network (a lab guest's bridge NAT did not
   * answer forwarded connections under user-mode networking), each listening on its own port.
   */
  nextPort(): number;
  /** The 127.0.0.1 port here that leads to a port of the engine's node. */
  reach(port: number): Promise<number>;
  /** The node's files (`/proc/<pid>/cgroup`, cgroups) and kernel log. */
  node: NodeAccess;
  /** How many times slower than this host it answers (a lab VM under TCG): readiness pings wait that much longer. */
  timeScale: number;
}

function socketDescription(): string {
  return process.env.DOCKER_HOST ?? '/var/run/docker.sock';
}

/** Clients of the engine at `at` (default: DOCKER_HOST or the local socket). */
export function engineClients(at: Docker.DockerOptions = {}, where = socketDescription(), remote?: RemoteEngine): Engine {
  return {
    api: new Docker({ ...at, timeout: 20_000 }),
    streams: new Docker(at),
    where,
    at,
    ...(remote ? { remote } : {}),
  };
}

/** True when this engine answers a ping now. */
export async function engineAnswersAt(engine: Engine): Promise<boolean> {
  return answers(new Docker({ ...engine.at, timeout: 3_000 }));
}

/** True when the engine answers a ping now. */
export async function engineAnswers(): Promise<boolean> {
  return answers(new Docker({ timeout: 3_000 }));
}

async function answers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/** Whether connectEngine may start (and install) an engine on this host: root, no DOCKER_HOST, not told otherwise. */
export function engineStartsHere(options: ConnectOptions = {}): boolean {
  return (options.autoStart ?? true) && !process.env.DOCKER_HOST && process.getuid?.() === 0;
}

/**
 * Returns clients of a running engine. On a fresh machine of ours (root, Debian, no DOCKER_HOST)
 * it installs docker.io when dockerd is missing and starts dockerd in the background; `beforeStart`
 * runs once the packages are there, before dockerd starts (what needs no engine begins beside it).
 */
export async function connectEngine(options: ConnectOptions = {}, hooks: { beforeStart?: () => Promise<void> } = {}): Promise<Engine> {
  const engine = engineClients();
  if (await answers(engine.api)) return engine;
  if (!engineStartsHere(options)) throw new DockerUnavailableError(engine.where);
  if (!(await onPath('dockerd'))) {
    if (options.install === false || !existsSync('/usr/bin/apt-get')) throw new DockerUnavailableError(engine.where);
    // bpftrace comes along on a fresh machine: it is how the incident was diagnosed, and the tracer uses it;
    // debootstrap too, in the same transaction, for the offline image that is built next.
    const packages = ['docker.io'];
    for (const extra of ['bpftrace', 'debootstrap']) if (!(await onPath(extra))) packages.push(extra);
    options.onProgress?.(`installing ${packages.join(', ')} (apt-get), once`);
    await execa('apt-get', ['update', '-qq'], { timeout: 300_000 });
    await execa('apt-get', ['install', '-y', '-qq', ...packages], {
      timeout: 600_000,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  await hooks.beforeStart?.();
  await removeStalePidFile('/var/run/docker.pid');
  const dataRoot = await dataRootOf();
  const { released, failed } = await releaseDeadEngineMounts(dataRoot);
  if (released.length > 0) options.onProgress?.(`released ${released.length} mount(s) a dead dockerd left under ${dataRoot}: ${released.join('; ')}`);
  for (const line of failed) options.onProgress?.(`could not release ${line}`);
  options.onProgress?.('starting dockerd');
  await mkdir('/var/log', { recursive: true });
  const log = openSync('/var/log/oomlab-dockerd.log', 'a');
  // Detached: the engine outlives this run, as a system daemon would. Without the userland proxy, published
  // ports are iptables DNAT: docker-proxy otherwise burns a core of a 2-core host at a storm's connection rate,
  // CPU taken from the server under test and from the driver.
  spawn('dockerd', [...DOCKERD_ARGS], { detached: true, stdio: ['ignore', log, log] }).unref();
  if ((await poll(() => answers(engine.api), { intervalMs: 500, timeoutMs: 60_000 })).done) return engine;
  throw new DockerUnavailableError(`${engine.where} (dockerd started but did not answer within 60000ms; see /var/log/oomlab-dockerd.log)`);
}

/** A dockerd killed without its shutdown leaves its pid file, and a new dockerd refuses to start. */
async function removeStalePidFile(path: string): Promise<void> {
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Alive and not a zombie: a real engine is there, just not answering yet.
  if (comm.trim() === 'dockerd' && !/^\d+ \([^)]*\) Z/.test(state)) return;
  await rm(path, { force: true });
}

/**
 * Pings the engine while a run works; calls `onLost` once if it stops answering for `lostAfterMs`,
 * so a run ends with a report instead of hanging on a dead socket.
 */
export function watchEngine(engine: Engine, onLost: (error: EngineLostError) => void, lostAfterMs = 10_000, intervalMs = 1_000): { stop(): void } {
  let lastAnswer = Date.now();
  let stopped = false;
  const probe = new Docker({ ...engine.at, timeout: intervalMs * 2 });
  const timer = setInterval(() => {
    void probe.ping().then(
      () => (lastAnswer = Date.now()),
      (error: unknown) => {
        if (!stopped && Date.now() - lastAnswer >= lostAfterMs) {
          stopped = true;
          clearInterval(timer);
          onLost(new EngineLostError('docker', engine.where, { cause: error, inVm: engine.remote !== undefined }));
        }
      },
    );
  }, intervalMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** The HTTP status of an engine refusal (404 gone, 409 conflict); undefined when the engine did not answer. */
export function statusCodeOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** The engine's own words, without dockerode's `(HTTP code 500) server error - ` prefix. */
export function engineMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .split('\n')[0]!
    .trim();
}
