// What `oomlab doctor` says of the Docker engine, asking only one that already answers: it is never
// started or installed here, and no registry is probed (a configured mirror off this host is only named).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import Docker from 'dockerode';
import { onPath } from '../../0-model/host.ts';
import type { EngineSurvey, SurveyLine } from '../runtime.ts';
import type { Engine } from './engine.ts';
import { dockerImages } from './image-store.ts';

/**
 * Whether published ports go through docker-proxy (one userland copy of every connection) or iptables DNAT:
 * read from the running dockerd's command line and /etc/docker/daemon.json. `unknown` when no dockerd is found.
 */
export async function dockerUserlandProxy(): Promise<'on' | 'off' | 'unknown'> {
  const daemonJson = await readFile('/etc/docker/daemon.json', 'utf8').catch(() => '');
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'dockerd') continue;
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (args.includes('--userland-proxy=false') || /"userland-proxy"\s*:\s*false/.test(daemonJson)) return 'off';
    return 'on';
  }
  return 'unknown';
}

export async function surveyDocker(): Promise<EngineSurvey> {
  const docker = new Docker({ timeout: 3_000 });
  const engine: Engine = { api: docker, streams: docker, where: process.env.DOCKER_HOST ?? '/var/run/docker.sock', at: {} };
  const lines: SurveyLine[] = [];
  const add = (name: string, status: SurveyLine['status'], detail: string) => lines.push({ name, status, detail });
  let version: { Version?: string; ApiVersion?: string } | undefined;
  try {
    version = (await docker.version()) as { Version?: string; ApiVersion?: string };
  } catch {
    version = undefined;
  }
  if (version) add('docker engine', 'ok', `answers at ${engine.where}: Docker ${version.Version} (API ${version.ApiVersion})`);
  else if (await onPath('dockerd')) add('docker engine', 'limited', `not answering at ${engine.where}; dockerd is installed — \`oomlab run\` starts it (root)`);
  else if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) add('docker engine', 'limited', 'not installed — `oomlab run` installs docker.io (apt-get) and starts dockerd');
  else add('docker engine', 'missing', `not answering at ${engine.where} and oomlab cannot install it here (needs root on Debian) — install Docker and start it`);

  const proxy = version ? await dockerUserlandProxy() : 'unknown';
  if (proxy === 'off') add('port publishing', 'ok', 'iptables DNAT on 127.0.0.1, no docker-proxy: a storm costs the host no extra copy of each connection');
  else if (proxy === 'on')
    add(
      'port publishing',
      'limited',
      'docker-proxy carries every connection to a published port: at storm rates it takes most of a core from the server and the driver — start dockerd with --userland-proxy=false (oomlab does when it starts dockerd)',
    );
  else add('port publishing', 'limited', 'unknown (no dockerd process readable here); oomlab starts dockerd with --userland-proxy=false');

  let mirrors: string[] = [];
  if (version) {
    const info = (await docker.info().catch(() => undefined)) as { RegistryConfig?: { Mirrors?: string[] } } | undefined;
    mirrors = info?.RegistryConfig?.Mirrors ?? [];
  }
  const localMirror = mirrors.find((m) => /\/\/(127\.0\.0\.1|localhost)[:/]/.test(m));
  add(
    'registry',
    localMirror ? 'ok' : 'missing',
    localMirror
      ? `mirror on this host: ${localMirror} (used with --pull)`
      : `none reachable without leaving this host (no mirror on 127.0.0.1${mirrors.length ? `; configured mirrors ${mirrors.join(', ')} are off-host and not probed` : ''}); oomlab never contacts a registry unless run with --pull — images come from docker/ recipes or \`docker load\``,
  );
  return { lines, answers: version !== undefined, images: dockerImages(engine) };
}
