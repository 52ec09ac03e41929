import type { Observation, ObservationKind, ObservationOf, UntimedObservation } from '../0-model/observation.ts';

export * from '../0-model/observation.ts';

/** The run's timeline; `t` is milliseconds since the run started (injectable clock). */
export class Timeline {
  readonly observations: Observation[] = [];
  readonly #startedAt: number;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#startedAt = now();
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  elapsed(): number {
    return this.#now() - this.#startedAt;
  }

  add(observation: UntimedObservation): void {
    this.observations.push({ ...observation, t: observation.t ?? this.elapsed() } as unknown as Observation);
  }

  of<K extends ObservationKind>(kind: K, instance?: string): ObservationOf<K>[] {
    return this.observations.filter((o): o is ObservationOf<K> => o.kind === kind && (instance === undefined || !('instance' in o) || o.instance === instance));
  }
}
