// The schemas of report.json, checked whenever a report is read back (`oomlab report`, `--baseline`,
// `oomlab compare`, `oomlab merge`): version 1 (samples among the observations, RunReport's own shape)
// and version 2 (samples in columns, report-file.ts). Both mirror the types; the type test in report-schema-drift.ts
// fails to compile when either drifts from its type, so a field added to one must be added to the other.
import { z } from 'zod';
import { OUTCOMES } from './config.ts';

const num = z.number();
const str = z.string();
const outcome = z.enum(OUTCOMES);
const verdict = z.enum(['pass', 'fail', 'skipped', 'error', 'flaky']);
const margin = z.object({ what: str, measured: num, bound: num, unit: z.enum(['bytes', 'ms', '']), held: z.boolean(), distance: num, relative: num, line: str });
const endedBy = z.enum(['done', 'timeout', 'cancel', 'error']);
const axisValue = z.union([str, num]);

const evidence = z.object({ source: str, text: str });

const latency = z.object({ count: num, p50: num, p90: num, p99: num, p999: num, max: num });

const second = z.object({
  second: num,
  intended: num,
  started: num,
  errors: num,
  inFlight: num,
  latencyP50Ms: num.optional(),
  latencyP90Ms: num.optional(),
  latencyP99Ms: num.optional(),
});

const stormResult = z.object({
  driver: z.literal('storm'),
  durationMs: num,
  endedBy: z.enum(['done', 'cancel']),
  sessions: z.object({ intended: num, started: num, completed: num, failed: num, dropped: num, unfinished: num }),
  queries: z.object({ ok: num, failed: num }),
  connectLatencyMs: latency,
  queryLatencyMs: latency,
  sessionLatencyMs: latency,
  errorsByCode: z.record(str, num),
  perSecond: z.array(second),
  peakInFlight: num,
  achievedRatio: num,
  capHit: z.boolean(),
  driverLagMs: z.object({ p99: num, max: num }).optional(),
  serverConnectLatencyMs: latency.optional(),
  saturated: z.object({ side: z.enum(['driver', 'server']), second: num, intendedPerSecond: num, why: str }).optional(),
  client: z.enum(['lean', 'mysql2']).optional(),
});

const httpLoadResult = z.object({
  driver: z.enum(['k6', 'http-stand-in']),
  durationMs: num,
  endedBy: z.enum(['done', 'cancel']),
  requests: z.object({ intended: num, started: num, completed: num, failed: num, dropped: num, unfinished: num }),
  latencyMs: latency,
  errorsByCode: z.record(str, num),
  perSecond: z.array(second),
  peakInFlight: num,
  achievedRatio: num,
  capHit: z.boolean(),
  notes: z.array(str),
  k6: z.object({ exitCode: num.optional(), thresholdsCrossed: z.array(str) }).optional(),
});

const semaphoreWait = z.object({ thread: str, file: str, line: num, seconds: num, waitersFlag: num.optional(), lock: str.optional(), request: str.optional(), ended: z.boolean().optional() });

const sampleObservation = z.object({ kind: z.literal('sample'), t: num, instance: str, source: z.enum(['cgroup', 'status', 'host', 'workload', 'app-tier']), metric: str, value: num });

const eventObservations = [
  z.object({ kind: z.literal('docker-event'), t: num, instance: str, action: str, exitCode: num.optional() }),
  z.object({ kind: z.literal('container-state'), t: num, instance: str, status: str, oomKilled: z.boolean(), exitCode: num }),
  z.object({
    kind: z.literal('kernel-oom'),
    t: num,
    instance: str,
    process: str,
    pid: num,
    totalVmKb: num,
    anonRssKb: num,
    constraint: str,
    memcg: str,
    line: str,
    constraintLine: str.optional(),
    step: str.optional(),
    others: z.object({ rssKb: num, count: num, largest: z.array(z.object({ name: str, rssKb: num })) }).optional(),
  }),
  z.object({ kind: z.literal('limit'), t: num, instance: str, limitBytes: num.optional(), side: str.optional(), phase: z.enum(['start', 'step', 'undo']), step: str.optional() }),
  z.object({ kind: z.literal('memory-peak'), t: num, instance: str, peakBytes: num, limitBytes: num.optional(), source: str, anonPeakBytes: num.optional(), cacheBytes: num.optional() }),
  z.object({ kind: z.literal('server-variables'), t: num, instance: str, variables: z.record(str, str) }),
  z.object({ kind: z.literal('readiness'), t: num, instance: str, ready: z.boolean(), afterMs: num, why: str }),
  z.object({ kind: z.literal('syscall'), t: num, instance: str, pid: num, comm: str, syscall: str, lenBytes: num.optional(), flags: num.optional(), line: str }),
  z.object({ kind: z.literal('server-log'), t: num, instance: str, tail: str }),
  z.object({
    kind: z.literal('nofile'),
    t: num,
    instance: str,
    requested: z.union([num, z.literal('default')]),
    realLimit: z.union([num, z.literal('default')]),
    emulated: z.boolean(),
    proc: z.object({ pid: num, soft: num, hard: num.optional() }).optional(),
  }),
  z.object({ kind: z.literal('observer-unavailable'), t: num, observer: str, reason: str }),
  z.object({
    kind: z.literal('innodb-status'),
    t: num,
    instance: str,
    semaphoreWaits: z.array(semaphoreWait),
    osWaitReservations: num.optional(),
    osWaitSignals: num.optional(),
    historyListLength: num.optional(),
    excerpt: str,
    version: str.optional(),
  }),
  z.object({ kind: z.literal('workload'), t: num, instance: str, driver: str, result: z.discriminatedUnion('driver', [stormResult, httpLoadResult]) }),
  z.object({
    kind: z.literal('warm-up'),
    t: num,
    instance: str,
    targetFraction: num,
    pagesTotal: num,
    pagesDataBefore: num,
    pagesDataAfter: num,
    pageSizeBytes: num,
    full: z.boolean(),
    durationMs: num,
  }),
  z.object({
    kind: z.literal('step'),
    t: num,
    step: str,
    action: str,
    instance: str.optional(),
    phase: z.enum(['start', 'done', 'undo', 'failed', 'timeout', 'skipped']),
    detail: str,
    output: str.optional(),
  }),
] as const;

// Version 1 lists every observation, samples included; version 2 lists the others and keeps the samples in `samples`.
const observation = z.discriminatedUnion('kind', [...eventObservations, sampleObservation]);
const eventObservation = z.discriminatedUnion('kind', [...eventObservations]);
const sampleSeries = z.object({ instance: str, source: sampleObservation.shape.source, metric: str, t: z.array(num), value: z.array(num) });

const fileTableProbe = z.object({
  image: str,
  samples: z.array(z.object({ nofile: num, emulated: z.boolean(), openFilesLimit: num, vmDataBytes: num, rssAnonBytes: num })),
  bytesPerDescriptor: num,
  mappedBytesPerDescriptor: num,
  predicted: z.object({ nofile: num, bytes: num }),
  durationMs: num,
});

const memoryTerm = z.object({ name: str, bytes: num, formula: str, phase: z.enum(['start-up', 'global', 'per-connection']), detail: str.optional() });

const loadPeak = z.object({
  peakBytes: num,
  connections: num,
  boundBy: z.enum(['max_connections', 'maxInFlight', 'poolSize', 'arrivals']),
  formula: str,
  fits: z.boolean().optional(),
  headroomBytes: num.optional(),
  limitMustCover: z.enum(['worst-case', 'load']),
  terms: z.array(memoryTerm),
});

const expectedPeak = z.object({
  bytes: num,
  terms: z.array(memoryTerm),
  busyConnections: num,
  connectionsFormula: str,
  source: str,
  unknowns: z.array(str),
  fits: z.boolean().optional(),
  headroomBytes: num.optional(),
});

const memoryPrediction = z.object({
  predictedPeakBytes: num,
  limitBytes: num.optional(),
  fits: z.boolean().optional(),
  headroomBytes: num.optional(),
  terms: z.array(memoryTerm),
  openFilesLimit: num,
  assumptions: z.array(str),
  connectionsWithinLimit: num.optional(),
  load: loadPeak.optional(),
  expected: expectedPeak.optional(),
});

const semaphoreSummary = z.object({
  version: str.optional(),
  samples: num,
  samplesWithWaits: num,
  waits: num,
  sites: z.array(z.object({ file: str, line: num, request: str.optional(), lock: str.optional(), waits: num, samples: num, longestMs: num, waitersFlag: num.optional() })),
  unavailable: str.optional(),
});

const metrics = z.object({
  openFilesLimit: num.optional(),
  peakMemoryBytes: num.optional(),
  peakCacheBytes: num.optional(),
  peakUsageBytes: num.optional(),
  memoryLimitBytes: num.optional(),
  readyAfterMs: num.optional(),
  driver: str.optional(),
  latencyMs: latency.optional(),
  connectLatencyMs: latency.optional(),
  errorsByCode: z.record(str, num).optional(),
  sessions: stormResult.shape.sessions.optional(),
  requests: httpLoadResult.shape.requests.optional(),
  achievedRatio: num.optional(),
  saturated: stormResult.shape.saturated,
  driverLagMs: stormResult.shape.driverLagMs,
  peakRssBytes: num.optional(),
  peakConnections: num.optional(),
  innodbSemaphoreExcerpt: str.optional(),
  semaphores: z.record(str, semaphoreSummary).optional(),
  byReplica: z.record(str, z.object({ requests: num, errors: num, errorsByCode: z.record(str, num) })).optional(),
  connectionRatio: num.optional(),
  predictedPeakBytes: num.optional(),
  predictedLoadPeakBytes: num.optional(),
  predictedLoadConnections: num.optional(),
  expectedPeakBytes: num.optional(),
});

const instanceJudgement = z.object({
  instance: str,
  outcome,
  verdict: z.enum(['pass', 'fail']),
  reason: str,
  evidence: z.array(evidence),
  openFilesLimit: num.optional(),
  peakMemoryBytes: num.optional(),
  peakCacheBytes: num.optional(),
  peakUsageBytes: num.optional(),
  memoryLimitBytes: num.optional(),
});

const emulatedFact = z.object({ instance: str, what: z.literal('nofile'), requested: num, realLimit: num, how: str });

const configResultV1 = z.object({
  id: str,
  axes: z.record(str, axisValue).readonly(),
  outcome: outcome.nullable(),
  verdict,
  reason: str,
  expected: z.record(str, outcome),
  because: z.record(str, str).optional(),
  evidence: z.array(evidence),
  metrics,
  instances: z.array(instanceJudgement),
  emulated: z.array(emulatedFact),
  durationMs: num,
  endedBy,
  observations: z.array(observation),
  serverLogTail: str.optional(),
  predictions: z.record(str, memoryPrediction).optional(),
  expectations: z
    .array(
      z.object({
        expected: str,
        measured: num.optional(),
        met: z.boolean(),
        missedBy: num.optional(),
        source: str,
        line: str,
        because: str.optional(),
        margin: margin.optional(),
        step: str.optional(),
      }),
    )
    .optional(),
  sharedMemory: z.array(z.object({ side: str, instances: z.array(str), limitBytes: num, steps: z.array(str).optional(), peakBytes: num.optional(), anonPeakBytes: num.optional() })).optional(),
  oomKills: z.array(z.object({ instance: str, t: num, seenBy: z.array(z.enum(['kernel', 'oom-event', 'oom-killed-state'])), limitBytes: num.optional(), anonRssBytes: num.optional() })).optional(),
  margins: z.array(margin).optional(),
  loadCaveats: z.array(z.object({ kind: z.enum(['barely-ran', 'refused', 'slow']), text: str })).optional(),
  repeats: z
    .array(
      z.object({
        repeat: num,
        verdict,
        outcome: outcome.nullable(),
        endedBy,
        reason: str,
        durationMs: num,
        figures: z.object({
          openFilesLimit: num.optional(),
          peakMemoryBytes: num.optional(),
          memoryLimitBytes: num.optional(),
          peakRssBytes: num.optional(),
          peakConnections: num.optional(),
          connectionRatio: num.optional(),
          latencyP99Ms: num.optional(),
        }),
        margins: z.array(margin),
      }),
    )
    .optional(),
  concurrency: z.object({ jobs: num, slots: z.array(num), runningAtMost: num, why: str.optional() }).optional(),
  ranOn: str.optional(),
});

const labHost = z.object({
  host: str,
  shape: str,
  accel: z.enum(['kvm', 'tcg']),
  accelWhy: str,
  bootMs: num,
  timeScale: num,
  vcpus: num,
  memoryMiB: num,
  cgroup: z.enum(['v1', 'v2']),
  runtimeNofile: z.union([num, str]).optional(),
  nrOpen: num.optional(),
  overcommitMemory: num,
  numaNodes: z.array(z.object({ memoryMiB: num, cpus: z.array(num) })).optional(),
  minTtlMs: num.optional(),
  room: z.object({ roomMiB: num, availableMiB: num.optional(), ballastMiB: num, leftMiB: num.optional(), why: str.optional() }).optional(),
});

const host = z.object({
  kernel: str,
  nofileHardLimit: num,
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
  numaNodes: num,
  thpMode: str,
  dmesgReadable: z.boolean(),
  bpftrace: z.boolean(),
  memoryController: z.boolean(),
  swapAccounting: z.boolean(),
  k6: z.boolean(),
  canLowerOomScoreAdj: z.boolean(),
  lab: labHost.optional(),
});

const regression = z.object({
  configId: str,
  what: z.enum(['verdict', 'outcome', 'peak memory', 'p99 latency', 'errors', 'connection ratio', 'missing']),
  before: str,
  after: str,
});

const productionKill = z.object({
  instance: str,
  process: str,
  scope: z.enum(['memcg', 'global', 'memory-policy', 'cpuset', 'unknown']),
  constraint: str.optional(),
  anonRssKb: num.optional(),
  anonRssSizedTo: z.boolean().optional(),
  totalVmKb: num.optional(),
  limitBytes: num.optional(),
  othersRssKb: num.optional(),
  oomScoreAdj: num.optional(),
  phase: z.enum(['start-up', 'under-load', 'after-load', 'unknown']),
  line: str.optional(),
  server: z.object({ family: z.enum(['mysql', 'mariadb']), version: str, assumed: z.boolean().optional() }).optional(),
});

const signatureMatch = z.object({
  verdict: z.enum(['reproduced', 'partly', 'not-reproduced', 'not-decided']),
  configId: str.optional(),
  production: productionKill,
  standIn: z.object({ image: str, production: str }).optional(),
  rows: z.array(
    z.object({
      figure: z.enum(['process', 'server', 'scope', 'anon-rss', 'other processes', 'total-vm', 'phase', 'oom_score_adj']),
      production: str,
      lab: str,
      match: z.enum(['same', 'differs', 'unknown']),
      decisive: z.boolean(),
      note: str.optional(),
    }),
  ),
  summary: str,
});

const configResultV2 = configResultV1.omit({ observations: true }).extend({ observations: z.array(eventObservation), samples: z.array(sampleSeries) });

/** report.json as version 1 wrote it (and oomlab before version 2): every observation in `configs[].observations`. */
export const runReportSchemaV1 = z.object({
  schemaVersion: num,
  scenario: str,
  incident: str,
  scenarioFile: str,
  runId: str,
  startedAt: str,
  finishedAt: str,
  durationMs: num,
  endedBy,
  error: str.optional(),
  host,
  images: z.array(
    z.object({ name: str, available: z.boolean(), source: str.optional(), reason: str.optional(), builtInMs: num.optional(), copiedInMs: num.optional(), fileTable: fileTableProbe.optional() }),
  ),
  emulated: z.array(emulatedFact.extend({ configId: str })),
  // `flaky` came with --repeat: older reports have no such count.
  summary: z.object({ pass: num, fail: num, skipped: num, error: num, flaky: num.optional() }),
  configs: z.array(configResultV1),
  baseline: z.object({ file: str, baselineRunId: str, compared: num, regressions: z.array(regression) }).optional(),
  overrides: z.array(z.object({ axis: str, values: z.array(axisValue), scenarioValues: z.array(axisValue) })).optional(),
  hostChanges: z.array(z.object({ setting: z.literal('THP'), atStart: str, atEnd: str })).optional(),
  scenarioSha256: str.optional(),
  shard: z.object({ index: num, count: num, matrixIds: z.array(str) }).optional(),
  merged: z
    .object({
      shards: z.array(z.object({ index: num, count: num, file: str, runId: str, startedAt: str, finishedAt: str, durationMs: num, endedBy, error: str.optional(), host, configIds: z.array(str) })),
    })
    .optional(),
  signature: signatureMatch.optional(),
  labs: z.array(labHost).optional(),
  jobs: z.object({ jobs: num, source: z.enum(['option', 'default']), why: str, memoryBudgetBytes: num.optional() }).optional(),
});

/** report.json as this version writes it: samples in `configs[].samples`, one entry per series. */
export const runReportSchemaV2 = runReportSchemaV1.extend({ configs: z.array(configResultV2) });
/** The schema of each version this oomlab reads, by `schemaVersion`. */
export const REPORT_SCHEMAS = { 1: runReportSchemaV1, 2: runReportSchemaV2 } as const;
