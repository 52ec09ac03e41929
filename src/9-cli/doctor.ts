import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import Docker from 'dockerode';
import { describeError } from '../0-model/errors.ts';
import { dockerUserlandProxy, onPath, readHostFacts, type HostFacts } from '../4-observe/index.ts';
import { imageExists, imageMissingReason, OFFLINE_RECIPES, offlineImageState, recipeExists, thpUnswitchableReason, type Engine } from '../3-runtime/index.ts';
import { numaSkipReason, oomScoreAdjSkipReason, planRun } from '../2-plan/index.ts';
import { loadScenario } from '../1-scenario/index.ts';

/** One line of `oomlab doctor`: what this host can do for oomlab, and why not. */
export interface DoctorCheck {
  name: string;
  status: 'ok' | 'limited' | 'missing';
  detail: string;
}

async function scenarioImages(dir: string): Promise<string[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts'));
  const images = new Set<string>();
  for (const file of files) {
    try {
      const scenario = await loadScenario(`${dir}/${file}`);
      for (const config of planRun(scenario)) for (const instance of config.instances) images.add(instance.image);
    } catch {
      // A broken scenario is `oomlab run`'s to report, with its one-line error.
    }
  }
  return [...images].sort();
}

/**
 * Reads what this host offers, without changing anything and without sending traffic beyond
 * 127.0.0.1: the engine is asked only if it already answers; no registry is probed.
 */
export async function runDoctor(options: { scenariosDir?: string } = {}): Promise<{ checks: DoctorCheck[]; host: HostFacts }> {
  const host = await readHostFacts();
  const checks: DoctorCheck[] = [];
  const add = (name: string, status: DoctorCheck['status'], detail: string) => checks.push({ name, status, detail });

  const docker = new Docker({ timeout: 3_000 });
  const engine: Engine = { api: docker, streams: docker, where: process.env.DOCKER_HOST ?? '/var/run/docker.sock' };
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

  for (const image of await scenarioImages(options.scenariosDir ?? 'scenarios')) {
    if (OFFLINE_RECIPES[image] && recipeExists(image)) {
      const built = `built offline from docker/${OFFLINE_RECIPES[image]!.recipe}/ on first use (1 to 3 minutes)`;
      const found = version ? await offlineImageState(engine, image).catch((error: unknown) => ({ state: 'unknown' as const, why: describeError(error) })) : undefined;
      if (!found) add(`image ${image}`, 'limited', `unknown while the engine is not running — ${built}`);
      else if (found.state === 'good') add(`image ${image}`, 'ok', `good: recipe hash ${found.recipeHash}, checks pass`);
      else if (found.state === 'missing') add(`image ${image}`, 'limited', `not built yet — ${built}`);
      else if (found.state === 'stale') add(`image ${image}`, 'limited', `stale: ${found.why} — rebuilt on the next run that needs it`);
      else if (found.state === 'broken') add(`image ${image}`, 'limited', `broken: lacks ${found.missing.join(', ')} — rebuilt on the next run that needs it`);
      else add(`image ${image}`, 'limited', `could not be checked: ${found.why}`);
      continue;
    }
    const present = version ? await imageExists(engine, image).catch(() => false) : false;
    if (present) add(`image ${image}`, 'ok', 'present');
    else add(`image ${image}`, 'missing', version ? imageMissingReason(image) : `unknown while the engine is not running; without a registry: ${imageMissingReason(image)}`);
  }

  add(
    'nofile ceiling',
    host.nofileHardLimit >= 1_073_741_816 ? 'ok' : 'limited',
    host.nofileHardLimit >= 1_073_741_816
      ? `hard limit ${host.nofileHardLimit}: every nofile value is real`
      : `hard limit ${host.nofileHardLimit}: containers get real limits up to ${host.nofileHardLimit}; above it the getrlimit shim emulates them (reports mark them *)`,
  );
  add(
    'cgroup',
    host.memoryController ? 'ok' : 'missing',
    `v${host.cgroupVersion}, memory controller ${host.memoryController ? 'mounted' : 'missing — memory limits are not enforced, no OOM kill can be reproduced'}, swap ${host.swapAccounting ? 'limited with memory' : 'not accounted (MemorySwap is ignored; a host with swap lets containers swap past their limit)'}`,
  );
  add(
    'kernel log',
    host.dmesgReadable ? 'ok' : 'missing',
    host.dmesgReadable
      ? `dmesg readable (kernel ${host.kernel}): OOM-killer lines are evidence`
      : 'dmesg not readable — run as root or set kernel.dmesg_restrict=0; OOM kills then rest on docker events alone',
  );
  const numa = numaSkipReason(host.numaNodes);
  add(
    'NUMA',
    numa ? 'limited' : 'ok',
    numa ? `${host.numaNodes} node — configurations with a NUMA policy are skipped: ${numa}` : `${host.numaNodes} nodes: cpusetMems and numactl --interleave=all are real`,
  );
  const oomScoreAdj = oomScoreAdjSkipReason(host.canLowerOomScoreAdj);
  add(
    'oom_score_adj',
    oomScoreAdj ? 'limited' : 'ok',
    oomScoreAdj
      ? `${oomScoreAdj} — configurations that lower it (the incident's -998, oom_adj -15) are skipped; raising it works`
      : 'CAP_SYS_RESOURCE held: containers can get any oom_score_adj from -1000 to 1000',
  );
  const thp = await thpUnswitchableReason();
  add('THP', thp ? 'limited' : 'ok', thp ? `mode ${host.thpMode}; ${thp} — configurations that set it are skipped` : `mode ${host.thpMode}, can be switched per configuration (restored after)`);
  add('k6', host.k6 ? 'ok' : 'missing', host.k6 ? 'on PATH: HTTP bursts run through k6' : 'not on PATH — HTTP bursts run through the built-in stand-in driver, and reports say so');
  const tracefs = existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events');
  add(
    'syscall tracer',
    host.bpftrace ? 'ok' : 'limited',
    `${host.bpftrace ? 'bpftrace on PATH' : 'bpftrace missing (`oomlab run` installs it with docker.io on a fresh Debian host; else apt-get install bpftrace)'}, tracefs ${tracefs ? 'mounted' : 'not mounted (mounted on demand when root)'}`,
  );
  return { checks, host };
}

export function formatDoctor(checks: DoctorCheck[]): string {
  const mark = { ok: 'ok  ', limited: 'warn', missing: 'no  ' } as const;
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`).join('\n');
}
