import type { Observation } from './observation.ts';

/** What the runtime gave the server, as /proc/<pid>/limits showed it once the instance started: `1073741816 / 1073741816` (soft / hard). */
export function procNofileText(observations: readonly Observation[]): string | undefined {
  const found = observations.find((o): o is Extract<Observation, { kind: 'nofile' }> => o.kind === 'nofile' && o.proc !== undefined);
  return found?.proc ? `${found.proc.soft} / ${found.proc.hard ?? '?'}` : undefined;
}
