// The engine seam: what the orchestrator, the observers and the CLI need from a container engine, and
// nothing of how Docker does it. `dockerRuntime` delegates to the Docker files of this folder; a second
// engine (Kubernetes, docs/kubernetes.md) is another folder exporting an object that satisfies `Runtime`.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { EngineLostError } from '../0-model/errors.ts';
import type { InstanceSpec } from '../1-scenario/index.ts';
import { cleanLeftovers, removeRunContainers, type CleanResult } from './cleanup.ts';
import { connectEngine, engineAnswers, watchEngine, type ConnectOptions, type Engine } from './engine.ts';
import { watchRunEvents, type ContainerEvent } from './events.ts';
import { restoreAbandonedHostSettings, switchHostSetting, THP_ENABLED_PATH, thpUnswitchableReason, type HostSwitch, type ThpMode } from './host-switches.ts';
import { acquireHostLease, type HostLease, type HostLeaseOptions } from './host-lease.ts';
import { resolveImage, type ImageResolution, type ResolveOptions } from './images.ts';
import { startInstance, type InstanceContext, type StartedInstance } from './instance.ts';
import { createSideBudget, type SideBudget } from './side-budget.ts';
import { applyFault, type AppliedFault, type FaultTarget } from './faults/index.ts';
import type { StepAction } from '../1-scenario/steps.ts';

/** The actions of an instance's lifecycle the orchestrator routes into a timeline (docker's names; a Pod's are mapped onto them). */
export const ROUTED_ACTIONS = ['oom', 'die', 'kill', 'start'] as const;

/** One lifecycle event of an instance of the run, keyed by the instance's `containerId`. */
export type InstanceEvent = ContainerEvent;

/** Where an instance lives on the node, for the observers that read its cgroup and /proc there. */
export interface InstanceLocation {
  /** The memory cgroup directory on the node (`memory.peak`/`memory.max_usage_in_bytes` are read there); undefined once it is gone. */
  memoryCgroupDir: string | undefined;
  /** The server's pid on the node while it runs (the entrypoint execs the server). */
  hostPid: number | undefined;
}

/**
 * The node's kernel and files. Docker's node is this host; a Kubernetes node is reached through a
 * privileged agent on it, so the observers keep their parsers and change only where the text comes from.
 */
export interface NodeAccess {
  /** A file of the node (`/sys/fs/cgroup/…`, `/proc/<pid>/status`, `/proc/vmstat`); undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** The node's kernel ring buffer, as `dmesg` prints it: the OOM killer's own lines. */
  kernelLog(signal?: AbortSignal): Promise<string>;
}

/** Settings of the node itself, switched for one configuration and put back even after a crash. */
export interface NodeSettings {
  thpUnswitchableReason(): Promise<string | undefined>;
  switchThp(mode: ThpMode): Promise<HostSwitch>;
  /** Puts back what a dead run left switched; returns what was restored. */
  restoreAbandoned(): Promise<{ path: string; value: string }[]>;
  /** The node's host-settings lease: one run at a time switches THP or drops caches there. */
  acquireLease(options: Omit<HostLeaseOptions, 'path' | 'pid'>): Promise<HostLease>;
}

/** What starting an instance needs beyond its spec; the engine handle stays inside the connection. */
export type StartContext = Omit<InstanceContext, 'engine'>;

/** A connected engine: every call the pipeline makes once the engine answers. */
export interface RuntimeConnection {
  /** Where the engine is, for messages (`/var/run/docker.sock`, a kube context). */
  readonly where: string;
  answers(): Promise<boolean>;
  /** Calls `onLost` once when the engine stops answering, so a run ends with a report. */
  watch(onLost: (error: EngineLostError) => void): { stop(): void };
  resolveImage(name: string, options?: ResolveOptions): Promise<ImageResolution>;
  startInstance(spec: InstanceSpec, context: StartContext): Promise<StartedInstance>;
  /** Streams the run's instance events (oom, die with exit code, kill, start) until stopped. */
  watchRunEvents(runId: string, onEvent: (event: InstanceEvent) => void): Promise<{ stop(): void }>;
  /** Removes whatever the run still holds on the engine; returns how many objects. */
  removeRun(runId: string): Promise<number>;
  /** `oomlab clean`: removes what dead runs left. */
  cleanLeftovers(options?: { all?: boolean }): Promise<CleanResult>;
  /** A simulated host's memory that its instances share. */
  createSideBudget(runId: string, configIndex: number, side: string, limitBytes: number): Promise<SideBudget>;
  /** A fault of the chaos timeline on this engine's instances; its `undo` puts back what it changed. */
  applyFault(action: StepAction, target: Omit<FaultTarget, 'engine'>): Promise<AppliedFault>;
  /** Called once an instance started; its cgroup vanishes with it, so callers keep what this returns. */
  locate(instance: StartedInstance): Promise<InstanceLocation>;
  readonly node: NodeAccess;
  readonly nodeSettings: NodeSettings;
}

/** A container engine oomlab can run scenarios on. */
export interface Runtime {
  readonly name: string;
  /** True when the engine answers now, without connecting or starting anything. */
  answers(): Promise<boolean>;
  connect(options?: ConnectOptions): Promise<RuntimeConnection>;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * The memory cgroup directory named by a `/proc/<pid>/cgroup` text: the v1 `memory` controller's line,
 * else the v2 `0::` line. Engine-neutral: runc writes the same file under Docker and under containerd.
 */
export function memoryCgroupDirOf(procCgroup: string, root = CGROUP_ROOT): string | undefined {
  const lines = procCgroup.split('\n').map((line) => line.trim().split(':'));
  const v1 = lines.find((fields) => fields.length >= 3 && fields[1]!.split(',').includes('memory'));
  if (v1) return `${root}/memory${v1.slice(2).join(':')}`;
  const v2 = lines.find((fields) => fields.length >= 3 && fields[0] === '0' && fields[1] === '');
  // A v2 path of `/` is the reader's own namespace root, not a container's cgroup.
  return v2 && v2.slice(2).join(':') !== '/' ? `${root}${v2.slice(2).join(':')}` : undefined;
}

const localNode: NodeAccess = {
  readFile: (path) => readFile(path, 'utf8').catch(() => undefined),
  kernelLog: async (signal) => (await execa('dmesg', [], { timeout: 5_000, ...(signal ? { cancelSignal: signal } : {}) })).stdout,
};

/** Docker's connection around a connected engine; nothing is called until a method is. */
export function dockerConnection(engine: Engine): RuntimeConnection {
  return {
    where: engine.where,
    answers: engineAnswers,
    watch: (onLost) => watchEngine(engine, onLost),
    resolveImage: (name, options) => resolveImage(engine, name, options),
    startInstance: (spec, context) => startInstance(spec, { ...context, engine }),
    watchRunEvents: (runId, onEvent) => watchRunEvents(engine, runId, onEvent),
    removeRun: (runId) => removeRunContainers(engine, runId),
    cleanLeftovers: (options) => cleanLeftovers(engine, options),
    createSideBudget,
    applyFault: (action, target) => applyFault(action, { ...target, engine }),
    async locate(instance) {
      const hostPid = (await instance.state().catch(() => undefined))?.pid;
      const procCgroup = hostPid ? await localNode.readFile(`/proc/${hostPid}/cgroup`) : undefined;
      return { memoryCgroupDir: procCgroup ? memoryCgroupDirOf(procCgroup) : undefined, hostPid };
    },
    node: localNode,
    nodeSettings: {
      thpUnswitchableReason: () => thpUnswitchableReason(),
      switchThp: (mode) => switchHostSetting(THP_ENABLED_PATH, mode),
      restoreAbandoned: () => restoreAbandonedHostSettings(),
      acquireLease: (options) => acquireHostLease(options),
    },
  };
}

/** The Docker engine through dockerode: the only runtime today, and the behaviour of every run so far. */
export const dockerRuntime = {
  name: 'docker',
  answers: engineAnswers,
  connect: async (options?: ConnectOptions) => dockerConnection(await connectEngine(options)),
} satisfies Runtime;
