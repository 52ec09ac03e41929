/** Every object oomlab creates carries these, so cleanup can find it whatever happened. */
export const LABEL_RUN = 'oomlab.run';
export const LABEL_SCENARIO = 'oomlab.scenario';
export const LABEL_CONFIG = 'oomlab.config';
export const LABEL_INSTANCE = 'oomlab.instance';
/** The pid of the process that owns the run; `oomlab clean` removes runs whose owner is gone. */
export const LABEL_OWNER_PID = 'oomlab.owner-pid';

export interface RunLabels {
  runId: string;
  scenario: string;
}

export function labelsFor(run: RunLabels, config: string, instance: string): Record<string, string> {
  return {
    [LABEL_RUN]: run.runId,
    [LABEL_SCENARIO]: run.scenario,
    [LABEL_CONFIG]: config,
    [LABEL_INSTANCE]: instance,
    [LABEL_OWNER_PID]: String(process.pid),
  };
}
