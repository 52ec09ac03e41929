import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { describeError } from '../0-model/errors.ts';
import { readHostFacts, type HostFacts } from '../4-observe/index.ts';
import { dockerRuntime, labHost, type Runtime, type SurveyLine } from '../3-runtime/index.ts';
import { imagesNamed, numaSkipReason, oomScoreAdjSkipReason } from '../2-plan/index.ts';
import { loadScenario } from '../1-scenario/index.ts';

/** One line of `oomlab doctor`: what this host can do for oomlab, and why not. */
export type DoctorCheck = SurveyLine;

async function scenarioImages(dir: string): Promise<string[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts'));
  const images = new Set<string>();
  for (const file of files) {
    try {
      const scenario = await loadScenario(`${dir}/${file}`);
      for (const image of imagesNamed(scenario).byImage.keys()) images.add(image);
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
export async function runDoctor(options: { scenariosDir?: string; runtime?: Runtime } = {}): Promise<{ checks: DoctorCheck[]; host: HostFacts }> {
  const runtime = options.runtime ?? dockerRuntime;
  const host = await readHostFacts();
  const checks: DoctorCheck[] = [];
  const add = (name: string, status: DoctorCheck['status'], detail: string) => checks.push({ name, status, detail });

  const survey = await runtime.survey();
  checks.push(...survey.lines);

  for (const image of await scenarioImages(options.scenariosDir ?? 'scenarios')) {
    const recipe = survey.images.recipeOf(image);
    const found = survey.answers ? await survey.images.state(image).catch((error: unknown) => ({ state: 'unchecked' as const, recipe, why: describeError(error) })) : undefined;
    if (recipe) {
      const built = `built offline from docker/${recipe}/ on first use (1 to 3 minutes)`;
      if (!found) add(`image ${image}`, 'limited', `unknown while the engine is not running — ${built}`);
      else if (found.state === 'good') add(`image ${image}`, 'ok', `good: recipe hash ${found.recipeHash}, checks pass`);
      else if (found.state === 'missing') add(`image ${image}`, 'limited', `not built yet — ${built}`);
      else if (found.state === 'stale') add(`image ${image}`, 'limited', `stale: ${found.why} — rebuilt on the next run that needs it`);
      else if (found.state === 'broken') add(`image ${image}`, 'limited', `broken: lacks ${found.missing.join(', ')} — rebuilt on the next run that needs it`);
      else if (found.state === 'unchecked') add(`image ${image}`, 'limited', `could not be checked: ${found.why}`);
      continue;
    }
    if (found?.state === 'present') add(`image ${image}`, 'ok', 'present');
    else add(`image ${image}`, 'missing', found ? survey.images.missingReason(image) : `unknown while the engine is not running; without a registry: ${survey.images.missingReason(image)}`);
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
    numa
      ? `${host.numaNodes} node — configurations with a NUMA policy are skipped: ${numa} (\`--host lab:numa2-uneven\` runs them in a VM with two)`
      : `${host.numaNodes} nodes: cpusetMems and numactl --interleave=all are real`,
  );
  const oomScoreAdj = oomScoreAdjSkipReason(host.canLowerOomScoreAdj);
  add(
    'oom_score_adj',
    oomScoreAdj ? 'limited' : 'ok',
    oomScoreAdj
      ? `${oomScoreAdj} — configurations that lower it (the incident's -998, oom_adj -15) are skipped; raising it works`
      : 'CAP_SYS_RESOURCE held: containers can get any oom_score_adj from -1000 to 1000',
  );
  const thp = await runtime.nodeSettings.thpUnswitchableReason();
  add('THP', thp ? 'limited' : 'ok', thp ? `mode ${host.thpMode}; ${thp} — configurations that set it are skipped` : `mode ${host.thpMode}, can be switched per configuration (restored after)`);
  add('k6', host.k6 ? 'ok' : 'missing', host.k6 ? 'on PATH: HTTP bursts run through k6' : 'not on PATH — HTTP bursts run through the built-in stand-in driver, and reports say so');
  const tracefs = existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events');
  add(
    'syscall tracer',
    host.bpftrace ? 'ok' : 'limited',
    `${host.bpftrace ? 'bpftrace on PATH' : 'bpftrace missing (`oomlab run` installs it with docker.io on a fresh Debian host; else apt-get install bpftrace)'}, tracefs ${tracefs ? 'mounted' : 'not mounted (mounted on demand when root)'}`,
  );
  checks.push(...(await labHost.survey()));
  return { checks, host };
}

export function formatDoctor(checks: DoctorCheck[]): string {
  const mark = { ok: 'ok  ', limited: 'warn', missing: 'no  ' } as const;
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`).join('\n');
}
