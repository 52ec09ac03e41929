// Which host each configuration runs on: the scenario's `host(config).runtime`, else the run's `--host`. A run
// takes the hosts in turn (one lab VM at a time: two guests of 5 GiB under TCG do not fit beside each other).
import { availableParallelism } from 'node:os';
import { CancelledError, OomlabError } from '../0-model/errors.ts';
import type { HostFacts } from '../0-model/host.ts';
import type { Progress } from '../0-model/report.ts';
import type { Scenario } from '../1-scenario/index.ts';
import { predictMemory, withSkips, type PlannedConfig } from '../2-plan/index.ts';
import { dockerRuntime, type ImageResolution, type Runtime, type RuntimeConnection } from '../3-runtime/index.ts';
import { readHostFacts, readNodeFacts } from '../4-observe/index.ts';
import { probeImages } from './file-table-probe.ts';

export interface HostGroup {
  /** The `--host` value: `docker`, `lab`, `lab:SHAPE`. */
  host: string;
  runtime: Runtime;
  /** Its configurations, in the plan's order. */
  configs: PlannedConfig[];
  /** The scenario chose this host, not `--host`. */
  fromScenario: boolean;
}

/** `--host`'s value to its runtime; the CLI's knows the lab shapes. */
export type RuntimeOf = (host: string) => Runtime;

/** The configurations grouped by host, in order of each host's first configuration; a scenario's unknown lab shape fails here, before anything boots. */
export function hostGroups(configs: readonly PlannedConfig[], runRuntime: Runtime, runtimeOf: RuntimeOf = dockerOnly): HostGroup[] {
  const groups = new Map<string, HostGroup>();
  for (const config of configs) {
    const wanted = config.host?.runtime;
    const host = wanted ?? runRuntime.name;
    let group = groups.get(host);
    if (!group) {
      group = { host, runtime: wanted === undefined || wanted === runRuntime.name ? runRuntime : scenarioRuntime(runtimeOf, wanted, config.id), configs: [], fromScenario: wanted !== undefined };
      groups.set(host, group);
    }
    group.configs.push(config);
  }
  return [...groups.values()];
}

/** The runtime a scenario names for a configuration; a bad name fails with the configuration's id, one line, exit 2. */
function scenarioRuntime(runtimeOf: RuntimeOf, host: string, configId: string): Runtime {
  try {
    return runtimeOf(host);
  } catch (error) {
    throw new OomlabError('SCENARIO_INVALID', `${configId}: host(config).runtime \`${host}\`: ${(error as Error).message}`);
  }
}

function dockerOnly(host: string): Runtime {
  if (host === 'docker') return dockerRuntime;
  throw new OomlabError('SCENARIO_INVALID', `this command runs configurations on docker only; run the scenario with \`oomlab run\` for ${host}`);
}

/** The one line saying that a scenario's hosts won over `--host`, or undefined when they agree or no `--host` was given. */
export function hostOverrideLine(groups: readonly HostGroup[], runHost: string | undefined): string | undefined {
  // Without --host the scenario's host is simply where it runs: nothing was overridden.
  if (runHost === undefined) return undefined;
  const overridden = groups.filter((group) => group.fromScenario && group.host !== runHost);
  if (overridden.length === 0) return undefined;
  const count = overridden.reduce((total, group) => total + group.configs.length, 0);
  return `--host ${runHost} does not apply to ${count} configuration(s): the scenario puts them on ${overridden.map((group) => group.host).join(', ')}`;
}

/** A host connected and surveyed: its facts, its images resolved, its configurations with what it cannot run marked. */
export interface OpenedHost {
  group: HostGroup;
  connection: RuntimeConnection;
  host: HostFacts;
  images: Map<string, ImageResolution>;
  configs: PlannedConfig[];
}

export interface OpenHostContext {
  scenario: Scenario;
  signal: AbortSignal;
  pull: boolean;
  progress: (progress: Progress) => void;
}

/** Connects the group's runtime (boots its lab VM), reads the node, resolves the images and marks skips; the connection is closed again if any of that fails. */
export async function openHost(group: HostGroup, context: OpenHostContext): Promise<OpenedHost> {
  const { scenario, signal, progress } = context;
  const message = (text: string) => progress({ kind: 'message', text });
  const wanted = new Set(group.configs.flatMap((c) => c.instances.map((i) => i.image)));
  // The images go along: an engine that has to be started builds what it lacks meanwhile; a lab boots with them.
  const connection = await group.runtime.connect({ onProgress: message, images: [...wanted], signal });
  try {
    // A run killed outright leaves THP switched: put it back before reading the host.
    for (const setting of await connection.nodeSettings.restoreAbandoned()) message(`restored ${setting.path} to ${setting.value}, left switched by a run that died`);
    // A lab VM's facts are the guest's, read through its agent; its shape, accelerator and boot cost travel with them.
    const host = connection.lab ? { ...(await readNodeFacts(connection.node)), lab: connection.lab } : await readHostFacts();
    const images = new Map<string, ImageResolution>();
    for (const image of wanted) images.set(image, await connection.resolveImage(image, { pull: context.pull, onProgress: message, signal }));
    const room = await connection.holdRoom?.(message);
    if (room && host.lab) host.lab = { ...host.lab, room };
    if (scenario.probes?.includes('file-table') && connection.lab) message('file-table probe skipped: it reads /proc of this host, not of a lab VM');
    else if (scenario.probes?.includes('file-table')) await probeImages(connection, host.nofileHardLimit, images, signal, progress);
    const thpUnswitchable = group.configs.some((c) => c.host?.thp) ? await connection.nodeSettings.thpUnswitchableReason() : undefined;
    // The same plan, with what this host cannot run marked: no second pass over the scenario.
    const configs = withSkips(group.configs, (image) => images.get(image)?.reason, {
      numaNodes: host.numaNodes,
      canLowerOomScoreAdj: host.canLowerOomScoreAdj,
      ...(thpUnswitchable ? { thpUnswitchable } : {}),
    });
    // A lab container with no rlimit of its own gets its runtimes' LimitNOFILE (its soft limit), not the node's ceiling.
    const model = predictMemory(configs, { defaultNofile: runtimesNofileSoft(host) ?? host.nofileHardLimit, cpus: connection.lab?.vcpus ?? availableParallelism() });
    for (const warning of model.cannotStart) message(`memory model: ${warning}`);
    if (model.overLimitUnderLoad > 0)
      message(`memory model: ${model.overLimitUnderLoad} server instance(s) exceed their limit in the worst case under load (every connection at its buffers' maximum)`);
    if (signal.aborted) throw new CancelledError('before it started');
    return { group, connection, host, images, configs };
  } catch (error) {
    await connection.close?.();
    throw error;
  }
}

/** The soft nofile a lab's runtimes start containers with (`N`, `SOFT:HARD`, `infinity` = fs.nr_open); undefined off a lab or with Debian's own units. */
export function runtimesNofileSoft(host: HostFacts): number | undefined {
  const nofile = host.lab?.runtimeNofile;
  if (nofile === undefined) return undefined;
  if (nofile === 'infinity') return host.lab?.nrOpen;
  const soft = Number(String(nofile).split(':')[0]);
  return Number.isInteger(soft) && soft > 0 ? soft : undefined;
}
