// `oomlab bisect`: each probe is a real run of one configuration with the axis set to one value (the
// `--set` and `--only` machinery of runScenario); the search decides which value comes next.
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { BISECT_SCHEMA_VERSION, type BisectProbe, type BisectReport, type ModelBoundary } from '../0-model/bisect-report.ts';
import type { Outcome } from '../0-model/config.ts';
import { describeError, OomlabError } from '../0-model/errors.ts';
import { loadScenario } from '../1-scenario/index.ts';
import { axisLabel, parseBisectArgs, type BisectArgs, type BisectRequest } from '../2-plan/bisect-input.ts';
import { modelBoundary } from '../2-plan/bisect-model.ts';
import { maxSearchProbes, searchBoundary, type ProbeRole, type SearchResult } from '../2-plan/bisect-search.ts';
import { readHostFacts } from '../4-observe/index.ts';
import { writeBisectReport } from '../7-report/bisect.ts';
import { runScenario } from './index.ts';
import { folderTimestamp } from '../0-model/folder-time.ts';

export interface BisectOptions extends BisectArgs {
  scenarioPath: string;
  /** The folder the bisect report goes to. @default reports/<time>-bisect-<scenario> */
  out?: string;
  /** A probe that has not finished after this long ends as `error` (timeout). @default 300_000 */
  configTimeoutMs?: number;
  /** Aborted by SIGINT/SIGTERM in the CLI: the probe under way ends, and what was found is written. */
  signal: AbortSignal;
  onProgress?: (progress: BisectProgress) => void;
}

export type BisectProgress =
  | { kind: 'message'; text: string }
  | { kind: 'model'; model: ModelBoundary; request: BisectRequest }
  | { kind: 'probe-start'; n: number; maxSearchProbes: number; value: number; label: string; role: ProbeRole }
  | { kind: 'phase'; n: number; phase: string }
  | { kind: 'probe-end'; n: number; probe: BisectProbe }
  | { kind: 'report'; dir: string };

/** Checks the arguments (exit 2, nothing written), evaluates the model, then probes until the boundary is found and repeated. */
export async function runBisect(options: BisectOptions): Promise<{ report: BisectReport; dir: string }> {
  const progress = options.onProgress ?? (() => {});
  const scenario = await loadScenario(options.scenarioPath);
  const request = parseBisectArgs(scenario, options);
  const host = await readHostFacts();
  const model = await modelBoundary(scenario, request, { defaultNofile: host.nofileHardLimit, cpus: availableParallelism() });
  progress({ kind: 'model', model, request });

  const startedAt = new Date();
  const dir = resolve(options.out ?? join('reports', `${folderTimestamp(startedAt)}-bisect-${scenario.name}`));
  const probes: BisectProbe[] = [];
  const shown = new Set<string>();
  let error: string | undefined;
  let search: SearchResult<BisectProbe> | undefined;
  const limit = maxSearchProbes(request.grid);

  const report = (): BisectReport => {
    const finishedAt = new Date();
    const status = search?.status ?? 'running';
    const b = search?.boundary;
    const label = (value: number) => axisLabel(request.kind, value);
    return {
      kind: 'bisect',
      schemaVersion: BISECT_SCHEMA_VERSION,
      scenario: scenario.name,
      scenarioFile: scenario.file ?? options.scenarioPath,
      axis: request.axis,
      axisKind: request.kind,
      range: request.grid,
      config: request.configLabel,
      repeatBoundary: request.repeat,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      status,
      ...(search?.sameOutcome ? { sameOutcome: search.sameOutcome } : {}),
      ...(b
        ? {
            boundary: {
              last: { value: b.last.value, label: label(b.last.value), outcome: b.last.outcome as Outcome },
              first: { value: b.first.value, label: label(b.first.value), outcome: b.first.outcome as Outcome },
              outcomes: { last: b.outcomes.last as Outcome[], first: b.outcomes.first as Outcome[] },
              flaky: b.flaky,
            },
          }
        : {}),
      searchProbes: probes.filter((p) => p.role !== 'repeat').length,
      maxSearchProbes: limit,
      probes: [...probes],
      model,
      ...(error ? { error } : {}),
    };
  };

  const probe = async (value: number, role: ProbeRole): Promise<{ outcome: string | null; result: BisectProbe }> => {
    const n = probes.length + 1;
    const label = axisLabel(request.kind, value);
    progress({ kind: 'probe-start', n, maxSearchProbes: limit, value, label, role });
    const probeDir = join(dir, 'probes', `${String(n).padStart(2, '0')}-${label}`);
    const startedMs = Date.now();
    let result: BisectProbe;
    try {
      const { report: run, reportDir } = await runScenario({
        scenarioPath: options.scenarioPath,
        set: [`${request.axis}=${label}`],
        only: request.only,
        reportsDir: probeDir,
        ...(options.configTimeoutMs !== undefined ? { configTimeoutMs: options.configTimeoutMs } : {}),
        signal: options.signal,
        onProgress: (p) => {
          if (p.kind === 'phase') progress({ kind: 'phase', n, phase: p.phase });
          // The same preflight lines come with every probe: each is printed once.
          if (p.kind === 'message' && !shown.has(p.text)) {
            shown.add(p.text);
            progress({ kind: 'message', text: p.text });
          }
        },
      });
      const config = run.configs[0];
      if (!config || run.configs.length !== 1) throw new OomlabError('USAGE', `probe ${n} planned ${run.configs.length} configurations, not one`);
      const m = config.metrics;
      result = {
        value,
        label,
        role,
        configId: config.id,
        outcome: config.outcome,
        verdict: config.verdict,
        reason: config.reason,
        ...(m.peakMemoryBytes !== undefined ? { peakMemoryBytes: m.peakMemoryBytes } : {}),
        ...(m.memoryLimitBytes !== undefined ? { memoryLimitBytes: m.memoryLimitBytes } : {}),
        ...(m.predictedPeakBytes !== undefined ? { predictedPeakBytes: m.predictedPeakBytes } : {}),
        ...(m.predictedLoadPeakBytes !== undefined ? { predictedLoadPeakBytes: m.predictedLoadPeakBytes } : {}),
        ...(m.peakConnections !== undefined ? { peakConnections: m.peakConnections } : {}),
        durationMs: config.durationMs,
        reportDir: relative(dir, reportDir),
      };
      if (run.error && config.outcome === null) error ??= run.error;
    } catch (thrown) {
      // Before any probe ran, a failure is bad input or a host that cannot run it: exit 2, nothing written.
      if (probes.length === 0 && !options.signal.aborted) throw thrown;
      error ??= describeError(thrown);
      result = { value, label, role, configId: '', outcome: null, verdict: 'error', reason: `not decided: ${describeError(thrown)}`, durationMs: Date.now() - startedMs };
    }
    probes.push(result);
    progress({ kind: 'probe-end', n, probe: result });
    // Written after every probe: an interrupted or killed bisect keeps what it found.
    await writeBisectReport(report(), dir);
    return { outcome: result.outcome, result };
  };

  /** The repeats at the boundary in one run: both values, each `--repeat K`, side by side where the scenario allows (schedule.ts). */
  const probeRepeats = async (values: number[]): Promise<{ outcome: string | null; result: BisectProbe }[]> => {
    const first = probes.length + 1;
    const labels = [...new Set(values)].map((value) => axisLabel(request.kind, value));
    const times = values.filter((v) => v === values[0]).length;
    values.forEach((value, k) => progress({ kind: 'probe-start', n: first + k, maxSearchProbes: limit, value, label: axisLabel(request.kind, value), role: 'repeat' }));
    const probeDir = join(dir, 'probes', `${String(first).padStart(2, '0')}-repeats-${labels.join('-')}`);
    const startedMs = Date.now();
    let answers: BisectProbe[];
    try {
      const { report: run, reportDir } = await runScenario({
        scenarioPath: options.scenarioPath,
        set: [`${request.axis}=${labels.join(',')}`],
        only: request.only,
        reportsDir: probeDir,
        ...(times > 1 ? { repeat: times } : {}),
        ...(options.configTimeoutMs !== undefined ? { configTimeoutMs: options.configTimeoutMs } : {}),
        signal: options.signal,
        onProgress: (p) => {
          if (p.kind === 'message' && !shown.has(p.text)) {
            shown.add(p.text);
            progress({ kind: 'message', text: p.text });
          }
        },
      });
      if (run.error) error ??= run.error;
      const seen = new Map<string, number>();
      answers = values.map((value) => {
        const label = axisLabel(request.kind, value);
        const k = seen.get(label) ?? 0;
        seen.set(label, k + 1);
        // One configuration per value, in the order --set gave them when the ids do not show the label as written.
        const config = run.configs.find((c) => c.id.split(',').includes(`${request.axis}=${label}`)) ?? (run.configs.length === labels.length ? run.configs[labels.indexOf(label)] : undefined);
        const once = config && (times > 1 ? config.repeats?.[k] : { ...config, figures: config.metrics });
        if (!config || !once) return { value, label, role: 'repeat', configId: config?.id ?? '', outcome: null, verdict: 'error', reason: `not decided: ${run.error ?? 'not run'}`, durationMs: 0 };
        const m = config.metrics;
        return {
          value,
          label,
          role: 'repeat',
          configId: config.id,
          outcome: once.outcome,
          verdict: once.verdict,
          reason: once.reason,
          ...(once.figures.peakMemoryBytes !== undefined ? { peakMemoryBytes: once.figures.peakMemoryBytes } : {}),
          ...(once.figures.memoryLimitBytes !== undefined ? { memoryLimitBytes: once.figures.memoryLimitBytes } : {}),
          ...(m.predictedPeakBytes !== undefined ? { predictedPeakBytes: m.predictedPeakBytes } : {}),
          ...(m.predictedLoadPeakBytes !== undefined ? { predictedLoadPeakBytes: m.predictedLoadPeakBytes } : {}),
          ...(once.figures.peakConnections !== undefined ? { peakConnections: once.figures.peakConnections } : {}),
          durationMs: once.durationMs,
          reportDir: relative(dir, reportDir),
        };
      });
    } catch (thrown) {
      error ??= describeError(thrown);
      answers = values.map((value) => ({
        value,
        label: axisLabel(request.kind, value),
        role: 'repeat',
        configId: '',
        outcome: null,
        verdict: 'error',
        reason: `not decided: ${describeError(thrown)}`,
        durationMs: Date.now() - startedMs,
      }));
    }
    answers.forEach((answer, k) => {
      probes.push(answer);
      progress({ kind: 'probe-end', n: first + k, probe: answer });
    });
    await writeBisectReport(report(), dir);
    return answers.map((answer) => ({ outcome: answer.outcome, result: answer }));
  };

  search = await searchBoundary({ grid: request.grid, repeat: request.repeat, probe, probeRepeats, signal: options.signal });
  const final = report();
  await writeBisectReport(final, dir);
  progress({ kind: 'report', dir });
  return { report: final, dir };
}
