import { FaultFailedError } from '../../0-model/errors.ts';
import type { Engine } from '../engine.ts';
import { imageExists } from '../images.ts';
import type { StartedInstance } from '../instance.ts';
import type { RunLabels } from '../labels.ts';

/** What a fault acts on: the configuration's started instances, its side budgets, its log. */
export interface FaultTarget {
  engine: Engine;
  run: RunLabels;
  configId: string;
  configIndex: number;
  /** Started instances by name. */
  instances: ReadonlyMap<string, StartedInstance>;
  /** Side name → that side budget's cgroup parent. */
  cgroupParents: ReadonlyMap<string, string>;
  signal: AbortSignal;
  /** Appends to the run's log file. */
  log: (line: string) => void;
  /** The scenario file's folder: a `run` step's `$` starts there. */
  cwd: string;
}

/** A fault in place: the line a report shows, what a `run` step printed, and how to put things back. */
export interface AppliedFault {
  detail: string;
  output?: string;
  /** Idempotent, and quiet when the container is already gone. */
  undo?: () => Promise<void>;
}

export function instanceNamed(target: FaultTarget, name: string): StartedInstance {
  const instance = target.instances.get(name);
  if (!instance) {
    const started = [...target.instances.keys()];
    throw new FaultFailedError(`no started instance \`${name}\` in configuration ${target.configId}; started: ${started.length > 0 ? started.join(', ') : 'none'}`);
  }
  return instance;
}

/** A fault never pulls: an image the engine does not have is one line naming it and how to get it. */
export async function requireImage(target: FaultTarget, image: string, action: string): Promise<void> {
  if (await imageExists(target.engine, image)) return;
  throw new FaultFailedError(`${action}: image ${image} is not on this host (faults never pull) — \`oomlab images\` lists what this host has, \`oomlab images load FILE\` brings a saved one`);
}

export function statusCodeOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** The engine's own words, without dockerode's `(HTTP code 500) server error - ` prefix. */
export function engineMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .split('\n')[0]!
    .trim();
}
