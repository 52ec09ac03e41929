// `oomlab run`: every configuration of one or more scenarios, with progress on stderr.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError } from '../../0-model/errors.ts';
import { signalOnInterrupt } from './interrupt.ts';
import { phasePrinter } from './phase-line.ts';
import { formatBytes } from '../../0-model/units.ts';
import { caveatsOf, caveatText } from '../../0-model/load-caveats.ts';
import { parseJobs, runScenario, type Progress } from '../../8-run/index.ts';
import { parseShard } from '../../2-plan/index.ts';
import { renderJson } from '../../7-report/index.ts';
import { exitCodeOf, printSummary } from './summary.ts';
import { dockerRuntime, labRuntime, type Runtime } from '../../3-runtime/index.ts';

const shownReasons = new Set<string>();
// In a CI log the storm's live figures every fifth second.
const phases = phasePrinter(5);
// With configurations side by side, each is one line as it finishes (its phases would interleave).
let sideBySide = false;

/** `#3/6`: the configuration's number as the report numbers it (#3 in report.md and report.html), of how many. */
export function numberTag(progress: { number: number; total: number }): string {
  return `#${progress.number}/${progress.total}`;
}

function printProgress(progress: Progress): void {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  switch (progress.kind) {
    case 'message':
      write(`· ${progress.text}`);
      break;
    case 'schedule':
      sideBySide = progress.jobs.jobs > 1;
      write(
        `· ${sideBySide ? `up to ${progress.jobs.jobs} configurations at once` : 'one configuration at a time'} (${progress.jobs.source === 'option' ? '--jobs' : 'default'}): ${progress.jobs.why}`,
      );
      break;
    case 'config-start':
      if (sideBySide) break;
      phases.start();
      write(`[${numberTag(progress)}] ${progress.id}`);
      break;
    case 'phase':
      if (!sideBySide) phases.phase(progress.phase);
      break;
    case 'repeat-end': {
      const r = progress.result;
      const margins = (r.margins ?? []).map((m) => m.line).join('; ');
      write(
        `    ${sideBySide ? `${r.id} ` : ''}repeat ${progress.repeat}/${progress.of} → ${r.verdict.toUpperCase()}${r.outcome ? ` ${r.outcome}` : ''}${margins ? ` (${margins})` : ''}${r.verdict === 'pass' ? '' : ` — ${r.reason}`}`,
      );
      break;
    }
    case 'config-end': {
      const r = progress.result;
      const figures = [
        r.metrics.openFilesLimit !== undefined ? `open_files_limit=${r.metrics.openFilesLimit}` : '',
        r.metrics.peakMemoryBytes !== undefined ? `peak ${formatBytes(r.metrics.peakMemoryBytes)}${r.metrics.peakUsageBytes !== undefined ? ' anon' : ''}` : '',
        r.metrics.expectedPeakBytes !== undefined ? `expected ${formatBytes(r.metrics.expectedPeakBytes)} by the memory model` : '',
        r.metrics.predictedPeakBytes !== undefined ? `predicted worst case ${formatBytes(r.metrics.predictedPeakBytes)}` : '',
        r.metrics.connectionRatio !== undefined ? `B:A ${r.metrics.connectionRatio}` : '',
        r.durationMs > 0 ? `${(r.durationMs / 1000).toFixed(1)}s` : '',
      ]
        .filter(Boolean)
        .join(', ');
      // A reason shared by many configurations (a missing image) is printed in full once.
      const reason = r.verdict === 'pass' ? '' : shownReasons.has(r.reason) ? ' — same reason as above' : ` — ${r.reason}`;
      shownReasons.add(r.reason);
      const unserved = caveatsOf(r);
      const verdict = `→ ${r.verdict.toUpperCase()}${r.outcome ? ` ${r.outcome}` : ''}${figures ? ` (${figures})` : ''}${reason}${unserved.length > 0 ? ` — but not a clean pass: ${caveatText(unserved)}` : ''}`;
      if (!sideBySide) write(`    ${verdict}`);
      else write(`[${numberTag(progress)}${progress.finished !== undefined ? `, ${progress.finished} done` : ''}]${r.concurrency ? ` slot ${r.concurrency.slots[0]}` : ''} ${r.id} ${verdict}`);
      break;
    }
    case 'report':
      write(`report: ${progress.dir}/report.md`);
      break;
  }
}

/** `--repeat K`: a whole number from 1 up. */
export function parseRepeat(value: string): number {
  const k = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(k) || k < 1) throw new UsageError(`--repeat takes a whole number of runs per configuration from 1 up, got \`${value}\` — e.g. --repeat 5`);
  return k;
}

export const RUN_OPTIONS = {
  only: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  'reports-dir': { type: 'string' },
  pull: { type: 'boolean' },
  json: { type: 'boolean' },
  baseline: { type: 'string' },
  shard: { type: 'string' },
  repeat: { type: 'string' },
  jobs: { type: 'string' },
  host: { type: 'string' },
} satisfies ParseArgsOptionsConfig;

/** `--host lab`, `lab:SHAPE`, `lab,memory=2g`, `lab:SHAPE,memory=2g`. */
export const isLabHost = (host: string) => /^lab([:,]|$)/.test(host);

/** `--host docker` (this host's engine, the default) or `--host lab[:SHAPE][,memory=SIZE][,room=SIZE]` (a lab VM of that shape). */
export function runtimeOfHost(host: string | undefined): Runtime {
  if (host === undefined || host === 'docker') return dockerRuntime;
  if (isLabHost(host)) return labRuntime(host);
  throw new UsageError(`--host takes docker, lab or lab:SHAPE[,memory=SIZE], got \`${host}\` — e.g. --host lab:nofile or --host lab:default,memory=2g`);
}

export async function commandRun(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: RUN_OPTIONS });
  const shard = values.shard !== undefined ? parseShard(values.shard) : undefined;
  const repeat = values.repeat === undefined ? 1 : parseRepeat(values.repeat);
  const jobs = values.jobs === undefined ? undefined : parseJobs(values.jobs);
  const runtime = runtimeOfHost(values.host);
  if (positionals.length === 0) throw new UsageError('oomlab run needs a scenario file, e.g. `oomlab run scenarios/nofile-oom.ts`');
  if (values.baseline && positionals.length > 1) throw new UsageError('--baseline compares one scenario: give one scenario file with it');
  const signal = signalOnInterrupt();
  let worst = 0;
  for (const scenarioPath of positionals) {
    const { report } = await runScenario({
      scenarioPath,
      ...(values.only ? { only: values.only } : {}),
      ...(values.set ? { set: values.set } : {}),
      ...(values['reports-dir'] ? { reportsDir: values['reports-dir'] } : {}),
      pull: values.pull ?? false,
      ...(values.baseline ? { baseline: values.baseline } : {}),
      ...(shard ? { shard } : {}),
      ...(repeat > 1 ? { repeat } : {}),
      ...(jobs !== undefined ? { jobs } : {}),
      // Only a --host given says anything against a scenario's own hosts.
      ...(values.host !== undefined ? { runtime } : {}),
      // A scenario's own host(config).runtime wins over --host for its configurations (the run says so in one line).
      runtimeOf: runtimeOfHost,
      signal: signal,
      ...(values.json ? {} : { onProgress: printProgress }),
    });
    // The report.json it writes, schema version 2, not the in-memory report (samples among the observations).
    if (values.json) process.stdout.write(renderJson(report));
    else printSummary(report);
    const code = exitCodeOf(report);
    worst = code === 130 || worst === 130 ? 130 : Math.max(worst, code);
    if (signal.aborted) break;
  }
  return worst;
}
