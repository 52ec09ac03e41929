// The engine seam: what the orchestrator, the observers and the CLI need from a container engine, in
// oomlab's own words and nothing of how an engine does it. Docker is one implementation (./docker/);
// a lab VM or Kubernetes is another folder exporting an object that satisfies `Runtime`.
import type { EngineLostError } from '../0-model/errors.ts';
import type { InstanceSpec } from '../1-scenario/index.ts';
import type { StepAction } from '../1-scenario/steps.ts';
import type { NofilePlan } from './nofile-shim.ts';
import type { MysqlEndpoint } from '../0-model/endpoint.ts';
import type { LabHostFacts, LabRoomFacts } from '../0-model/host.ts';

/** The actions of an instance's lifecycle the orchestrator routes into a timeline (docker's names; a Pod's are mapped onto them). */
export const ROUTED_ACTIONS = ['oom', 'die', 'kill', 'start'] as const;

/** One lifecycle event of an instance of the run, keyed by the instance's `containerId`. */
export interface InstanceEvent {
  timeMs: number;
  action: string;
  containerId: string;
  exitCode?: number;
}

/** What every object of a run is labelled with, so cleanup finds it whatever happened. */
export interface RunLabels {
  runId: string;
  scenario: string;
}

export interface ConnectOptions {
  /** Start the engine when none answers (root only). @default true */
  autoStart?: boolean;
  /** Install the engine first when it is missing; false starts only one that is installed. @default true */
  install?: boolean;
  onProgress?: (message: string) => void;
  /** The images the run will need: an engine that has to be started builds what it lacks meanwhile; a lab VM boots from a disk that already holds them. */
  images?: readonly string[];
  /** The run's signal: a connection that boots something (a lab VM) stops booting when it aborts. */
  signal?: AbortSignal;
}

/** What starting an instance needs beyond its spec. */
export interface StartContext {
  run: RunLabels;
  configId: string;
  configIndex: number;
  hostNofileHardLimit: number;
  /** Host path of the compiled shim; needed only when nofile is emulated. */
  shimPath: () => Promise<string>;
  /** The side budget's cgroup, when the instance shares a simulated host's memory. */
  cgroupParent?: string;
}

export interface InstanceState {
  status: string;
  running: boolean;
  oomKilled: boolean;
  exitCode: number;
  /** The node's pid of the instance's first process while it runs. */
  pid?: number;
}

export type ReadyResult = { ready: true; afterMs: number } | { ready: false; afterMs: number; why: 'exited' | 'timeout' | 'cancel' };

/** Where an instance lives on the node, for the observers that read its cgroup there. */
export interface InstanceLocation {
  /**
   * Cgroup directories by v1 controller (on cgroup v2 both are the unified directory), and the unified (v2)
   * directory, which a v1 host's hybrid hierarchy also has (its `memory.pressure`); undefined once the instance is gone.
   */
  cgroupDirs: { memory?: string; cpuacct?: string; unified?: string };
  /** The server's pid on the node while it runs (the entrypoint execs the server). */
  hostPid?: number;
  /** Where these paths and pids are read when the node is not this host (a lab VM); absent: this host. */
  node?: NodeAccess;
}

/** An instance that was created and started; disposing it removes it, whatever state it is in. */
export interface StartedInstance extends AsyncDisposable {
  readonly spec: InstanceSpec;
  readonly containerId: string;
  readonly containerName: string;
  /** The instance's hostname: the syscall tracer tells instances apart by it. */
  readonly hostname: string;
  readonly port: number | undefined;
  readonly nofile: NofilePlan;
  readonly startedAt: number;
  readonly exited: Promise<{ exitCode: number }>;
  hasExited(): boolean;
  endpoint(): MysqlEndpoint;
  waitReady(timeoutMs: number, signal: AbortSignal): Promise<ReadyResult>;
  state(): Promise<InstanceState>;
  logTail(lines: number): Promise<string>;
  /** Where it lives on the node; found once while it runs and remembered, since its cgroup vanishes with it. */
  locate(): Promise<InstanceLocation>;
}

export interface ImageResolution {
  name: string;
  available: boolean;
  /** `copied`: saved from this host's engine and loaded into a lab VM's (never pulled). */
  source?: 'local' | 'built' | 'pulled' | 'copied';
  /** Why it is not available and how to get it. */
  reason?: string;
  /** How long an offline build took, when this run had to build it. */
  builtInMs?: number;
  /** How long `docker save` here → load into the lab VM's engine took. */
  copiedInMs?: number;
}

export interface ResolveOptions {
  /** Pull from a registry when missing. Off by default: a pull sends traffic off this host. @default false */
  pull?: boolean;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

/** An image as the engine has it: recipe images are checked against their recipe, any other is found or not. */
export type ImageState =
  | { state: 'good'; recipe: string; recipeHash: string }
  | { state: 'stale'; recipe: string; why: string }
  | { state: 'broken'; recipe: string; missing: string[] }
  | { state: 'unchecked'; recipe: string; why: string }
  | { state: 'missing'; recipe?: string }
  | { state: 'present' };

export interface LoadedArchive {
  /** `repo:tag` of every image the archive carried a name for. */
  tags: string[];
  /** Images the archive carried without a name (`docker save IMAGE_ID`). */
  untagged: string[];
  bytes: number;
  durationMs: number;
}

/** The engine's images, asked as the engine is: nothing here starts an engine or contacts a registry. */
export interface ImageStore {
  /** The offline recipe (a folder of docker/) that builds this image here, when one does. */
  recipeOf(name: string): string | undefined;
  /** Every image an offline recipe builds. */
  recipeImages(): string[];
  state(name: string): Promise<ImageState>;
  /** Server images the engine holds beyond the recipes' own. */
  serverImages(): Promise<string[]>;
  load(file: string): Promise<LoadedArchive>;
  /** One line: an image that is not here and how to get it. */
  missingReason(name: string): string;
}

export interface RemovedContainer {
  id: string;
  name: string;
  runId: string;
  /** What had to be freed first (a leftover process killed, a mount released); empty for a plain removal. */
  released: string[];
}

/** A container the engine cannot remove even once nothing this host shows holds it any more. */
export interface StuckContainer {
  id: string;
  name: string;
  runId: string;
  /** The engine's state: `dead` after a failed removal (which `docker ps` shows as "Removal In Progress"), or `removing`. */
  state: string;
  /** The engine's refusal, first line. */
  reason: string;
  /** What clean did and what it could not do, before giving up. */
  released: string[];
  /** One line: what to do by hand. */
  byHand: string;
}

export interface CleanResult {
  removed: RemovedContainer[];
  /** Containers the engine cannot remove; cleaning goes on past them and they are reported apart. */
  stuck: StuckContainer[];
  keptLive: number;
}

/** `oomlab clean`: what dead runs left on the engine and the node, removed. */
export interface CleanReport extends CleanResult {
  /** Unchecked images of builds whose builder died. */
  images: string[];
  /** Side budgets' cgroups of dead runs. */
  sideCgroups: string[];
}

/** A simulated host's memory that its instances share. */
export interface SideBudget {
  side: string;
  /** Given to the instances of the side as their cgroup parent. */
  cgroupParent: string;
  limitBytes: number;
  /** Where the budget's own cgroup is on the node: its usage counts every tenant, a step's neighbours too. */
  locate(): Promise<InstanceLocation>;
  remove(): Promise<void>;
}

/** What a fault acts on: the configuration's started instances, its side budgets, its log. */
export interface FaultTarget {
  run: RunLabels;
  configId: string;
  configIndex: number;
  /** Started instances by name. */
  instances: ReadonlyMap<string, StartedInstance>;
  /** Side name → that side budget's cgroup parent. */
  cgroupParents: ReadonlyMap<string, string>;
  signal: AbortSignal;
  /** Appends to the run's log file. */
  log: (line: string) => void;
  /** The scenario file's folder: a `run` step's `$` starts there. */
  cwd: string;
  /** The step that applies the fault: a container it starts takes its name (unique in the configuration). */
  step?: string;
}

/** A fault in place: the line a report shows, what a `run` step printed, and how to put things back. */
export interface AppliedFault {
  detail: string;
  /** What the undo does, when it reads differently from `detail` (`memory limit 1.4 GiB → 8 GiB` after `8 GiB → 1.4 GiB`). @default `detail` */
  undoDetail?: string;
  /** A memory limit changed on a live instance: its own limit after the fault, and after the undo (absent: none). */
  memoryLimit?: { instance: string; ownBytes: number; undoneOwnBytes?: number };
  output?: string;
  /** A container the fault started (a neighbour, a CPU hog): the post-mortem reads the kernel's kills of it too. */
  started?: { instance: string; containerId: string };
  /** Idempotent, and quiet when the instance is already gone. */
  undo?: () => Promise<void>;
}

export type ThpMode = 'always' | 'madvise' | 'never';

/** A node setting switched for one configuration. */
export interface HostSwitch {
  path: string;
  original: string;
  applied: string;
  restore(): Promise<void>;
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
  /** Puts back what a dead run left switched (`all`: also what a live run switched); returns what was restored. */
  restoreAbandoned(options?: { all?: boolean }): Promise<{ path: string; value: string }[]>;
  /** The node's host-settings lease: one run at a time switches THP or drops caches there. */
  acquireLease(options: Omit<HostLeaseOptions, 'path' | 'pid'>): Promise<HostLease>;
}

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
  /** `oomlab clean`: removes what dead runs left (`all`: live runs' too). */
  clean(options?: { all?: boolean }): Promise<CleanReport>;
  createSideBudget(runId: string, configIndex: number, side: string, limitBytes: number): Promise<SideBudget>;
  /** A fault of the chaos timeline on this engine's instances; its `undo` puts back what it changed. */
  applyFault(action: StepAction, target: FaultTarget): Promise<AppliedFault>;
  readonly images: ImageStore;
  readonly node: NodeAccess;
  readonly nodeSettings: NodeSettings;
  /** Set when the engine runs in a lab VM: its shape, accelerator and boot cost, for the report. */
  readonly lab?: LabHostFacts;
  /**
   * The last of the set-up, once the run's images are in place and before any configuration: a lab VM whose shape
   * asks for a room holds its ballast now, so what copying the images took is counted. Returns the room's facts.
   */
  holdRoom?(onProgress: (line: string) => void): Promise<LabRoomFacts | undefined>;
  /** Releases what connecting acquired (a lab VM), on every path of the run; Docker's engine outlives the run. Idempotent. */
  close?(): Promise<void>;
}

/** One line of what `oomlab doctor` says of the engine. */
export interface SurveyLine {
  name: string;
  status: 'ok' | 'limited' | 'missing';
  detail: string;
}

/** What `oomlab doctor` learns of an engine without starting it: its lines, and its images when it answers. */
export interface EngineSurvey {
  lines: SurveyLine[];
  /** The engine answered now: `images` may be asked; else only what needs no engine (`recipeOf`). */
  answers: boolean;
  images: ImageStore;
}

/** A container engine oomlab can run scenarios on. */
export interface Runtime {
  readonly name: string;
  /** True when the engine answers now, without connecting or starting anything. */
  answers(): Promise<boolean>;
  connect(options?: ConnectOptions): Promise<RuntimeConnection>;
  /** Asks only an engine that already answers; never starts or installs one, never contacts a registry. */
  survey(): Promise<EngineSurvey>;
  /** Checks an image archive before the engine is asked, so a typo needs no engine; returns its size in bytes. */
  checkArchive(file: string): Promise<number>;
  /** The node's settings, reachable without the engine: what a dead run left switched is put back first. */
  readonly nodeSettings: NodeSettings;
}

/** Who holds a node's host-settings lease. */
export interface HostLeaseHolder {
  pid: number;
  runId: string;
  scenario: string;
  /** ISO time the lease was taken. */
  since: string;
}

export interface HostLeaseOptions {
  runId: string;
  scenario: string;
  /** How long to wait for another run's lease before refusing. @default 600_000 */
  waitMs?: number;
  /** Called once when another live run holds the lease, before waiting. */
  onWaiting?: (holder: HostLeaseHolder) => void;
  signal?: AbortSignal;
  /** @default HOST_LEASE_FILE */
  path?: string;
  /** @default 1_000 */
  pollMs?: number;
  /** @default process.pid */
  pid?: number;
}

export interface HostLease {
  readonly holder: HostLeaseHolder;
  release(): Promise<void>;
}
