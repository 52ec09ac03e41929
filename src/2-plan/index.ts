import { ScenarioInvalidError, UnknownAxisError, UsageError } from '../0-model/errors.ts';
import { effectiveLimit, type InstanceLimit } from '../0-model/limits.ts';
import {
  expectationSchema,
  firstIssue,
  formatIssue,
  instanceSchema,
  NAME,
  type AxisValue,
  type Config,
  type Expectation,
  type InstanceSpec,
  type Scenario,
  type Workload,
  workloadSchema,
  hostSettingsSchema,
  type HostSettings,
  type Step,
} from '../1-scenario/index.ts';
import { cannotStart, cpusetSize, predictInstance, type MemoryPrediction } from './memory-model.ts';
import { formatPredictionWarning } from './prediction-text.ts';
import { applyOverrides, parseAssignment, parseOverrides, type AxisOverride } from './overrides.ts';
import { checkStepReferences, validateSteps } from './steps.ts';

export * from './incident/container-spec.ts';
export * from './incident/diagnose.ts';
export * from './incident/evidence.ts';
export * from './incident/kernel-report.ts';
export * from './incident/process-limits.ts';
export * from './incident/scenario-text.ts';
export * from './incident/server-settings.ts';
export * from './expected-peak.ts';
export * from './image-footprints.ts';
export * from './load-peak.ts';
export * from './memory-model.ts';
export * from './memory-terms.ts';
export * from './open-files.ts';
export * from './overrides.ts';
export * from './prediction-text.ts';
export * from './server-profiles.ts';
export * from './shard.ts';
export * from './steps.ts';

export interface PlannedConfig {
  /** Stable id built from the axes, e.g. `image=mysql:5.7,nofile=1073741816,fix=none`. */
  id: string;
  index: number;
  axes: Config;
  instances: InstanceSpec[];
  expect: Record<string, Expectation>;
  workload?: Workload;
  /** THP mode and side budgets, applied around the configuration and restored after. */
  host?: HostSettings;
  /** Each instance's memory limit as it starts (its own or its side's budget, whichever is lower), decided here once; absent: none. */
  limits: Record<string, InstanceLimit>;
  /** The chaos timeline: faults and zx steps, validated (durations in ms, sizes in bytes). */
  steps?: Step[];
  /** Set when the host cannot run it; skipped is not passed. */
  skip?: string;
  /** The memory model's worst case per server instance, and the load peak where the workload reaches it (filled in by `predictMemory`). */
  predictions?: Record<string, MemoryPrediction>;
}

/** The memory model for one server instance of a planned configuration: its side's budget and the configuration's workload included. */
export function predictConfigInstance(config: Pick<PlannedConfig, 'instances' | 'workload' | 'host'>, instance: InstanceSpec, host: { defaultNofile?: number; cpus?: number }): MemoryPrediction {
  const budget = instance.side !== undefined ? config.host?.sides?.[instance.side] : undefined;
  const sharedWith = config.instances.filter((i) => i.side === instance.side && i.name !== instance.name).map((i) => i.name);
  // Instances pinned to the same CPUs share them (scraping-burst's A and its neighbour share core 0).
  const pinned = cpusetSize(instance.cpusetCpus);
  const beside = pinned === undefined ? 0 : config.instances.filter((i) => i.name !== instance.name && i.cpusetCpus === instance.cpusetCpus).length;
  return predictInstance(instance, host, {
    ...(pinned !== undefined ? { cpus: pinned / (1 + beside) } : {}),
    ...(config.workload ? { workload: config.workload } : {}),
    ...(budget ? { side: { name: instance.side!, memory: budget.memory, sharedWith } } : {}),
  });
}

/**
 * Adds the preflight memory model to every configuration that will run, and returns one warning
 * line per configuration the model says cannot even start in its limit, and how many server
 * instances exceed their limit in the worst case and for the load the scenario drives.
 */
export function predictMemory(configs: PlannedConfig[], host: { defaultNofile: number; cpus: number }): { cannotStart: string[]; overLimitUnderLoad: number; overLimitForTheLoad: number } {
  const warnings: string[] = [];
  let overLimitUnderLoad = 0;
  let overLimitForTheLoad = 0;
  for (const config of configs) {
    if (config.skip) continue;
    config.predictions = Object.fromEntries(config.instances.filter((i) => i.role !== 'neighbour').map((i) => [i.name, predictConfigInstance(config, i, host)]));
    for (const prediction of Object.values(config.predictions)) {
      if (cannotStart(prediction)) warnings.push(formatPredictionWarning(config.id, prediction));
      // Every connection at its buffers' maximum needs connections: a configuration with no workload has none to count.
      else if (prediction.fits === false && config.workload) overLimitUnderLoad++;
      if (!cannotStart(prediction) && prediction.load?.fits === false) overLimitForTheLoad++;
    }
  }
  return { cannotStart: warnings, overLimitUnderLoad, overLimitForTheLoad };
}

/** What the host can do, for skips the planner decides (doctor prints the same reasons). */
export interface HostCapabilities {
  numaNodes: number;
  /** Why THP cannot be switched here, when it cannot. */
  thpUnswitchable?: string;
  /** The engine can give a container a negative oom_score_adj (it needs CAP_SYS_RESOURCE). @default true */
  canLowerOomScoreAdj?: boolean;
}

export interface PlanOptions {
  /** `axis=value` pairs (all must match) or a substring of the id. */
  only?: string[];
  /** Replaces an axis's values: `memory=1g`, `nofile=default,1073741816`, `image=oomlab/mysql:9.7` (see overrides.ts). */
  set?: string[];
}

/** Why an image cannot be used here, or undefined when it can. */
export type ImageCheck = (image: string) => string | undefined;

/** Why a NUMA policy cannot be tested here, or undefined when it can; doctor says the same. */
export function numaSkipReason(numaNodes: number): string | undefined {
  return numaNodes < 2 ? `${numaNodes} NUMA node` : undefined;
}

/** Why a negative oom_score_adj cannot be given here, or undefined when it can; doctor says the same. */
export function oomScoreAdjSkipReason(canLower: boolean): string | undefined {
  // runc fails to start such a container with "can't get final child's PID from pipe: EOF".
  return canLower ? undefined : 'a negative oom_score_adj needs CAP_SYS_RESOURCE, which this host does not give';
}

export function configId(axes: Config): string {
  return Object.entries(axes)
    .map(([axis, value]) => `${axis}=${value}`)
    .join(',');
}

function cartesian(matrix: Record<string, readonly AxisValue[]>): Config[] {
  let configs: Record<string, AxisValue>[] = [{}];
  for (const [axis, values] of Object.entries(matrix)) {
    configs = configs.flatMap((config) => values.map((value) => ({ ...config, [axis]: value })));
  }
  return configs;
}

function matchesOnly(id: string, axes: Config, only: readonly string[], axisNames: readonly string[]): boolean {
  return only.every((filter) => {
    if (!filter.includes('=')) return id.includes(filter);
    const [axis, value] = parseAssignment(filter, '--only');
    if (!axisNames.includes(axis)) throw new UnknownAxisError(axis, axisNames);
    return value.split(',').includes(String(axes[axis]));
  });
}

/** Each `axis=value[,value]` filter names values of that axis, so a second axis slipped in after a comma is not taken as a value. */
function checkOnly(only: readonly string[], matrix: Record<string, readonly AxisValue[]>): void {
  const axisNames = Object.keys(matrix);
  for (const filter of only) {
    if (!filter.includes('=')) continue;
    const [axis, value] = parseAssignment(filter, '--only');
    if (!axisNames.includes(axis)) throw new UnknownAxisError(axis, axisNames);
    const known = (matrix[axis] ?? []).map(String);
    for (const v of value.split(',')) {
      if (v.includes('=')) {
        const first = value.split(',').filter((x) => !x.includes('='));
        throw new UsageError(`--only ${filter}: \`${v}\` is not a value of ${axis}; to narrow by two axes, repeat --only: \`--only ${axis}=${first.join(',') || '…'} --only ${v}\``);
      }
      if (!known.includes(v)) {
        throw new UsageError(`--only ${filter}: ${axis} has no value \`${v}\` (its values: ${known.join(', ')}); to narrow by two axes, repeat --only: \`--only ${axis}=… --only other=…\``);
      }
    }
  }
}

/** A scenario planned once: its configurations, validated, and the `--set` overrides they were planned with. */
export interface Plan {
  configs: PlannedConfig[];
  overrides: AxisOverride[];
}

/**
 * One pass over the scenario: `--set` parsed once, the matrix expanded, and every instance, expectation,
 * workload, host setting and step validated, so a typo is reported before any container starts or any
 * file is written. What the host cannot run is marked afterwards (withSkips), once the engine is asked.
 */
export function planScenario(scenario: Scenario, options: PlanOptions = {}): Plan {
  const where = scenario.file ?? scenario.name;
  const overrides = parseOverrides(scenario, options.set ?? []);
  const matrix = applyOverrides(scenario.matrix, overrides);
  const axisNames = Object.keys(matrix);
  checkOnly(options.only ?? [], matrix);
  const planned: PlannedConfig[] = [];
  for (const axes of cartesian(matrix)) {
    if (scenario.exclude?.(axes)) continue;
    const id = configId(axes);
    if (options.only?.length && !matchesOnly(id, axes, options.only, axisNames)) continue;
    const instances = validateInstances(scenario.instances(axes), `${where} (${id})`);
    const expect = scenario.expect ? validateExpectations(scenario.expect(axes), instances, `${where} (${id})`) : {};
    const workload = scenario.workload ? validateWorkload(scenario.workload(axes), instances, `${where} (${id})`) : undefined;
    const hostSettings = scenario.host ? validateHostSettings(scenario.host(axes), instances, `${where} (${id})`) : undefined;
    const steps = scenario.steps ? validateSteps(scenario.steps(axes), { instances, workload: workload !== undefined, sides: Object.keys(hostSettings?.sides ?? {}) }, `${where} (${id})`) : [];
    checkStepReferences(steps, expect, workload?.expect, `${where} (${id})`);
    planned.push({
      id,
      index: planned.length,
      axes,
      instances,
      expect,
      ...(workload ? { workload } : {}),
      ...(hostSettings ? { host: hostSettings } : {}),
      limits: limitsOf(instances, hostSettings),
      ...(steps.length > 0 ? { steps } : {}),
    });
  }
  if (planned.length === 0) {
    throw new UsageError(`no configuration of ${where} matches --only ${options.only?.join(' ')}; \`oomlab list\` shows the axes`);
  }
  return { configs: planned, overrides };
}

/** The planned configurations with what the host cannot run marked `skip`: an image it lacks, a capability it has not. */
export function withSkips(configs: readonly PlannedConfig[], checkImage: ImageCheck, host?: HostCapabilities): PlannedConfig[] {
  return configs.map(({ skip: _, ...config }) => {
    const skip = config.instances.map((i) => checkImage(i.image)).find((reason) => reason !== undefined) ?? capabilitySkip(config.instances, config.host, host);
    return skip ? { ...config, skip } : config;
  });
}

/** planScenario, then withSkips: the configurations as they would run here. */
export function planRun(scenario: Scenario, options: PlanOptions = {}, checkImage: ImageCheck = () => undefined, host?: HostCapabilities): PlannedConfig[] {
  return withSkips(planScenario(scenario, options).configs, checkImage, host);
}

/**
 * The images a scenario's configurations name, and how many name each: the matrix expanded and only the
 * instances read, without validating the rest of every configuration (`oomlab images`, `oomlab doctor`).
 */
export function imagesNamed(scenario: Scenario): { configs: number; byImage: Map<string, number> } {
  const where = scenario.file ?? scenario.name;
  const byImage = new Map<string, number>();
  let configs = 0;
  for (const axes of cartesian(scenario.matrix)) {
    if (scenario.exclude?.(axes)) continue;
    configs++;
    const instances = validateInstances(scenario.instances(axes), `${where} (${configId(axes)})`);
    for (const image of new Set(instances.map((i) => i.image))) byImage.set(image, (byImage.get(image) ?? 0) + 1);
  }
  return { configs, byImage };
}

/** Each instance's limit as it starts: the one rule (effectiveLimit) applied once per configuration. */
export function limitsOf(instances: readonly InstanceSpec[], host: HostSettings | undefined): Record<string, InstanceLimit> {
  return Object.fromEntries(
    instances.flatMap((spec) => {
      const budget = spec.side !== undefined ? host?.sides?.[spec.side] : undefined;
      const limit = effectiveLimit(spec.memory, budget ? { name: spec.side!, memory: budget.memory } : undefined);
      return limit ? [[spec.name, limit]] : [];
    }),
  );
}

/** The limit a `limit` step leaves an instance under: its new own limit against its side's budget, by the same rule. */
export function limitAfterStep(config: Pick<PlannedConfig, 'instances' | 'host'>, instance: string, ownBytes: number | undefined): InstanceLimit | undefined {
  const spec = config.instances.find((i) => i.name === instance);
  const budget = spec?.side !== undefined ? config.host?.sides?.[spec.side] : undefined;
  return effectiveLimit(ownBytes, budget ? { name: spec!.side!, memory: budget.memory } : undefined);
}

function validateInstances(value: unknown, where: string): InstanceSpec[] {
  const entries = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value).filter(([, spec]) => spec !== undefined) : [];
  if (entries.length === 0) {
    throw new ScenarioInvalidError(`${where}: instances(config) must return the instances by name, e.g. { db: { image: 'oomlab/mariadb:10.11' } }; got ${JSON.stringify(value)}`);
  }
  return entries.map(([name, item]) => {
    if (!NAME.test(name)) throw new ScenarioInvalidError(`${where}: instance name \`${name}\` must be lowercase letters, digits and dashes`);
    const parsed = instanceSchema.safeParse(item, { reportInput: true });
    if (!parsed.success) throw new ScenarioInvalidError(formatIssue(where, firstIssue(parsed.error.issues), 'instance', `instances.${name}.`));
    return { name, ...parsed.data };
  });
}

/** The validated instances of one configuration, named and with sizes in bytes. */
export function instancesOf(scenario: Scenario, axes: Config): InstanceSpec[] {
  return validateInstances(scenario.instances(axes), `${scenario.file ?? scenario.name} (${configId(axes)})`);
}

/** The planner's own skips: a NUMA policy on a one-node host, a THP mode the host will not switch, a negative oom_score_adj without CAP_SYS_RESOURCE. */
function capabilitySkip(instances: InstanceSpec[], settings: HostSettings | undefined, host: HostCapabilities | undefined): string | undefined {
  if (!host) return undefined;
  const numa = instances.some((i) => i.numa !== undefined || (i.cpusetMems !== undefined && i.cpusetMems !== '0'));
  if (numa && numaSkipReason(host.numaNodes)) return numaSkipReason(host.numaNodes);
  if (settings?.thp && host.thpUnswitchable) return host.thpUnswitchable;
  const lowered = instances.find((i) => (i.oomScoreAdj ?? 0) < 0);
  const oomScoreAdj = oomScoreAdjSkipReason(host.canLowerOomScoreAdj ?? true);
  if (lowered && oomScoreAdj) return `${oomScoreAdj} (${lowered.name}: oomScoreAdj ${lowered.oomScoreAdj})`;
  return undefined;
}

/** The instances a workload sends its load to. */
export function workloadTargets(workload: Workload): string[] {
  return workload.kind === 'storm' ? [workload.target] : workload.targets;
}

function validateWorkload(value: unknown, instances: InstanceSpec[], where: string): Workload | undefined {
  if (value === undefined) return undefined;
  const parsed = workloadSchema.safeParse(value, { reportInput: true });
  const kind = (value as { kind?: unknown }).kind === 'http-burst' ? 'http-burst' : 'workload';
  if (!parsed.success) throw new ScenarioInvalidError(formatIssue(where, firstIssue(parsed.error.issues), kind, 'workload.'));
  const ratio = parsed.data.expect?.ratio;
  const named = [
    ...workloadTargets(parsed.data).map((name) => ({ name, as: 'workload target' })),
    ...(ratio
      ? [
          { name: ratio.of, as: 'workload.expect.ratio.of' },
          { name: ratio.to, as: 'workload.expect.ratio.to' },
        ]
      : []),
  ];
  for (const { name, as } of named) {
    const instance = instances.find((i) => i.name === name);
    if (!instance) throw new ScenarioInvalidError(`${where}: ${as} \`${name}\` is not an instance; instances are: ${instances.map((i) => i.name).join(', ')}`);
    if (instance.role === 'neighbour') throw new ScenarioInvalidError(`${where}: ${as} \`${name}\` is a neighbour; load goes to servers`);
  }
  return parsed.data;
}

function validateHostSettings(value: unknown, instances: InstanceSpec[], where: string): HostSettings | undefined {
  if (value === undefined) return undefined;
  const parsed = hostSettingsSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new ScenarioInvalidError(formatIssue(where, firstIssue(parsed.error.issues), 'host', 'host.'));
  const sides = Object.keys(parsed.data.sides ?? {});
  for (const instance of instances) {
    if (instance.side && !sides.includes(instance.side)) {
      throw new ScenarioInvalidError(`${where}: instance \`${instance.name}\` is on side \`${instance.side}\`, which host(config).sides does not budget; sides are: ${sides.join(', ') || '(none)'}`);
    }
  }
  return parsed.data;
}

function validateExpectations(value: unknown, instances: InstanceSpec[], where: string): Record<string, Expectation> {
  if (typeof value !== 'object' || value === null) {
    throw new ScenarioInvalidError(`${where}: expect(config) must return { <instance>: { outcome, ... } }`);
  }
  const names = instances.map((i) => i.name);
  const result: Record<string, Expectation> = {};
  for (const [name, expectation] of Object.entries(value)) {
    if (expectation === undefined) continue;
    if (!names.includes(name)) {
      throw new ScenarioInvalidError(`${where}: expect(config) names instance \`${name}\`; instances are: ${names.join(', ')}`);
    }
    const parsed = expectationSchema.safeParse(expectation, { reportInput: true });
    if (!parsed.success) throw new ScenarioInvalidError(formatIssue(where, firstIssue(parsed.error.issues), 'expectation', `expect.${name}.`));
    result[name] = parsed.data;
  }
  return result;
}
