// The `run` step: the author's own async function, given zx's `$` bound to the run and `container.$`
// for the named instance; what its commands print is the step's output, kept to its last 4 KB.
import { describeError, FaultFailedError } from '../../../0-model/errors.ts';
import type { StepAction, StepRunContext } from '../../../1-scenario/steps.ts';
import { containerShell } from '../container-shell.ts';
import { boundShell } from '../host-shell.ts';
import { instanceNamed, type AppliedFault, type FaultTarget } from './target.ts';

export const OUTPUT_KEEP_CHARS = 4_096;

/** A step without `instance` has no container: using it says so rather than failing on `undefined`. */
const NO_CONTAINER: StepRunContext['container'] = {
  $: () => Promise.reject(new FaultFailedError("container.$ needs the step to name an instance (`instance: 'a'`)")),
  id: '',
  name: '',
};

/** What a `run` step's function receives: the scenario stage's type, so scenario files type-check against it. */
export type StepContext = StepRunContext;

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
    container: instance
      ? { $: containerShell(target.engine, instance.containerId, { signal: target.signal, log, name: action.instance }), id: instance.containerId, name: instance.containerName }
      : NO_CONTAINER,
    instance,
    log,
    signal: target.signal,
  };
  try {
    await action.run(context);
  } catch (error) {
    throw new StepRunFailedError(`run step failed: ${describeError(error).split('\n')[0]}`, output, { cause: error });
  }
  return { detail: `run${action.instance ? ` on ${action.instance}` : ''}: ${output.trim().split('\n').length} line${output.trim().split('\n').length === 1 ? '' : 's'} of output`, output };
}
