// The `run` step: the author's own async function, given zx's `$` bound to the run and `container.$`
// for the named instance; what its commands print is the step's output, kept to its last 4 KB.
import { describeError, FaultFailedError } from '../../0-model/errors.ts';
import type { StepAction } from '../../1-scenario/steps.ts';
import { containerShell, type ContainerShell } from '../container-shell.ts';
import { boundShell, type BoundShell } from '../host-shell.ts';
import type { StartedInstance } from '../instance.ts';
import { instanceNamed, type AppliedFault, type FaultTarget } from './target.ts';

export const OUTPUT_KEEP_CHARS = 4_096;

/** What a `run` step's function receives. */
export interface StepContext {
  /** zx's `$`, in the scenario's folder, cancelled with the run, logging to the run's log. */
  $: BoundShell;
  /** The step's `instance`: `container.$` runs inside it through the Docker exec API. */
  container: { $: ContainerShell; id: string; name: string } | undefined;
  instance: StartedInstance | undefined;
  /** A line to the run's log (and the step's output). */
  log: (line: string) => void;
  signal: AbortSignal;
}

/** A failed `run` step: its message, with what its commands printed as evidence. */
export class StepRunFailedError extends FaultFailedError {
  readonly output: string;
  constructor(message: string, output: string, options?: { cause?: unknown }) {
    super(message, options);
    this.output = output;
  }
}

function keepTail(text: string): string {
  return text.length <= OUTPUT_KEEP_CHARS ? text : `…${text.slice(-OUTPUT_KEEP_CHARS)}`;
}

export async function runStep(action: Extract<StepAction, { action: 'run' }>, target: FaultTarget): Promise<AppliedFault> {
  let output = '';
  const log = (line: string) => {
    output = keepTail(`${output}${line}\n`);
    target.log(line);
  };
  const instance = action.instance === undefined ? undefined : instanceNamed(target, action.instance);
  const context: StepContext = {
    $: boundShell({ cwd: target.cwd, signal: target.signal, log }),
    container: instance && {
      $: containerShell(target.engine, instance.containerId, { signal: target.signal, log, name: action.instance }),
      id: instance.containerId,
      name: instance.containerName,
    },
    instance,
    log,
    signal: target.signal,
  };
  try {
    await (action.run as (context: StepContext) => Promise<unknown>)(context);
  } catch (error) {
    throw new StepRunFailedError(`run step failed: ${describeError(error).split('\n')[0]}`, output, { cause: error });
  }
  return { detail: `run${action.instance ? ` on ${action.instance}` : ''}: ${output.trim().split('\n').length} line${output.trim().split('\n').length === 1 ? '' : 's'} of output`, output };
}
