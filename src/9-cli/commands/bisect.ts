// `oomlab bisect SCENARIO --config ID --axis NAME --range LO..HI`: where one configuration's outcome changes
// along one numeric axis, one real run per probe, with a progress line for each.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { BisectReport } from '../../0-model/bisect-report.ts';
import { UsageError } from '../../0-model/errors.ts';
import { formatBytes } from '../../0-model/units.ts';
import { axisText } from '../../2-plan/bisect-input.ts';
import { maxSearchProbes } from '../../2-plan/bisect-search.ts';
import { boundaryLine, modelLine } from '../../7-report/bisect.ts';
import { runBisect, type BisectProgress } from '../../8-run/bisect.ts';
import { signalOnInterrupt } from './interrupt.ts';
import { phasePrinter } from './phase-line.ts';

export const BISECT_USAGE = 'oomlab bisect SCENARIO --config ID --axis NAME --range LO..HI [--step N] [--repeat-boundary K] [--out DIR] [--json]';

function printer(kind: () => 'number' | 'size'): (progress: BisectProgress) => void {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  // In a CI log the storm's live figures every tenth second.
  const phases = phasePrinter(10);
  return (progress) => {
    switch (progress.kind) {
      case 'message':
        write(`· ${progress.text}`);
        break;
      case 'model':
        write(`· config ${progress.request.configLabel}: at most ${maxSearchProbes(progress.request.grid)} probes, then ${progress.request.repeat}× each side of the boundary`);
        write(`· ${modelLine({ model: progress.model, axisKind: progress.request.kind })}`);
        break;
      case 'probe-start':
        phases.start();
        write(`[probe ${progress.n}${progress.role === 'repeat' ? ', repeat' : ''}] ${axisText(kind(), progress.value)}`);
        break;
      case 'phase':
        phases.phase(progress.phase);
        break;
      case 'probe-end': {
        const p = progress.probe;
        const peak = p.peakMemoryBytes !== undefined ? `peak ${formatBytes(p.peakMemoryBytes)}${p.memoryLimitBytes ? ` of ${formatBytes(p.memoryLimitBytes)}` : ''}, ` : '';
        write(`    → ${p.outcome ?? 'undecided'} (${p.verdict}, ${peak}${(p.durationMs / 1000).toFixed(1)}s)${p.outcome === null ? ` — ${p.reason}` : ''}`);
        break;
      }
      case 'report':
        write(`report: ${progress.dir}/bisect.md`);
        break;
    }
  };
}

/** 0 a boundary found and its repeats agree; 1 no boundary in the range, or a flaky one; 2 a probe could not decide; 130 interrupted. */
export function bisectExitCode(report: BisectReport): number {
  switch (report.status) {
    case 'boundary':
      return report.boundary?.flaky ? 1 : 0;
    case 'no-boundary':
      return 1;
    case 'cancelled':
      return 130;
    default:
      return 2;
  }
}

export const BISECT_OPTIONS = {
  config: { type: 'string' },
  axis: { type: 'string' },
  range: { type: 'string' },
  step: { type: 'string' },
  'repeat-boundary': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

export async function commandBisect(args: string[]): Promise<number> {
  const parsed = (() => {
    try {
      return parseArgs({
        args,
        allowPositionals: true,
        options: BISECT_OPTIONS,
      });
    } catch (error) {
      throw new UsageError(`${error instanceof Error ? error.message.split('\n')[0] : String(error)}; usage: ${BISECT_USAGE}`);
    }
  })();
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`oomlab bisect needs one scenario file, got ${positionals.length}; usage: ${BISECT_USAGE}`);
  for (const flag of ['config', 'axis', 'range'] as const) {
    if (values[flag] === undefined) throw new UsageError(`oomlab bisect needs --${flag}; usage: ${BISECT_USAGE}`);
  }
  let axisKind: 'number' | 'size' = 'number';
  const show = printer(() => axisKind);
  const signal = signalOnInterrupt('stopping the probe under way and writing what was found');
  const { report } = await runBisect({
    scenarioPath: positionals[0]!,
    config: values.config!,
    axis: values.axis!,
    range: values.range!,
    ...(values.step !== undefined ? { step: values.step } : {}),
    ...(values['repeat-boundary'] !== undefined ? { repeat: values['repeat-boundary'] } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    signal,
    ...(values.json
      ? {}
      : {
          onProgress: (progress: BisectProgress) => {
            if (progress.kind === 'model') axisKind = progress.request.kind;
            show(progress);
          },
        }),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  // No boundary is one line; otherwise the model's boundary goes beside the one found.
  else process.stderr.write(report.status === 'no-boundary' ? `${boundaryLine(report)}\n` : `${boundaryLine(report)}\n${modelLine(report)}\n`);
  return bisectExitCode(report);
}
