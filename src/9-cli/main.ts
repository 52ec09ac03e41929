import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { CancelledError, describeError, OomlabError, UsageError } from '../0-model/errors.ts';
import { formatBytes } from '../6-judge/index.ts';
import { planRun } from '../2-plan/index.ts';
import { runScenario, type Progress, type RunReport } from '../8-run/index.ts';
import { cleanLeftovers, connectEngine, removeAbandonedBuilds, leftoverSideCgroups, removeSideCgroup, restoreAbandonedHostSettings } from '../3-runtime/index.ts';
import { compareWithBaseline, readReportFile, REPORTERS, writeReports, type ReporterName } from '../7-report/index.ts';
import { formatDoctor, runDoctor } from './doctor.ts';
import { onPath } from '../4-observe/index.ts';
import { loadScenario } from '../1-scenario/index.ts';

const USAGE = `usage: oomlab <command>

  run <scenario.ts...> [--only axis=value] [--set axis=value] [--reports-dir dir]
                      [--baseline report.json] [--pull] [--json]
      run every configuration of a scenario and write reports/<time>-<scenario>/
  report <run-dir> [--baseline report.json]
      re-render report.md, report.html and junit.xml from the run's report.json
  doctor                     what this host can run, and why not
  list [scenario.ts...]      the scenarios, their incidents and axes
  clean [--all]              remove containers left by runs that are no longer alive,
                             and restore host settings (THP) they changed; exits 0 once
                             all it could remove is gone: a container the engine cannot
                             remove is reported as \`stuck:\` with what to do by hand

exit codes: 0 every configuration ran as expected, 1 an expectation failed or a
            configuration regressed against --baseline, 2 the harness or the host
            failed (or bad input), 130 interrupted`;

const shownReasons = new Set<string>();
let configStartedAt = Date.now();
let lastPhaseLine = '';

function printProgress(progress: Progress): void {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  switch (progress.kind) {
    case 'message':
      write(`· ${progress.text}`);
      break;
    case 'config-start':
      configStartedAt = Date.now();
      write(`[${progress.index + 1}/${progress.total}] ${progress.id}`);
      break;
    case 'phase': {
      const elapsed = `${((Date.now() - configStartedAt) / 1000).toFixed(0)}s`;
      if (process.stderr.isTTY) {
        process.stderr.write(`    ${elapsed} ${progress.phase}…\x1b[K\r`);
        break;
      }
      // In a CI log: each phase once, and the storm's live figures every fifth second.
      const storm = /^storm (\d+)s/.exec(progress.phase);
      const key = storm ? (Number(storm[1]) % 5 === 0 ? progress.phase : lastPhaseLine) : progress.phase;
      if (key !== lastPhaseLine) write(`    ${elapsed} ${progress.phase}`);
      lastPhaseLine = key;
      break;
    }
    case 'config-end': {
      const r = progress.result;
      const figures = [
        r.metrics.openFilesLimit !== undefined ? `open_files_limit=${r.metrics.openFilesLimit}` : '',
        r.metrics.peakMemoryBytes !== undefined ? `peak ${formatBytes(r.metrics.peakMemoryBytes)}` : '',
        r.metrics.predictedPeakBytes !== undefined ? `predicted worst case ${formatBytes(r.metrics.predictedPeakBytes)}` : '',
        r.metrics.connectionRatio !== undefined ? `B:A ${r.metrics.connectionRatio}` : '',
        r.durationMs > 0 ? `${(r.durationMs / 1000).toFixed(1)}s` : '',
      ].filter(Boolean).join(', ');
      // A reason shared by many configurations (a missing image) is printed in full once.
      const reason = r.verdict === 'pass' ? '' : shownReasons.has(r.reason) ? ' — same reason as above' : ` — ${r.reason}`;
      shownReasons.add(r.reason);
      write(`    → ${r.verdict.toUpperCase()}${r.outcome ? ` ${r.outcome}` : ''}${figures ? ` (${figures})` : ''}${reason}`);
      break;
    }
    case 'report':
      write(`report: ${progress.dir}/report.md`);
      break;
  }
}

function exitCodeOf(report: RunReport): number {
  if (report.endedBy === 'cancel') return 130;
  if (report.endedBy === 'error' || report.summary.error > 0) return 2;
  if (report.summary.fail > 0 || (report.baseline?.regressions.length ?? 0) > 0) return 1;
  return 0;
}

function printSummary(report: RunReport, dir?: string): void {
  const s = report.summary;
  const regressions = report.baseline ? `, ${report.baseline.regressions.length} regressed against ${report.baseline.baselineRunId}` : '';
  process.stderr.write(`${report.scenario}: ${s.pass} pass, ${s.fail} fail, ${s.skipped} skipped, ${s.error} error${regressions}${report.error ? ` — ${report.error}` : ''}\n`);
  for (const r of report.baseline?.regressions ?? []) process.stderr.write(`  regressed: ${r.configId}: ${r.what} ${r.before} → ${r.after}\n`);
  if (dir) process.stderr.write(`report: ${dir}/report.html\n`);
}

async function commandRun(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      only: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      'reports-dir': { type: 'string' },
      pull: { type: 'boolean' },
      json: { type: 'boolean' },
      baseline: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('oomlab run needs a scenario file, e.g. `oomlab run scenarios/nofile-oom.ts`');
  if (values.baseline && positionals.length > 1) throw new UsageError('--baseline compares one scenario: give one scenario file with it');
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\n${signal}: stopping, removing this run's containers (again to quit at once)\n`);
      controller.abort(new CancelledError(`${signal} received`));
    } else {
      process.stderr.write(`${signal} again: quitting now; \`oomlab clean\` removes what is left\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let worst = 0;
  for (const scenarioPath of positionals) {
    const { report } = await runScenario({
      scenarioPath,
      ...(values.only ? { only: values.only } : {}),
      ...(values.set ? { set: values.set } : {}),
      ...(values['reports-dir'] ? { reportsDir: values['reports-dir'] } : {}),
      pull: values.pull ?? false,
      ...(values.baseline ? { baseline: values.baseline } : {}),
      signal: controller.signal,
      ...(values.json ? {} : { onProgress: printProgress }),
    });
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else printSummary(report);
    const code = exitCodeOf(report);
    worst = code === 130 || worst === 130 ? 130 : Math.max(worst, code);
    if (controller.signal.aborted) break;
  }
  return worst;
}

async function commandReport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { baseline: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('oomlab report needs one run folder, e.g. `oomlab report reports/2026-11-22T07-00-00Z-nofile-oom`');
  const { report, file } = await readReportFile(positionals[0]!);
  if (values.baseline) {
    const baseline = await readReportFile(values.baseline);
    if (baseline.report.scenario !== report.scenario) throw new UsageError(`--baseline ${baseline.file} is a report of \`${baseline.report.scenario}\`, not \`${report.scenario}\``);
    report.baseline = compareWithBaseline(report, baseline.report, baseline.file);
  }
  const dir = dirname(file);
  // report.json itself is rewritten only when a baseline adds to it; the other formats always.
  const written = await writeReports(report, dir, values.baseline ? undefined : (Object.keys(REPORTERS) as ReporterName[]).filter((n) => n !== 'json'));
  for (const path of written) process.stdout.write(`wrote ${path}\n`);
  printSummary(report);
  return exitCodeOf(report);
}

async function commandDoctor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const { checks } = await runDoctor();
  if (values.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else process.stdout.write(`${formatDoctor(checks)}\n`);
  return 0;
}

async function commandList(args: string[]): Promise<number> {
  const files = args.length > 0 ? args : (await readdir('scenarios')).filter((f) => f.endsWith('.ts')).map((f) => `scenarios/${f}`);
  for (const file of files) {
    const scenario = await loadScenario(file);
    const configs = planRun(scenario);
    process.stdout.write(`${file}  (${configs.length} configurations)\n  ${scenario.incident}\n`);
    for (const [axis, values] of Object.entries(scenario.matrix)) process.stdout.write(`    ${axis}: ${values.join(', ')}\n`);
  }
  return 0;
}

async function commandClean(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { all: { type: 'boolean' } } });
  for (const setting of await restoreAbandonedHostSettings({ all: values.all ?? false })) process.stdout.write(`restored ${setting.path} to ${setting.value}\n`);
  // A dockerd that is installed but stopped (a run's engine went away) is started, so its stopped containers can go;
  // clean never installs one.
  const engine = await connectEngine({ autoStart: await onPath('dockerd'), onProgress: (text) => process.stderr.write(`· ${text}\n`) });
  const result = await cleanLeftovers(engine, { all: values.all ?? false });
  for (const container of result.removed) {
    process.stdout.write(`removed ${container.name} (run ${container.runId})${container.released.length > 0 ? ` after: ${container.released.join('; ')}` : ''}\n`);
  }
  for (const tag of await removeAbandonedBuilds(engine)) process.stdout.write(`removed image ${tag} (an unchecked build whose builder died)\n`);
  const stuck = result.stuck.length > 0 ? `, ${result.stuck.length} stuck (the engine cannot remove them; see below)` : '';
  process.stdout.write(`${result.removed.length} container(s) removed${result.keptLive > 0 ? `, ${result.keptLive} kept (their run is still alive; --all removes them)` : ''}${stuck}\n`);
  // A side cgroup can only be removed once empty, so live runs' budgets stay (rmdir refuses them).
  for (const name of await leftoverSideCgroups()) {
    await removeSideCgroup(name).then(
      () => process.stdout.write(`removed side cgroup ${name}\n`),
      () => {},
    );
  }
  // Exit 0 even so: what could be removed was, and one container the engine cannot remove must not fail every later clean.
  for (const container of result.stuck) {
    // docker ps shows a container whose removal failed as "Removal In Progress"; inspect says dead.
    const state = container.state === 'dead' || container.state === 'removing' ? `${container.state}, "Removal In Progress" in docker ps` : container.state;
    process.stderr.write(`oomlab: stuck: ${container.name} (${container.id.slice(0, 12)}, ${state}, run ${container.runId}): ${container.reason}${container.released.length > 0 ? ` [tried: ${container.released.join('; ')}]` : ''} — by hand: ${container.byHand}\n`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return commandRun(rest);
    case 'list':
      return commandList(rest);
    case 'report':
      return commandReport(rest);
    case 'doctor':
      return commandDoctor(rest);
    case 'clean':
      return commandClean(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command \`${command}\`; commands: run, report, doctor, list, clean (oomlab --help)`);
  }
}

/** Exits once stdout and stderr have flushed: to a pipe they are asynchronous, and exiting at once cut `--json` at 64 KiB. */
function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (error: unknown) => {
    const name = error instanceof OomlabError ? error.name : 'Error';
    process.stderr.write(`oomlab: ${name}: ${describeError(error).split('\n')[0]}\n`);
    if (process.env.OOMLAB_DEBUG) console.error(error);
    exitAfterOutput(error instanceof CancelledError ? 130 : 2);
  },
);
