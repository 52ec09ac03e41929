// The result model: what a run produced, the shape of report.json. Every report format reads this and
// nothing else; it imports nothing above 0-model.
import type { AxisValue, Config, Outcome } from './config.ts';
import type { Evidence, InstanceJudgement, Margin, OomKill, Verdict } from './judgement.ts';
import type { HostFacts, LabHostFacts } from './host.ts';
import type { Observation } from './observation.ts';
import type { HttpLoadResult, LatencySummaryMs, StormResult } from './workload-result.ts';
import type { MemoryPrediction } from './prediction.ts';
import type { SignatureMatch } from './signature.ts';

// 2: samples in columns (report-file.ts); 1 is still read.
export const REPORT_SCHEMA_VERSION = 2;

/** Why a stage or a configuration ended. */
export type EndedBy = 'done' | 'timeout' | 'cancel' | 'error';

export interface ConfigMetrics {
  openFilesLimit?: number;
  /** The anonymous memory's peak where measured (the OOM killer weighs it), else the cgroup's high-water mark. */
  peakMemoryBytes?: number;
  /** The page cache beside the anonymous peak. */
  peakCacheBytes?: number;
  /** The cgroup's high-water mark, page cache counted. */
  peakUsageBytes?: number;
  memoryLimitBytes?: number;
  readyAfterMs?: number;
  /** Which load driver ran (`storm`, `k6`, ...). */
  driver?: string;
  /** Query latency of the workload, from each statement's send. */
  latencyMs?: LatencySummaryMs;
  /** Connect latency from each session's intended start (no coordinated omission). */
  connectLatencyMs?: LatencySummaryMs;
  errorsByCode?: Record<string, number>;
  sessions?: StormResult['sessions'];
  /** Requests of an HTTP burst (k6 or the stand-in). */
  requests?: HttpLoadResult['requests'];
  achievedRatio?: number;
  /** When and on which side a storm stopped keeping up (the driver's lag apart from the server's latency). */
  saturated?: StormResult['saturated'];
  driverLagMs?: StormResult['driverLagMs'];
  /** Highest anonymous memory (cgroup rss) sampled over the configuration: start-up, workload and settle. */
  peakRssBytes?: number;
  /** Highest Threads_connected / Max_used_connections the server reported. */
  peakConnections?: number;
  /** The last SEMAPHORES section that showed waits (else the last one). */
  innodbSemaphoreExcerpt?: string;
  /** Per server the workload drove: the semaphore waits its SHOW ENGINE INNODB STATUS listed, or why it cannot list any. */
  semaphores?: Record<string, SemaphoreSummary>;
  /** Requests and errors per replica through the app tier (HTTP bursts). */
  byReplica?: Record<string, { requests: number; errors: number; errorsByCode: Record<string, number> }>;
  /** Peak ratio of connections on the second replica to the first (B:A) before any kill. */
  connectionRatio?: number;
  /** The preflight memory model's worst case for the deciding instance (plan/memory-model). */
  predictedPeakBytes?: number;
  /** The memory model's peak for the load the scenario drives on the deciding instance (plan/load-peak): `MemoryPrediction.load.peakBytes`. */
  predictedLoadPeakBytes?: number;
  /** The connections that load peak assumed: what the workload can hold open on the instance at once. */
  predictedLoadConnections?: number;
  /** The memory model's expected peak for the deciding instance (anonymous memory): `MemoryPrediction.expected.bytes`. */
  expectedPeakBytes?: number;
}

/** What a server's SHOW ENGINE INNODB STATUS samples listed under SEMAPHORES over a workload. */
export interface SemaphoreSummary {
  /** The server's @@version: it decides whether the server can list waits at all. */
  version?: string;
  /** Samples read, and how many of them listed at least one wait. */
  samples: number;
  samplesWithWaits: number;
  /** Waits listed over all samples (a wait still there a second later is counted again). */
  waits: number;
  /** Where the threads waited, most waits first. */
  sites: SemaphoreSite[];
  /** Why this server cannot list waits (MariaDB 10.6+), decided from `version`. */
  unavailable?: string;
}

/** One place threads waited at: the file and line of the wait and the latch. */
export interface SemaphoreSite {
  file: string;
  line: number;
  /** `Mutex`, `X-lock`, `S-lock`, `SX-lock` or `X-lock (wait_ex)`. */
  request?: string;
  lock?: string;
  waits: number;
  /** In how many samples it appeared. */
  samples: number;
  /** The longest wait printed, in ms (the server counts whole seconds). */
  longestMs: number;
  /** 1 when any of its waits had others queued behind it. */
  waitersFlag?: number;
}

/** One claim of the scenario about its load, as judged: a line of the verdict's reason. */
export interface ExpectationCheck {
  /** The claim as declared: `B:A connection ratio ≥ 2`, `http_req_duration p(99)>2000`. */
  expected: string;
  /** The figure measured; absent when nothing measured it. */
  measured?: number;
  met: boolean;
  /** How far the figure fell from the bound, when it missed. */
  missedBy?: number;
  /** Whose figures were judged: the driver (`storm`, `http-stand-in`, `k6`) or `connections` for a ratio. */
  source: string;
  /** The line as the reason carries it: `B:A connection ratio 1.4 < 2 (short by 0.6)`. */
  line: string;
  /** Why the scenario claims it, in the incident's words. */
  because?: string;
  /** How far the measured figure was from the bound, met or not. */
  margin?: Margin;
  /** The step of the chaos timeline the claim refers to (`afterStep`, `oomKilledWithin`, a load expectation's `after`). */
  step?: string;
}

/** One shape for every configuration, whatever happened to it. */
export interface ConfigResult {
  id: string;
  axes: Config;
  /** The outcome of the configuration's first instance that was not as expected, else of the first. */
  outcome: Outcome | null;
  verdict: Verdict;
  reason: string;
  expected: Record<string, Outcome>;
  /** Why each instance's expected outcome is expected, in the scenario's words (its `because`); absent in reports written before it was kept. */
  because?: Record<string, string>;
  evidence: Evidence[];
  metrics: ConfigMetrics;
  instances: InstanceJudgement[];
  /** The scenario's claims about the load (latency, errors, connection ratio, thresholds), each judged. */
  expectations?: ExpectationCheck[];
  emulated: EmulatedFact[];
  durationMs: number;
  endedBy: EndedBy;
  observations: Observation[];
  serverLogTail?: string;
  /** The preflight memory model per server instance: worst case, its terms, its assumptions. */
  predictions?: Record<string, MemoryPrediction>;
  /** Memory budgets instances share (a scenario's `host.sides`); a member's `memoryLimitBytes` is then its side's. */
  sharedMemory?: SharedMemoryBudget[];
  /** Each instance the judge found OOM-killed (neighbours too), once: every format reads this, none re-derives it. Absent in reports written before it was kept. */
  oomKills?: OomKill[];
  /** The figure that decided each judgement against its bound (6-judge/margins.ts); with `--repeat`, the representative repeat's. */
  margins?: Margin[];
  /** A survivor's load that was not served (it barely ran, clients were refused, its p99 ballooned): not a clean pass. Absent in reports written before it was kept. */
  loadCaveats?: LoadCaveat[];
  /** With `--repeat K` (K > 1): every run of the configuration, in order; the verdict is theirs only when all agree. */
  repeats?: RepeatRun[];
  /** How many configurations ran beside it (`--jobs`); absent in reports written before `--jobs` existed. */
  concurrency?: ConfigConcurrency;
  /** The host it ran on (`docker`, `lab:SHAPE`), set when the scenario's `host(config).runtime` placed configurations on several hosts. */
  ranOn?: string;
}

/** Why a survivor's pass is not clean (0-model/load-caveats.ts decides it). */
export interface LoadCaveat {
  /** `barely-ran`: most of what the load asked for never completed; `refused`: clients were turned away or failed; `slow`: its p99 ballooned. */
  kind: 'barely-ran' | 'refused' | 'slow';
  /** `only 34 of 1,500 sessions the load asked for completed`. */
  text: string;
}

/** The concurrency a configuration ran under. */
export interface ConfigConcurrency {
  /** The most configurations it was allowed to run beside, itself included (1: alone). */
  jobs: number;
  /** The job slot it ran in, from 1; with `--repeat`, each repeat's in order. */
  slots: number[];
  /** The most configurations running at once while it ran, itself included. */
  runningAtMost: number;
  /** Why it was allowed fewer than the run's jobs (a host-wide switch, a load, a memory limit it lacks). */
  why?: string;
}

/** The run's `--jobs`: how many configurations could run at once, and why that many. */
export interface RunJobs {
  jobs: number;
  source: 'option' | 'default';
  why: string;
  /** The sum of the memory limits running at once stayed within this. */
  memoryBudgetBytes?: number;
}

/** One run of a configuration under `--repeat`: its verdict and the figures that decided it. */
export interface RepeatRun {
  /** 1-based. */
  repeat: number;
  verdict: Verdict;
  outcome: Outcome | null;
  endedBy: EndedBy;
  reason: string;
  durationMs: number;
  /** The deciding figures of this run (peak memory and limit, open_files_limit, B:A ratio, p99 latency, peak connections). */
  figures: RepeatFigures;
  margins: Margin[];
}

export type RepeatFigures = Pick<ConfigMetrics, 'openFilesLimit' | 'peakMemoryBytes' | 'memoryLimitBytes' | 'peakRssBytes' | 'peakConnections' | 'connectionRatio'> & {
  latencyP99Ms?: number;
};

/** One side's budget: its limit covers the sum of its instances (A and its neighbour), not each alone. */
export interface SharedMemoryBudget {
  side: string;
  instances: string[];
  limitBytes: number;
  /** The steps that start containers in it (neighbours): tenants beside the instances, that the limit bounds too. */
  steps?: string[];
  /** The budget's own cgroup's high-water mark (page cache counted): every tenant's, the steps' neighbours too. Absent: not measured. */
  peakBytes?: number;
  /** Its highest anonymous memory sampled (memory.stat total_rss / anon), every tenant's. */
  anonPeakBytes?: number;
}

export interface EmulatedFact {
  instance: string;
  what: 'nofile';
  requested: number;
  realLimit: number;
  how: string;
}

export interface RunReport {
  schemaVersion: number;
  scenario: string;
  incident: string;
  scenarioFile: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  endedBy: EndedBy;
  error?: string;
  host: HostFacts;
  /** Every image the run needed; `builtInMs` when this run had to build it offline; `copiedInMs` when it was copied into a lab VM. */
  images: { name: string; available: boolean; source?: string; reason?: string; builtInMs?: number; copiedInMs?: number; fileTable?: FileTableProbe }[];
  /** Everything that was emulated rather than real, per configuration. */
  emulated: (EmulatedFact & { configId: string })[];
  /** `flaky` is absent in reports written before `--repeat` existed. */
  summary: Record<Exclude<Verdict, 'flaky'>, number> & { flaky?: number };
  configs: ConfigResult[];
  /** Set with --baseline: what got worse than in the baseline run. */
  baseline?: BaselineComparison;
  /** Axes whose values came from `--set` instead of the scenario file. */
  overrides?: AxisOverride[];
  /** Host-wide settings read at the run's start and end that differ (another run, or a person, switched them during this one). */
  hostChanges?: HostSettingChange[];
  /** sha256 of the scenario file's text: `oomlab merge` refuses shards of two versions of a scenario. */
  scenarioSha256?: string;
  /** Set by `--shard I/N`: which part of the matrix this run is. */
  shard?: ShardInfo;
  /** Set by `oomlab merge`: the shard reports this one was made from, each with its own host and times. */
  merged?: { shards: MergedShard[] };
  /** A scenario made from an incident: production's kill beside the lab's, and whether it was reproduced. */
  signature?: SignatureMatch;
  /** How many configurations ran at once (`--jobs`); absent in reports written before `--jobs` existed. */
  jobs?: RunJobs;
  /** Every lab VM the run booted, in boot order, when the scenario placed configurations on several hosts; `host` is then the first one's. */
  labs?: LabHostFacts[];
}

/** One part of a split matrix, and the whole matrix's configuration ids, so a merge can name what no shard ran. */
export interface ShardInfo {
  /** From 1, as `--shard 2/3`. */
  index: number;
  count: number;
  matrixIds: string[];
}

/** A shard report as `oomlab merge` found it: its own run's identity, times and host, and what it ran. */
export type MergedShard = Pick<RunReport, 'runId' | 'startedAt' | 'finishedAt' | 'durationMs' | 'endedBy' | 'error' | 'host'> & {
  index: number;
  count: number;
  /** The shard's report.json, as given. */
  file: string;
  configIds: string[];
};

/** One `--set axis=value,…`: the values the run used and those the scenario file lists. */
export interface AxisOverride {
  axis: string;
  values: AxisValue[];
  scenarioValues: AxisValue[];
}

export type Progress =
  | { kind: 'message'; text: string }
  | { kind: 'schedule'; jobs: RunJobs }
  /** `number` is the configuration's #N in the report (its place in report.configs, from 1), of `total`. */
  | { kind: 'config-start'; index: number; number: number; total: number; id: string; slot?: number }
  | { kind: 'phase'; index: number; phase: string }
  | { kind: 'config-end'; index: number; number: number; total: number; result: ConfigResult; finished?: number }
  | { kind: 'repeat-end'; index: number; repeat: number; of: number; result: ConfigResult }
  | { kind: 'report'; dir: string };

/** One way a configuration got worse than in the baseline run. */
export interface Regression {
  configId: string;
  what: 'verdict' | 'outcome' | 'peak memory' | 'p99 latency' | 'errors' | 'connection ratio' | 'missing';
  before: string;
  after: string;
}
export interface BaselineComparison {
  /** The baseline report.json, as given. */
  file: string;
  baselineRunId: string;
  compared: number;
  regressions: Regression[];
}

/** One start of a server at a given nofile, and what its process had allocated once ready. */
export interface FileTableSample {
  nofile: number;
  /** The getrlimit shim reported nofile: the host's hard limit is lower. */
  emulated: boolean;
  openFilesLimit: number;
  vmDataBytes: number;
  rssAnonBytes: number;
}

/**
 * The file-table probe of an image: the server started at two nofile values with open_files_limit set
 * to each and every other nofile-sized setting pinned; the slope is what one descriptor costs it.
 */
export interface FileTableProbe {
  image: string;
  samples: FileTableSample[];
  /** Slope of anonymous resident memory (RssAnon) over open_files_limit: 16 where the table is preallocated and zeroed, as the cgroup is charged. */
  bytesPerDescriptor: number;
  /** Slope of private mappings (VmData): noisier, glibc creates its 64 MiB thread arenas as threads race. */
  mappedBytesPerDescriptor: number;
  /** The slope carried to a nofile the host cannot give, containerd's "infinity" by default. */
  predicted: { nofile: number; bytes: number };
  durationMs: number;
}

/** The summary's counts, from the configurations themselves (a run's, or shards' merged). */
export function summarize(configs: readonly ConfigResult[]): RunReport['summary'] {
  const count = (verdict: ConfigResult['verdict']) => configs.filter((c) => c.verdict === verdict).length;
  return { pass: count('pass'), fail: count('fail'), skipped: count('skipped'), error: count('error'), flaky: count('flaky') };
}

/** A host-wide setting that was not the same at the end of the run as at its start. */
export interface HostSettingChange {
  setting: 'THP';
  atStart: string;
  atEnd: string;
}
