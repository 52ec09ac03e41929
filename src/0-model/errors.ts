/** Stable codes: a test or a CI script can match on them. */
export type OomlabErrorCode =
  | 'SCENARIO_INVALID'
  | 'SCENARIO_NOT_FOUND'
  | 'UNKNOWN_AXIS'
  | 'DOCKER_UNAVAILABLE'
  | 'ENGINE_LOST'
  | 'IMAGE_BUILD_FAILED'
  | 'IMAGE_MISSING'
  | 'IMAGE_LOAD_FAILED'
  | 'SHIM_BUILD_FAILED'
  | 'CANCELLED'
  | 'REPORT_INVALID'
  | 'USAGE'
  | 'STEP_FAILED';

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

export class EngineLostError extends OomlabError {
  constructor(where: string, options?: { cause?: unknown }) {
    super('ENGINE_LOST', `the Docker engine at ${where} stopped answering during the run — restart dockerd, then run \`oomlab clean\` to remove what the run left`, options);
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
