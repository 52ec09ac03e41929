// The memory model's table (issue 22): what a run observed of each server, kept apart from the prediction, so
// the observations outlive their reports (bench/memory-model-observed.json) and are re-tabled with the model as
// it is at the time. A report and the kept file go through the same path: observe → predict → render.
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpectedPeak } from '../src/0-model/prediction.ts';
import type { RunReport } from '../src/0-model/report.ts';
import { formatBytes } from '../src/0-model/units.ts';
import { loadScenario } from '../src/1-scenario/index.ts';
import { planRun, predictConfigInstance } from '../src/2-plan/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OBSERVED_FILE = resolve(ROOT, 'bench/memory-model-observed.json');

/** The scenarios and the configurations of each that survive (the rest are killed, and a kill has no peak to predict). */
export const SURVIVORS: Record<string, string[] | undefined> = {
  'nofile-oom': ['image=oomlab/mariadb:10.11'],
  'burst-oom': ['buffers=sized', 'max_connections=300'],
  'scraping-burst': ['headroom=roomy'],
  // The cause families run whole: production is killed, each fix survives.
  'buffer-pool-oom': undefined,
  'connection-buffers-oom': undefined,
  'performance-schema-oom': undefined,
  'neighbour-oom': undefined,
  'allocator-retention': undefined,
  'limit-lowered': undefined,
};

/** One server of one run as it ended: what the table needs of the report, and nothing the model computes. */
export interface ObservedServer {
  /** The configuration's full id, as the scenario's plan names it. */
  config: string;
  instance: string;
  /** `survived`, or the kill (`oom-killed-under-load`, …): a killed server is tabled against its limit. */
  outcome: string;
  /** A survivor's highest cgroup anonymous memory (memory.stat rss) over the run. */
  anonPeakBytes?: number;
  /** The most `Threads_connected` the server reported. */
  connectionsHeld?: number;
  /** Requests the app tier sent this replica: a `fastest` balancer decides the split during the run. */
  requestsServed?: number;
}

/** A configuration run K times (`--repeat K`): each run's verdict, outcome and anon peak. */
export interface ObservedRepeats {
  config: string;
  verdict: string;
  runs: { verdict: string; outcome: string | null; peakAnonBytes?: number }[];
}

/** One run of one scenario: where and when it was measured, and what each server did. */
export interface ObservedRun {
  scenario: string;
  /** Relative to the repository. */
  scenarioFile: string;
  /** The report's run id (its folder is reports/<time>-<scenario>/). */
  reportId: string;
  /** When the run started (ISO). */
  startedAt: string;
  /** The host's hard RLIMIT_NOFILE, the default nofile of a server that sets none. */
  hostNofile: number;
  /** The CPUs of the host that ran it: the model caps busy connections by CPU. */
  cpus: number;
  servers: ObservedServer[];
  repeats?: ObservedRepeats[];
}

/** bench/memory-model-observed.json: the observations, without the model's figures (those are recomputed). */
export interface ObservedFile {
  about: string;
  runs: ObservedRun[];
}

const ABOUT =
  'What bench:memory-model observed of each server, one entry a run: re-tabled with the model as it is now by `npm run bench:memory-model -- --recorded`; written by `--record`. Sizes in bytes.';

/** What one report observed of its servers (neighbours are not servers: the model predicts servers only). */
export async function observe(report: RunReport, cpus: number): Promise<ObservedRun> {
  const planned = planRun(await loadScenario(resolve(ROOT, report.scenarioFile)), {}, undefined, { numaNodes: 2 });
  const servers: ObservedServer[] = [];
  const repeats: ObservedRepeats[] = [];
  for (const config of report.configs) {
    const plan = planned.find((p) => p.id === config.id);
    if (!plan || config.verdict === 'error' || config.verdict === 'skipped') continue;
    if ((config.repeats?.length ?? 0) > 1) {
      repeats.push({
        config: config.id,
        verdict: config.verdict,
        // A report slimmed to a fixture keeps no figures of its repeats.
        runs: config.repeats!.map((r) => ({ verdict: r.verdict, outcome: r.outcome, ...(r.figures?.peakRssBytes !== undefined ? { peakAnonBytes: r.figures.peakRssBytes } : {}) })),
      });
    }
    for (const judgement of config.instances) {
      if (plan.instances.find((i) => i.name === judgement.instance)?.role === 'neighbour' || !judgement.outcome) continue;
      const samples = (metric: string, source: string) =>
        config.observations.flatMap((o) => (o.kind === 'sample' && o.instance === judgement.instance && o.source === source && o.metric === metric ? [o.value] : []));
      const anon = samples('memoryRssBytes', 'cgroup');
      const connections = samples('Threads_connected', 'status');
      const requests = samples('requests', 'app-tier');
      if (judgement.outcome === 'survived' && anon.length === 0) continue;
      servers.push({
        config: config.id,
        instance: judgement.instance,
        outcome: judgement.outcome,
        ...(judgement.outcome === 'survived' ? { anonPeakBytes: Math.max(...anon) } : {}),
        ...(connections.length > 0 ? { connectionsHeld: Math.max(...connections) } : {}),
        ...(requests.length > 0 ? { requestsServed: Math.max(...requests) } : {}),
      });
    }
  }
  return {
    scenario: report.scenario,
    scenarioFile: isAbsolute(report.scenarioFile) ? relative(ROOT, report.scenarioFile) : report.scenarioFile,
    reportId: report.runId,
    startedAt: report.startedAt,
    hostNofile: report.host.nofileHardLimit,
    cpus,
    servers,
    ...(repeats.length > 0 ? { repeats } : {}),
  };
}

export interface Row {
  scenario: string;
  config: string;
  instance: string;
  /** The model's figure whole: its terms and what it cannot know. */
  expected: ExpectedPeak;
  expectedBytes: number;
  busyConnections: number;
  observedBytes: number;
  observedConnections?: number;
  requestsServed?: number;
  errorPercent: number;
}

/** A killed server: does the expected peak exceed its limit (or its side's budget)? */
export interface Killed {
  scenario: string;
  config: string;
  instance: string;
  expectedBytes: number;
  limitBytes: number;
  outcome: string;
}

/** The model's expected peak now for each server a run observed. */
export async function predict(run: ObservedRun): Promise<{ rows: Row[]; killed: Killed[] }> {
  const planned = planRun(await loadScenario(resolve(ROOT, run.scenarioFile)), {}, undefined, { numaNodes: 2 });
  const host = { defaultNofile: run.hostNofile, cpus: run.cpus };
  const rows: Row[] = [];
  const killed: Killed[] = [];
  for (const server of run.servers) {
    const plan = planned.find((p) => p.id === server.config);
    const spec = plan?.instances.find((i) => i.name === server.instance);
    if (!plan || !spec) throw new Error(`${run.scenario} has no configuration ${server.config} with a server ${server.instance} any more: re-measure it`);
    const prediction = predictConfigInstance(plan, spec, host);
    if (!prediction.expected) continue;
    if (server.outcome.startsWith('oom-killed')) {
      // A `limit` step lowers the limit under the live server: the kill came from the last one.
      const lowered = (plan.steps ?? [])
        .flatMap((step) => (step.action.action === 'limit' && step.action.instance === server.instance && step.action.memory !== undefined ? [step.action.memory] : []))
        .at(-1);
      const limitBytes = lowered ?? prediction.limitBytes;
      if (limitBytes !== undefined)
        killed.push({ scenario: run.scenario, config: server.config, instance: server.instance, expectedBytes: prediction.expected.bytes, limitBytes, outcome: server.outcome });
      continue;
    }
    if (server.outcome !== 'survived' || server.anonPeakBytes === undefined) continue;
    const observedBytes = server.anonPeakBytes;
    rows.push({
      scenario: run.scenario,
      config: server.config,
      instance: server.instance,
      expected: prediction.expected,
      expectedBytes: prediction.expected.bytes,
      busyConnections: prediction.expected.busyConnections,
      observedBytes,
      ...(server.connectionsHeld !== undefined ? { observedConnections: server.connectionsHeld } : {}),
      ...(server.requestsServed !== undefined ? { requestsServed: server.requestsServed } : {}),
      errorPercent: Math.round(((prediction.expected.bytes - observedBytes) / observedBytes) * 1000) / 10,
    });
  }
  return { rows, killed };
}

/** The axes that tell a scenario's configurations apart (the image is in the scenario row). */
function shortId(id: string): string {
  return id
    .split(',')
    .filter((pair) => !pair.startsWith('image='))
    .join(' ');
}

/** The table docs/memory-model.md keeps: survivors against ±25 %, repeats, killed servers against their limit. */
export async function render(runs: ObservedRun[], today: string): Promise<string> {
  const predicted = await Promise.all(runs.map(predict));
  const rows = predicted.flatMap((p) => p.rows);
  const killed = predicted.flatMap((p) => p.killed);
  const within = rows.filter((r) => Math.abs(r.errorPercent) <= 25).length;
  const lines = [
    `memory model of ${today}: expected peak against the observed anonymous peak (cgroup rss); runs: ${runs.map((r) => `${r.reportId} (${r.scenario}, ${r.startedAt.slice(0, 16).replace('T', ' ')})`).join(', ')}`,
    '| scenario | configuration | server | expected peak | connections counted (held; requests served) | observed anon peak | error |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${shortId(r.config)} | ${r.instance} | ${formatBytes(r.expectedBytes)} | ${r.busyConnections}${r.observedConnections !== undefined ? ` (${r.observedConnections})` : ''}${r.requestsServed !== undefined ? `; ${r.requestsServed} requests` : ''} | ${formatBytes(r.observedBytes)} | ${r.errorPercent > 0 ? '+' : ''}${r.errorPercent.toFixed(1)} %${Math.abs(r.errorPercent) > 25 ? ' **outside ±25 %**' : ''} |`,
    ),
    `${within} of ${rows.length} survived servers within ±25 %`,
  ];
  const repeated = runs.flatMap((run) => (run.repeats ?? []).map((r) => ({ scenario: run.scenario, ...r })));
  if (repeated.length > 0) {
    lines.push('', 'Repeats: each run of a configuration (verdict, outcome, peak anon)');
    for (const r of repeated)
      lines.push(
        `${r.scenario} ${shortId(r.config)}: ${r.verdict} (${r.runs.map((run) => `${run.verdict} ${run.outcome ?? '-'} ${run.peakAnonBytes !== undefined ? formatBytes(run.peakAnonBytes) : '-'}`).join('; ')})`,
      );
  }
  if (killed.length > 0) {
    lines.push(
      '',
      'Killed servers: the expected peak against the limit the kill came from',
      '| scenario | configuration | server | outcome | expected peak | limit | expected above the limit |',
      '|---|---|---|---|---|---|---|',
      ...killed.map(
        (k) =>
          `| ${k.scenario} | ${shortId(k.config)} | ${k.instance} | ${k.outcome} | ${formatBytes(k.expectedBytes)} | ${formatBytes(k.limitBytes)} | ${k.expectedBytes > k.limitBytes ? 'yes' : '**no**'} |`,
      ),
      `${killed.filter((k) => k.expectedBytes > k.limitBytes).length} of ${killed.length} killed servers expected above their limit`,
    );
  }
  return lines.join('\n');
}

/**
 * The kept runs with these added: a server measured again replaces its older observation (a run with none left
 * is dropped), and the runs stay in `order`'s scenario order, oldest first within a scenario.
 */
export function keep(kept: ObservedRun[], added: ObservedRun[], order: string[]): ObservedRun[] {
  const key = (scenario: string, s: { config: string; instance?: string }) => `${scenario}\n${s.config}\n${s.instance ?? ''}`;
  const replaced = new Set(added.flatMap((run) => run.servers.map((s) => key(run.scenario, s))));
  const reconfigured = new Set(added.flatMap((run) => run.servers.map((s) => key(run.scenario, { config: s.config }))));
  const older = kept
    .map(({ repeats: keptRepeats, ...run }) => {
      const repeats = (keptRepeats ?? []).filter((r) => !reconfigured.has(key(run.scenario, r)));
      return { ...run, servers: run.servers.filter((s) => !replaced.has(key(run.scenario, s))), ...(repeats.length > 0 ? { repeats } : {}) };
    })
    .filter((run) => run.servers.length > 0);
  const rank = (scenario: string) => (order.includes(scenario) ? order.indexOf(scenario) : order.length);
  return [...older, ...added].sort((a, b) => rank(a.scenario) - rank(b.scenario) || a.startedAt.localeCompare(b.startedAt));
}

export async function readObserved(path = OBSERVED_FILE): Promise<ObservedRun[]> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as ObservedFile).runs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Indented, a field a line, so a re-measured run shows in the diff as its own lines. */
export async function writeObserved(runs: ObservedRun[], path = OBSERVED_FILE): Promise<void> {
  const file: ObservedFile = { about: ABOUT, runs };
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
}
