// The memory model's expected peak against the anonymous peak a real run observed, for every server that
// survived in the scenarios the model must rank (issue 22: within ±25 %). It runs them with the engine (or reads
// the reports given with --from), recomputes each prediction with the model as it is now, and prints the table
// docs/memory-model.md keeps. --record keeps what the runs observed in bench/memory-model-observed.json;
// --recorded re-tables everything kept there, without the engine or the reports.
// Usage: heavy npm run bench:memory-model [-- --scenario burst-oom ...] [--repeat 3] [--record]
//        npm run bench:memory-model -- --from reports/<dir> ... [--record]
//        npm run bench:memory-model -- --recorded
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunReport as Report } from '../src/0-model/report.ts';
import { readReportFile } from '../src/7-report/index.ts';
import { runScenario } from '../src/8-run/index.ts';
import { keep, OBSERVED_FILE, observe, readObserved, render, SURVIVORS, writeObserved } from './memory-model-table.ts';

const { values } = parseArgs({
  options: { scenario: { type: 'string', multiple: true }, repeat: { type: 'string' }, from: { type: 'string', multiple: true }, record: { type: 'boolean' }, recorded: { type: 'boolean' } },
});

const reports: Report[] = [];
if (values.recorded) {
  // The kept observations alone: no engine, no reports.
} else if (values.from) {
  for (const path of values.from) reports.push((await readReportFile(path)).report);
} else {
  console.error('bench:memory-model runs scenarios with the Docker engine: run it under the shared lock (flock /tmp/oomlab-heavy.lock npm run bench:memory-model)');
  const names = values.scenario ?? Object.keys(SURVIVORS);
  // SIGINT ends the run the way the CLI's does: its containers are removed before the bench exits.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('SIGINT')));
  for (const name of names) {
    const only = SURVIVORS[name];
    console.error(`· ${name}${only ? ` --only ${only.join(' ')}` : ''}`);
    const { report, reportDir } = await runScenario({
      scenarioPath: `scenarios/${name}.ts`,
      ...(only ? { only } : {}),
      ...(values.repeat ? { repeat: Number(values.repeat) } : {}),
      pull: false,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.kind === 'config-end')
          console.error(`  ${p.result.verdict} ${p.result.outcome ?? ''} ${p.result.id}${p.result.repeats ? ` (repeats: ${p.result.repeats.map((r) => r.verdict).join(', ')})` : ''}`);
      },
    });
    console.error(`  report: ${reportDir}`);
    reports.push(report);
  }
}
const cpus = availableParallelism();
const observed = await Promise.all(reports.map((report) => observe(report, cpus)));
if (values.record) {
  await writeObserved(keep(await readObserved(), observed, Object.keys(SURVIVORS)));
  console.error(`recorded in ${relative(process.cwd(), OBSERVED_FILE)}: ${observed.map((run) => `${run.scenario} ${run.reportId}`).join(', ')}`);
}
console.log(await render(values.recorded ? await readObserved() : observed, new Date().toISOString().slice(0, 10)));
