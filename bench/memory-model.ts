// The memory model's expected peak against the anonymous peak a real run observed, for every server that
// survived in the scenarios the model must rank (issue 22: within ±25 %). It runs them with the engine (or reads
// the reports given with --from), recomputes each prediction with the model as it is now, and prints the table
// docs/memory-model.md keeps.
// Usage: heavy npm run bench:memory-model [-- --scenario burst-oom ...] [-- --repeat 3] [-- --from reports/<dir> ...] [--markdown]
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/0-model/units.ts';
import type { RunReport as Report } from '../src/0-model/report.ts';
import { loadScenario } from '../src/1-scenario/index.ts';
import { planRun, predictConfigInstance } from '../src/2-plan/index.ts';
import { readReportFile } from '../src/7-report/index.ts';
import { runScenario } from '../src/8-run/index.ts';

/** The scenarios and the configurations of each that survive (the rest are killed, and a kill has no peak to predict). */
const SURVIVORS: Record<string, string[] | undefined> = {
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

const { values } = parseArgs({ options: { scenario: { type: 'string', multiple: true }, repeat: { type: 'string' }, from: { type: 'string', multiple: true }, markdown: { type: 'boolean' } } });

export interface Row {
  scenario: string;
  config: string;
  instance: string;
  expectedBytes: number;
  busyConnections: number;
  observedBytes: number;
  observedConnections?: number;
  /** Requests the app tier sent this replica: a `fastest` balancer decides the split during the run. */
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
const killed: Killed[] = [];

/** Every survived server of a report: the model's expected peak now, and the anon peak its cgroup reached. */
export async function rowsOf(report: Report): Promise<Row[]> {
  const scenario = await loadScenario(resolve(report.scenarioFile));
  const planned = planRun(scenario, {}, undefined, { numaNodes: 2 });
  const host = { defaultNofile: report.host.nofileHardLimit, cpus: availableParallelism() };
  const rows: Row[] = [];
  for (const config of report.configs) {
    const plan = planned.find((p) => p.id === config.id);
    if (!plan || config.verdict === 'error' || config.verdict === 'skipped') continue;
    for (const judgement of config.instances) {
      // A neighbour (a memory hog beside the server) is not a server: the model predicts servers only.
      if (plan.instances.find((i) => i.name === judgement.instance)?.role === 'neighbour') continue;
      if (judgement.outcome?.startsWith('oom-killed')) {
        const spec = plan.instances.find((i) => i.name === judgement.instance);
        const prediction = spec ? predictConfigInstance(plan, spec, host) : undefined;
        // A `limit` step lowers the limit under the live server: the kill came from the last one.
        const lowered = (plan.steps ?? [])
          .flatMap((step) => (step.action.action === 'limit' && step.action.instance === judgement.instance && step.action.memory !== undefined ? [step.action.memory] : []))
          .at(-1);
        const limitBytes = lowered ?? prediction?.limitBytes;
        if (prediction?.expected && limitBytes !== undefined) {
          killed.push({
            scenario: report.scenario,
            config: config.id,
            instance: judgement.instance,
            expectedBytes: prediction.expected.bytes,
            limitBytes,
            outcome: judgement.outcome,
          });
        }
      }
      if (judgement.outcome !== 'survived') continue;
      const spec = plan.instances.find((i) => i.name === judgement.instance);
      if (!spec) continue;
      const expected = predictConfigInstance(plan, spec, host).expected;
      const samples = (metric: string, source: string) =>
        config.observations.flatMap((o) => (o.kind === 'sample' && o.instance === judgement.instance && o.source === source && o.metric === metric ? [o.value] : []));
      const anon = samples('memoryRssBytes', 'cgroup');
      if (!expected || anon.length === 0) continue;
      const observedBytes = Math.max(...anon);
      const connections = samples('Threads_connected', 'status');
      const requests = samples('requests', 'app-tier');
      rows.push({
        scenario: report.scenario,
        config: config.id,
        instance: judgement.instance,
        expectedBytes: expected.bytes,
        busyConnections: expected.busyConnections,
        observedBytes,
        ...(connections.length > 0 ? { observedConnections: Math.max(...connections) } : {}),
        ...(requests.length > 0 ? { requestsServed: Math.max(...requests) } : {}),
        errorPercent: Math.round(((expected.bytes - observedBytes) / observedBytes) * 1000) / 10,
      });
    }
  }
  return rows;
}

/** The axes that tell a scenario's configurations apart (the image is in the scenario row). */
function shortId(id: string): string {
  return id
    .split(',')
    .filter((pair) => !pair.startsWith('image='))
    .join(' ');
}

function table(rows: Row[]): string {
  const lines = [
    '| scenario | configuration | server | expected peak | connections counted (held; requests served) | observed anon peak | error |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${shortId(r.config)} | ${r.instance} | ${formatBytes(r.expectedBytes)} | ${r.busyConnections}${r.observedConnections !== undefined ? ` (${r.observedConnections})` : ''}${r.requestsServed !== undefined ? `; ${r.requestsServed} requests` : ''} | ${formatBytes(r.observedBytes)} | ${r.errorPercent > 0 ? '+' : ''}${r.errorPercent.toFixed(1)} %${Math.abs(r.errorPercent) > 25 ? ' **outside ±25 %**' : ''} |`,
    ),
  ];
  return lines.join('\n');
}

const reports: Report[] = [];
if (values.from) {
  for (const path of values.from) reports.push((await readReportFile(path)).report);
} else {
  console.error('bench:memory-model runs scenarios with the Docker engine: run it under the shared lock (flock /tmp/oomlab-heavy.lock npm run bench:memory-model)');
  const names = values.scenario ?? Object.keys(SURVIVORS);
  for (const name of names) {
    const only = SURVIVORS[name];
    console.error(`· ${name}${only ? ` --only ${only.join(' ')}` : ''}`);
    const { report, reportDir } = await runScenario({
      scenarioPath: `scenarios/${name}.ts`,
      ...(only ? { only } : {}),
      ...(values.repeat ? { repeat: Number(values.repeat) } : {}),
      pull: false,
      signal: new AbortController().signal,
      onProgress: (p) => {
        if (p.kind === 'config-end')
          console.error(`  ${p.result.verdict} ${p.result.outcome ?? ''} ${p.result.id}${p.result.repeats ? ` (repeats: ${p.result.repeats.map((r) => r.verdict).join(', ')})` : ''}`);
      },
    });
    console.error(`  report: ${reportDir}`);
    reports.push(report);
  }
}
const rows = (await Promise.all(reports.map(rowsOf))).flat();
const within = rows.filter((r) => Math.abs(r.errorPercent) <= 25).length;
console.log(`memory model: expected peak against the observed anonymous peak (cgroup rss), ${new Date().toISOString().slice(0, 10)}; reports: ${reports.map((r) => basename(r.runId)).join(', ')}`);
console.log(table(rows));
console.log(`${within} of ${rows.length} survived servers within ±25 %`);
// With --repeat: every run of each configuration, so a verdict that differs between runs shows.
const repeated = reports.flatMap((report) => report.configs.filter((c) => (c.repeats?.length ?? 0) > 1).map((c) => ({ scenario: report.scenario, config: c })));
if (repeated.length > 0) {
  console.log('\nRepeats: each run of a configuration (verdict, outcome, peak anon)');
  for (const { scenario, config } of repeated) {
    const runs = config.repeats!.map((r) => `${r.verdict} ${r.outcome ?? '-'} ${r.figures.peakRssBytes !== undefined ? formatBytes(r.figures.peakRssBytes) : '-'}`);
    console.log(`${scenario} ${shortId(config.id)}: ${config.verdict} (${runs.join('; ')})`);
  }
}
if (killed.length > 0) {
  console.log('\nKilled servers: the expected peak against the limit the kill came from');
  console.log('| scenario | configuration | server | outcome | expected peak | limit | expected above the limit |');
  console.log('|---|---|---|---|---|---|---|');
  for (const k of killed) {
    console.log(
      `| ${k.scenario} | ${shortId(k.config)} | ${k.instance} | ${k.outcome} | ${formatBytes(k.expectedBytes)} | ${formatBytes(k.limitBytes)} | ${k.expectedBytes > k.limitBytes ? 'yes' : '**no**'} |`,
    );
  }
  console.log(`${killed.filter((k) => k.expectedBytes > k.limitBytes).length} of ${killed.length} killed servers expected above their limit`);
}
