import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import Docker from 'dockerode';
import { runScenario, type RunOptions, type RunOutcome } from '../../src/8-run/index.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const OOMLAB = join(PROJECT_ROOT, 'oomlab');

/** A docker client straight to the engine, for checks that must not trust the harness. */
export const docker = new Docker();

export async function containersLabelled(label: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [label] } });
}

export async function withTempDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'oomlab-test-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the real CLI as a user would, through the launcher. */
export function runCli(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true }> {
  return execa(OOMLAB, args, { cwd: PROJECT_ROOT, reject: false, all: true, env: { ...env }, timeout: 600_000 });
}

/** Resolves once the child's output contains `text`; rejects if the child ends first. */
export function outputReaches(child: ResultPromise, text: string): Promise<void> {
  let output = '';
  return new Promise<void>((resolve, reject) => {
    child.all!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) resolve();
    });
    void child.then(() => reject(new Error(`the run ended before its output reached ${text}:\n${output}`)));
  });
}

/**
 * Runs a scenario in-process for a test, ending it (with a report) before the hook's own timeout,
 * and prints one line per configuration, so a slow or stuck configuration is named in CI output.
 */
export async function runScenarioForTest(options: Omit<RunOptions, 'signal' | 'onProgress'>, deadlineMs: number): Promise<RunOutcome> {
  const started = Date.now();
  const name = basename(options.scenarioPath, '.ts');
  const phases = new Map<number, string>();
  const outcome = await runScenario({
    configTimeoutMs: 180_000,
    ...options,
    signal: AbortSignal.timeout(deadlineMs),
    onProgress: (progress) => {
      if (progress.kind === 'phase') phases.set(progress.index, progress.phase);
      if (progress.kind === 'config-end' && progress.result.verdict !== 'skipped') {
        const { result } = progress;
        const line = `[${name} +${Math.round((Date.now() - started) / 1000)}s] ${result.verdict} ${result.outcome ?? '-'} ${(result.durationMs / 1000).toFixed(1)}s ${result.id}`;
        process.stderr.write(`${line}${result.verdict === 'error' ? ` — ${result.reason} (last phase: ${phases.get(progress.index)})` : ''}\n`);
      }
    },
  });
  if (outcome.report.error) process.stderr.write(`[${name}] run error: ${outcome.report.error}\n`);
  return outcome;
}
