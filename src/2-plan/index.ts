import { ScenarioInvalidError, UnknownAxisError, UsageError } from '../0-model/errors.ts';
import {
  expectationSchema,
  firstIssue,
  formatIssue,
  instanceSpecSchema,
  type AxisValue,
  type Config,
  type Expectation,
  type InstanceSpec,
  type Scenario,
  type Workload,
  workloadSchema,
  hostSettingsSchema,
  type HostSettings,
} from '../1-scenario/index.ts';
import { cannotStart, formatPredictionWarning, predictInstance, type MemoryPrediction } from './memory-model.ts';
import { applyOverrides, parseAssignment, parseOverrides } from './overrides.ts';

export * from './memory-model.ts';
export * from './overrides.ts';

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
  /** Set when the host cannot run it; skipped is not passed. */
  skip?: string;
  /** The memory model's worst case per server instance (filled in by `predictMemory`). */
  predictions?: Record<string, MemoryPrediction>;
}

/**
 * Adds the preflight memory model to every configuration that will run, and returns one warning
 * line per configuration the model says cannot even start in its limit.
 */
export function predictMemory(configs: PlannedConfig[], host: { defaultNofile: number; cpus: number }): { cannotStart: string[]; overLimitUnderLoad: number } {
  const warnings: string[] = [];
  let overLimitUnderLoad = 0;
  for (const config of configs) {
    if (config.skip) continue;
    config.predictions = Object.fromEntries(config.instances.filter((i) => i.role !== 'neighbour').map((i) => [i.name, predictInstance(i, host)]));
    for (const prediction of Object.values(config.predictions)) {
      if (cannotStart(prediction)) warnings.push(formatPredictionWarning(config.id, prediction));
      else if (prediction.fits === false) overLimitUnderLoad++;
    }
  }
  return { cannotStart: warnings, overLimitUnderLoad };
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

/**
 * Expands the matrix into configurations and validates every instance and expectation the
 * scenario returns, so a typo is reported before any container starts or any file is written.
 */
export function planRun(scenario: Scenario, options: PlanOptions = {}, checkImage: ImageCheck = () => undefined, host?: HostCapabilities): PlannedConfig[] {
  const where = scenario.file ?? scenario.name;
  const matrix = applyOverrides(scenario.matrix, parseOverrides(scenario, options.set ?? []));
  const axisNames = Object.keys(matrix);
  const planned: PlannedConfig[] = [];
  for (const axes of cartesian(matrix)) {
    if (scenario.exclude?.(axes)) continue;
    const id = configId(axes);
    if (options.only?.length && !matchesOnly(id, axes, options.only, axisNames)) continue;
    const instances = validateInstances(scenario.instances(axes), `${where} (${id})`);
    const expect = validateExpectations(scenario.expect(axes), instances, `${where} (${id})`);
    const workload = scenario.workload ? validateWorkload(scenario.workload(axes), instances, `${where} (${id})`) : undefined;
    const hostSettings = scenario.host ? validateHostSettings(scenario.host(axes), instances, `${where} (${id})`) : undefined;
    const skip = instances.map((i) => checkImage(i.image)).find((reason) => reason !== undefined) ?? capabilitySkip(instances, hostSettings, host);
    planned.push({ id, index: planned.length, axes, instances, expect, ...(workload ? { workload } : {}), ...(hostSettings ? { host: hostSettings } : {}), ...(skip ? { skip } : {}) });
  }
  if (planned.length === 0) {
    throw new UsageError(`no configuration of ${where} matches --only ${options.only?.join(' ')}; \`oomlab list\` shows the axes`);
  }
  return planned;
}

function validateInstances(value: unknown, where: string): InstanceSpec[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ScenarioInvalidError(`${where}: instances(config) must return a non-empty array of instances`);
  }
  const names = new Set<string>();
  return value.map((item, index) => {
    const parsed = instanceSpecSchema.safeParse(item, { reportInput: true });
    if (!parsed.success) throw new ScenarioInvalidError(formatIssue(where, firstIssue(parsed.error.issues), 'instance', `instances[${index}].`));
    if (names.has(parsed.data.name)) throw new ScenarioInvalidError(`${where}: two instances are named \`${parsed.data.name}\``);
    names.add(parsed.data.name);
    return parsed.data;
  });
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
  for (const target of workloadTargets(parsed.data)) {
    const instance = instances.find((i) => i.name === target);
    if (!instance) throw new ScenarioInvalidError(`${where}: workload target \`${target}\` is not an instance; instances are: ${instances.map((i) => i.name).join(', ')}`);
    if (instance.role === 'neighbour') throw new ScenarioInvalidError(`${where}: workload target \`${target}\` is a neighbour; load goes to servers`);
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
    if (!names.includes(name)) {
      throw new ScenarioInvalidError(`${where}: expect(config) names instance \`${name}\`; instances are: ${names.join(', ')}`);
    }
    const parsed = expectationSchema.safeParse(expectation, { reportInput: true });
    if (!parsed.success) throw new ScenarioInvalidError(formatIssue(where, firstIssue(parsed.error.issues), 'expectation', `expect.${name}.`));
    result[name] = parsed.data;
  }
  return result;
}
