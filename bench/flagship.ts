// Where the flagship's time goes, in one run: the whole matrix warm, one configuration at a time and with
// --jobs 2, 4 and the default, each configuration's phases (start, ready, settle, collect, remove) from the
// run's own progress, the lower bound (the set-up and wrap-up plus one configuration's own time), and
// whether every run gave the serial run's verdicts. Run it alone, under the shared lock: it is a timing.
// Usage: node --import tsx bench/flagship.ts [--scenario scenarios/nofile-oom.ts] [--jobs 2,4]
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runScenario, type Progress, type RunReport } from '../src/8-run/index.ts';

const { values } = parseArgs({ options: { scenario: { type: 'string' }, jobs: { type: 'string' } } });
const SCENARIO = values.scenario ?? 'scenarios/nofile-oom.ts';
const JOBS = (values.jobs ?? '2,4').split(',').map(Number);
const PHASES = ['start', 'ready', 'settle', 'collect', 'remove'] as const;
type Phase = (typeof PHASES)[number];

/** The run loop's phase names (src/8-run/run-config.ts) as the issue names them. */
function phaseOf(name: string): Phase | 'other' {
  if (name === 'starting') return 'start';
  if (name === 'waiting for ready') return 'ready';
  if (name.startsWith('settling')) return 'settle';
  if (name === 'collecting') return 'collect';
  if (name === 'removing containers') return 'remove';
  return 'other';
}

interface Timed {
  label: string;
  report: RunReport;
  wallMs: number;
  /** From the call to the first runnable configuration's start: engine, images, tracer. */
  setUpMs: number;
  /** From the last configuration's end to the report written. */
  wrapUpMs: number;
  /** Per runnable configuration: ms in each phase. */
  phases: Record<Phase, number>[];
}

async function timedRun(label: string, jobs: number | undefined, only?: string[]): Promise<Timed> {
  const reportsDir = await mkdtemp(join(tmpdir(), 'oomlab-bench-flagship-'));
  const started = performance.now();
  let firstStart: number | undefined;
  let lastEnd = started;
  const marks = new Map<number, { phase: Phase | 'other'; at: number }[]>();
  const phases: Record<Phase, number>[] = [];
  const onProgress = (p: Progress) => {
    const now = performance.now();
    if (p.kind === 'phase') {
      firstStart ??= now;
      const list = marks.get(p.index) ?? [];
      list.push({ phase: phaseOf(p.phase), at: now });
      marks.set(p.index, list);
    }
    if (p.kind === 'config-end' && p.result.verdict !== 'skipped') {
      lastEnd = now;
      const list = marks.get(p.index) ?? [];
      const spent = Object.fromEntries(PHASES.map((name) => [name, 0])) as Record<Phase, number>;
      list.forEach((mark, i) => {
        if (mark.phase !== 'other') spent[mark.phase] += (list[i + 1]?.at ?? now) - mark.at;
      });
      phases.push(spent);
    }
  };
  try {
    const { report } = await runScenario({ scenarioPath: SCENARIO, reportsDir, signal: interrupted, onProgress, ...(jobs !== undefined ? { jobs } : {}), ...(only ? { only } : {}) });
    const wallMs = performance.now() - started;
    return { label, report, wallMs, setUpMs: (firstStart ?? started) - started, wrapUpMs: performance.now() - lastEnd, phases };
  } finally {
    await rm(reportsDir, { recursive: true, force: true });
  }
}

const interrupted = (() => {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('SIGINT')));
  return controller.signal;
})();
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};
const verdicts = (report: RunReport) => new Map(report.configs.map((c) => [c.id, `${c.verdict} ${c.outcome ?? '-'}`]));

// Warm: the engine answering, the image built, bpftrace's first start paid, before anything is timed.
console.error('· warm-up: one configuration');
await timedRun('warm-up', 1, ['nofile=default', 'fix=none', 'open_files_limit=auto']);
const runs: Timed[] = [];
for (const [label, jobs] of [['serial (--jobs 1)', 1], ...JOBS.map((j) => [`--jobs ${j}`, j] as const), ['default', undefined]] as const) {
  console.error(`· ${label}`);
  runs.push(await timedRun(label, jobs));
}

const serial = runs[0]!;
const reference = verdicts(serial.report);
const runnable = serial.report.configs.filter((c) => c.verdict !== 'skipped');
const longest = Math.max(...serial.phases.map((p) => PHASES.reduce((sum, name) => sum + p[name], 0)));
const lowerBound = serial.setUpMs + longest + serial.wrapUpMs;
const differences = (run: Timed) => [...verdicts(run.report)].filter(([id, v]) => reference.get(id) !== v).map(([id, v]) => `${id}: ${reference.get(id)} serial, ${v} here`);

console.log(`${SCENARIO}, warm, ${runnable.length} runnable of ${serial.report.configs.length} configurations, ${availableParallelism()} cores`);
console.log('run                       wall     set-up   configurations  wrap-up   most at once  verdicts vs serial');
for (const run of runs) {
  const most = Math.max(1, ...run.report.configs.map((c) => c.concurrency?.runningAtMost ?? 1));
  const diff = differences(run);
  const label = run.label === 'default' ? `default (--jobs ${run.report.jobs?.jobs})` : run.label;
  console.log(
    `${label.padEnd(25)} ${s(run.wallMs).padStart(7)}  ${s(run.setUpMs).padStart(7)}  ${s(run.wallMs - run.setUpMs - run.wrapUpMs).padStart(14)}  ${s(run.wrapUpMs).padStart(7)}  ${String(most).padStart(12)}  ${run === serial ? '(reference)' : diff.length === 0 ? 'identical' : `DIFFER: ${diff.join('; ')}`}`,
  );
}
console.log(`${'lower bound'.padEnd(25)} ${s(lowerBound).padStart(7)}  = set-up ${s(serial.setUpMs)} + the longest configuration ${s(longest)} + wrap-up ${s(serial.wrapUpMs)} (serial run's figures)`);
// With J at once the configurations still take ceil(N / J) turns: the bound a run with that many jobs can reach.
for (const jobs of [...JOBS, runs.at(-1)!.report.jobs?.jobs ?? 1].filter((j, i, all) => all.indexOf(j) === i)) {
  const turns = Math.ceil(runnable.length / jobs);
  console.log(`${`bound at --jobs ${jobs}`.padEnd(25)} ${s(serial.setUpMs + turns * longest + serial.wrapUpMs).padStart(7)}  = set-up + ${turns} turns of the longest configuration + wrap-up`);
}
console.log(`default --jobs: ${runs.at(-1)!.report.jobs?.why}`);
for (const run of [serial, runs.find((r) => r.label === `--jobs ${Math.max(...JOBS)}`)!]) {
  const cells = PHASES.map((name) => {
    const xs = run.phases.map((p) => p[name]);
    return `${name} ${s(median(xs))} [${s(Math.min(...xs))}–${s(Math.max(...xs))}]`;
  });
  const total = median(run.phases.map((p) => PHASES.reduce((sum, name) => sum + p[name], 0)));
  console.log(`one configuration's phases, ${run.label} (median [min–max] of ${run.phases.length}): ${cells.join(', ')}; in all ${s(total)}`);
}
const allIdentical = runs.every((run) => differences(run).length === 0);
console.log(`verdicts: ${allIdentical ? `identical in all ${runs.length} runs` : 'NOT identical (above)'}`);
const fallback = runs.at(-1)!;
console.log(`target: the default --jobs at most 35 s warm: ${fallback.wallMs <= 35_000 ? 'met' : 'NOT met'} (${s(fallback.wallMs)}; serial ${s(serial.wallMs)})`);
process.exitCode = allIdentical ? 0 : 1;
