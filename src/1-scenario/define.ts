// The scenario surface: `defineScenario` infers the instance names from `instances(config)`, so a
// name in `expect`, `workload.target(s)` or a ratio that is not an instance is a type error.
import type { AxisValue, Config, Matrix } from '../0-model/config.ts';
import { parseBytes } from '../0-model/units.ts';
import type { Bound, ExpectationInput, HostSettingsInput, InstanceInput, LoadExpectation, MixedQueryInput, ProductionKillInput } from './schema.ts';
import type { z } from 'zod';
import type { httpBurstWorkloadSchema, stormWorkloadSchema } from './schema.ts';
import type { CONDITION_METRICS, ConditionOperator, StepInput, WORKLOAD_EVENTS } from './steps.ts';

/** What `after` may name: an instance's readiness, the workload's start or end, or another step (checked when planned). */
export type StepAfter<N extends string> = `${N}.ready` | (typeof WORKLOAD_EVENTS)[number] | (string & {});
/** `a.connections > 500`, `a.memory >= 800m`: only instances of the scenario type-check. */
export type StepWhen<N extends string> = `${N}.${(typeof CONDITION_METRICS)[number]} ${ConditionOperator} ${string}`;
type NarrowStep<S, N extends string> = { [K in keyof S]: K extends 'instance' ? N : K extends 'after' ? StepAfter<N> : K extends 'when' ? StepWhen<N> : S[K] };
/** A step with its `instance` and `when` typed to the scenario's instance names. */
export type StepInputFor<N extends string = string> = StepInput extends infer S ? (S extends unknown ? NarrowStep<S, N> : never) : never;

/** What the load must show, with instance names typed. */
export type LoadExpectationInput<N extends string = string> = Omit<LoadExpectation, 'ratio'> & { ratio?: { of: N; to: N } & Bound };

export type StormWorkloadInput<N extends string = string> = Omit<z.input<typeof stormWorkloadSchema>, 'target' | 'expect' | 'mix'> & {
  target: N;
  mix?: MixedQueryInput[];
  expect?: LoadExpectationInput<N>;
};
export type HttpBurstWorkloadInput<N extends string = string> = Omit<z.input<typeof httpBurstWorkloadSchema>, 'targets' | 'expect'> & {
  targets: N[];
  expect?: LoadExpectationInput<N>;
};
export type WorkloadInput<N extends string = string> = StormWorkloadInput<N> | HttpBurstWorkloadInput<N>;

/** Every key of `E` must be an instance name; any other key reads as the mistake it is. */
export type ExpectationsFor<E, N extends string> = { [K in keyof E]: K extends N ? ExpectationInput : `no instance is named ${K & string}` };

export interface ScenarioDefinition<M extends Matrix, N extends string, E> {
  /** Short name, used in report folders and container labels. */
  name: string;
  /** Which incident this reproduces, in a sentence; shown at the top of reports. */
  incident: string;
  description?: string;
  /** Axes and their values; the run covers their cartesian product. */
  matrix: M;
  /** Leaves out combinations that mean nothing (return true to drop). */
  exclude?: (config: Config<M>) => boolean;
  /** The instances of a configuration, keyed by name (`{ db: { image, memory: '4g' } }`), in start order. */
  instances: (config: Config<M>) => { [K in N]?: InstanceInput };
  /** The outcome each instance must reach, keyed by instance name; a neighbour is judged only if named here. Absent: explore, the configurations ranked by headroom. */
  expect?: (config: Config<M>) => E & ExpectationsFor<NoInfer<E>, NoInfer<N>>;
  workload?: (config: Config<M>) => WorkloadInput<NoInfer<N>> | undefined;
  /** THP mode and shared memory budgets for the configuration; restored after it, even on failure. */
  host?: (config: Config<M>) => HostSettingsInput | undefined;
  /** zx steps on the host before and after each configuration. */
  before?: (context: { config: Config<M> }) => Promise<void>;
  after?: (context: { config: Config<M> }) => Promise<void>;
  /**
   * The chaos timeline: faults and zx steps while the load runs, each at a time (`at: '20s'` from the moment
   * every instance is ready), after an event or step, or when a sampled figure crosses a value; undone at the end.
   */
  steps?: (config: Config<M>) => readonly StepInputFor<NoInfer<N>>[] | undefined;
  /** Once per image before the matrix: `file-table` starts it at two nofile values and fits bytes per descriptor. */
  probes?: 'file-table'[];
  /** Production's OOM kill as its kernel printed it (`oomlab from-incident` writes it): the report sets the lab's kill beside it. */
  production?: ProductionKillInput & { instance: NoInfer<N> };
}

/**
 * A scenario as the planner reads it: names are plain strings, checked when the scenario is planned.
 * Method signatures, so a scenario of any matrix is a `Scenario` (its functions take that matrix's configurations).
 */
export interface Scenario<M extends Matrix = Matrix> {
  name: string;
  incident: string;
  description?: string;
  matrix: M;
  exclude?(config: Config<M>): boolean;
  instances(config: Config<M>): Record<string, InstanceInput | undefined>;
  expect?(config: Config<M>): Record<string, ExpectationInput | undefined>;
  workload?(config: Config<M>): WorkloadInput | undefined;
  host?(config: Config<M>): HostSettingsInput | undefined;
  before?(context: { config: Config<M> }): Promise<void>;
  after?(context: { config: Config<M> }): Promise<void>;
  steps?(config: Config<M>): readonly StepInput[] | undefined;
  probes?: 'file-table'[];
  production?: ProductionKillInput;
  readonly file?: string;
}

/** Typed identity: the scenario file's default export. Validation happens in `loadScenario`. */
export function defineScenario<const M extends Matrix, const N extends string, E>(definition: ScenarioDefinition<M, N, E>): Scenario<M> {
  return definition as unknown as Scenario<M>;
}

/**
 * Keeps the baseline and each change of one axis alone, as an incident's fixes are tried one at a
 * time: `exclude: oneAtATime({ allocator: 'glibc', thp: 'always' })` drops every configuration that
 * differs from the baseline on two axes or more.
 */
export function oneAtATime<const B extends Record<string, AxisValue>>(baseline: B): (config: { readonly [K in keyof B]: AxisValue }) => boolean {
  const axes = Object.keys(baseline) as (keyof B)[];
  return (config) => axes.filter((axis) => config[axis] !== baseline[axis]).length > 1;
}

export interface MemoryNeighbourOptions {
  /** Anonymous memory the neighbour holds, e.g. `640m`. */
  memory: string | number;
  /** An image with perl (every Debian-based image has perl-base). */
  image: string;
  side?: string;
  cpusetCpus?: string;
  /** The NUMA nodes its memory may come from (`1`): a tenant whose memory sits on one node. */
  cpusetMems?: string;
  /** Keep touching every page (a busy tenant, taking CPU); false touches each page once, then sleeps. @default true */
  busy?: boolean;
}

/**
 * A second tenant of a host (incident 2's A shared its host with another instance): it holds the
 * memory in the side's budget and keeps touching every page, as a busy tenant would, so it also
 * takes CPU from whatever shares its core.
 */
export function memoryNeighbour(options: MemoryNeighbourOptions): InstanceInput {
  const bytes = parseBytes(options.memory);
  // vec() grows the string in place (`"x" x N` would briefly hold it twice).
  const touch = `for (my $i = 0; $i < ${bytes}; $i += 4096) { vec($s, $i, 8) = 1; }`;
  const script = `my $s = ''; vec($s, ${bytes} - 1, 8) = 1; ${options.busy === false ? `${touch} sleep;` : `while (1) { ${touch} }`}`;
  return {
    role: 'neighbour',
    image: options.image,
    ...(options.side !== undefined ? { side: options.side } : {}),
    ...(options.cpusetCpus !== undefined ? { cpusetCpus: options.cpusetCpus } : {}),
    ...(options.cpusetMems !== undefined ? { cpusetMems: options.cpusetMems } : {}),
    entrypoint: ['perl', '-e', script],
  };
}
