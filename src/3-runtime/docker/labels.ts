import type { RunLabels } from '../runtime.ts';

/** Every object oomlab creates carries these, so cleanup can find it whatever happened. */
export const LABEL_RUN = 'oomlab.run';
export const LABEL_SCENARIO = 'oomlab.scenario';
export const LABEL_CONFIG = 'oomlab.config';
export const LABEL_INSTANCE = 'oomlab.instance';
/** The pid of the process that owns the run; `oomlab clean` removes runs whose owner is gone. */
export const LABEL_OWNER_PID = 'oomlab.owner-pid';
/**
 * The session a run belongs to, as testcontainers' session id: set by whoever starts oomlab (the
 * integration tests, one per test file) through {@link SESSION_ENV}, and inherited by child processes,
 * so the session's teardown removes everything it created, whatever happened to the run.
 */
export const LABEL_SESSION = 'oomlab.session';
export const SESSION_ENV = 'OOMLAB_SESSION';

/** The session id of this process, from {@link SESSION_ENV}; undefined when none was set. */
export function currentSession(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const session = env[SESSION_ENV]?.trim();
  return session ? session : undefined;
}

/** `{ 'oomlab.session': id }` when a session is set, else nothing: spread it into the Labels of every object created. */
export function sessionLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const session = currentSession(env);
  return session ? { [LABEL_SESSION]: session } : {};
}

/** Whether the process that owns a run (or a build, or a host switch) is still alive. */
export function ownerAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function labelsFor(run: RunLabels, config: string, instance: string): Record<string, string> {
  return {
    [LABEL_RUN]: run.runId,
    [LABEL_SCENARIO]: run.scenario,
    [LABEL_CONFIG]: config,
    [LABEL_INSTANCE]: instance,
    [LABEL_OWNER_PID]: String(process.pid),
    ...sessionLabels(),
  };
}
