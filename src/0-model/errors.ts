/** Stable codes: a test or a CI script can match on them. */
export type OomlabErrorCode =
  | 'SCENARIO_INVALID'
  | 'SCENARIO_NOT_FOUND'
  | 'UNKNOWN_AXIS'
  | 'DOCKER_UNAVAILABLE'
  | 'ENGINE_LOST'
  | 'FAULT_FAILED'
  | 'SHELL_FAILED'
  | 'IMAGE_BUILD_FAILED'
  | 'IMAGE_MISSING'
  | 'IMAGE_LOAD_FAILED'
  | 'SHIM_BUILD_FAILED'
  | 'CANCELLED'
  | 'REPORT_INVALID'
  | 'MERGE_REFUSED'
  | 'USAGE'
  | 'STEP_FAILED'
  | 'INCIDENT_INPUT'
  | 'HOST_LEASE_BUSY'
  | 'LAB_SHAPE_INVALID'
  | 'LAB_BUILD_FAILED'
  | 'LAB_BOOT_FAILED';

/** Every error the harness raises: what failed, the value received, and the next step. */
export class OomlabError extends Error {
  readonly code: OomlabErrorCode;
  constructor(code: OomlabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class ScenarioInvalidError extends OomlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SCENARIO_INVALID', message, options);
  }
}

export class UnknownAxisError extends OomlabError {
  constructor(axis: string, allowed: readonly string[]) {
    super('UNKNOWN_AXIS', `unknown axis \`${axis}\`; this scenario's axes are: ${allowed.join(', ')}`);
  }
}

export class DockerUnavailableError extends OomlabError {
  constructor(where: string, options?: { cause?: unknown }) {
    super('DOCKER_UNAVAILABLE', `cannot reach the Docker engine at ${where} — start it (dockerd) or set DOCKER_HOST`, options);
  }
}

/** `engine` is the runtime's own name (`docker`, `lab`): the run's watchdog and its orchestrator say the same. */
export class EngineLostError extends OomlabError {
  /** `inVm`: the engine ran in a lab VM, which the run removes with it. */
  constructor(engine: string, where: string, options?: { cause?: unknown; inVm?: boolean }) {
    // A lab VM's engine lives and dies with its VM: there is nothing of it to restart, and restarting this host's would end others' runs.
    const advice = options?.inVm
      ? 'the lab VM is removed with the run; if its guest ran out of memory, give the VM more (memory=) or its neighbours less, and run `oomlab clean` if anything of the run is left'
      : `restart the ${engine} engine, then run \`oomlab clean\` to remove what the run left`;
    super('ENGINE_LOST', `the ${engine} engine at ${where} stopped answering during the run — ${advice}`, options);
  }
}

/** A chaos step's fault could not be applied (or undone): what, on which instance, and why. */
export class FaultFailedError extends OomlabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FAULT_FAILED', message, options);
  }
}

/** A shell command of a step exited non-zero (or was cancelled); carries its output as zx's ProcessOutput does. */
export class ShellFailedError extends OomlabError {
  readonly stdout: string;
  readonly stderr: string;
  /** Null when the command was cancelled before it exited. */
  readonly exitCode: number | null;
  constructor(message: string, result: { stdout: string; stderr: string; exitCode: number | null }, options?: { cause?: unknown }) {
    super('SHELL_FAILED', message, options);
    this.stdout = result.stdout;
    this.stderr = result.stderr;
    this.exitCode = result.exitCode;
  }
}

export class CancelledError extends OomlabError {
  constructor(why: string) {
    super('CANCELLED', `run cancelled: ${why}`);
  }
}

export class UsageError extends OomlabError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** `oomlab merge` will not make one report of these shard reports (bad input: exit 2, nothing written). */
export class MergeRefusedError extends OomlabError {
  constructor(message: string) {
    super('MERGE_REFUSED', `merge: ${message}`);
  }
}

/** `oomlab from-incident` cannot read what it was given (bad input: exit 2, nothing written). */
export class IncidentInputError extends OomlabError {
  constructor(message: string) {
    super('INCIDENT_INPUT', `from-incident: ${message}`);
  }
}

/** The message of anything thrown, for one-line reports. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A step of the chaos timeline failed, outlived its timeout or could not be undone; its output is the evidence. */
export class StepFailedError extends OomlabError {
  readonly step: string;
  readonly output: string | undefined;
  constructor(step: string, message: string, output?: string, options?: { cause?: unknown }) {
    super('STEP_FAILED', message, options);
    this.step = step;
    this.output = output;
  }
}
