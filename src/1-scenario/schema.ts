// What a scenario may declare, as zod schemas: the input a scenario file writes (sizes as `4g` or
// bytes) and the validated output later stages read (sizes in bytes, thresholds parsed).
import { z } from 'zod';
import { OUTCOMES } from '../0-model/config.ts';
import { parseBytes } from '../0-model/units.ts';
import { parseThresholds, type ThresholdKind } from './thresholds.ts';
import { durationSchema } from './steps.ts';

export const NAME = /^[a-z][a-z0-9-]*$/;
const NAME_RULE = 'lowercase letters, digits and dashes';

/** A size as a scenario writes it, in bytes once validated: the only place sizes are parsed. */
const size = z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*[kmgt]?i?b?$/i, 'a size such as 4g, 512m or a number of bytes')]).transform((value) => parseBytes(value));

const mycnfValue = z.union([z.string(), z.number(), z.boolean()]);

const fn = (what: string) => z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: `a function ${what}` });

/** One instance of a configuration; its name is its key in `instances(config)`. */
export const instanceSchema = z.strictObject({
  /** Image to run, e.g. `mysql:5.7` or the offline `oomlab/mariadb:10.11`. */
  image: z.string().min(1),
  /** Container memory limit, e.g. `4g`. @default no limit */
  memory: size.optional(),
  /** Memory + swap limit. @default equal to `memory` (no swap) */
  memorySwap: size.optional(),
  /** RLIMIT_NOFILE for the server: `default` leaves the engine's. Above the host's hard ceiling it is emulated. @default 'default' */
  nofile: z.union([z.literal('default'), z.number().int().positive()]).optional(),
  cpusetCpus: z.string().optional(),
  cpusetMems: z.string().optional(),
  oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  env: z.record(z.string(), z.string()).optional(),
  /** Replaces the image's entrypoint, e.g. `['sh', '-c', 'ulimit -n 4096 && exec docker-entrypoint.sh mysqld']`. */
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  /** Server variables written to `/etc/mysql/conf.d/oomlab.cnf` under `[mysqld]`. */
  mycnf: z.record(z.string(), mycnfValue).optional(),
  /** malloc for the server: `jemalloc`/`tcmalloc` are preloaded from the offline image's libraries. @default 'glibc' */
  allocator: z.enum(['glibc', 'jemalloc', 'tcmalloc']).optional(),
  /** How long the server may take to answer a ping. @default 60_000 */
  readyTimeoutMs: z.number().int().positive().optional(),
  /** How long a ready server must stay up to count as survived. @default 5_000 */
  settleMs: z.number().int().nonnegative().optional(),
  /**
   * `neighbour`: not a server under test but a tenant of the same host (a second mysqld, a memory
   * hog) that holds memory in the same budget; it is up once running, and judged only if expected. @default 'server'
   */
  role: z.enum(['server', 'neighbour']).optional(),
  /** The simulated host this instance shares with others: instances of one side share its memory budget (`host(config).sides`). */
  side: z.string().regex(NAME, NAME_RULE).optional(),
  /** NUMA memory policy: `interleave` runs the entrypoint under `numactl --interleave=all`; needs 2+ NUMA nodes. */
  numa: z.enum(['interleave']).optional(),
  /** Every syscall the tracer (bpftrace) saw of this server as its own evidence line. @default only for a kill at start-up; otherwise one line sums them up */
  traceEvidence: z.boolean().optional(),
  /**
   * Work done on the ready server before time zero (before the workload and timed steps):
   * `bufferPoolFraction` fills the InnoDB buffer pool with data pages until that share of its pages
   * hold data, as production's pool is after hours of reads (a fresh pool is cold: reserved, not resident).
   */
  warmup: z
    .strictObject({
      bufferPoolFraction: z.number().gt(0).max(1),
      /** How long one batch of rows may take before the warm-up is called stalled (scaled in a slow lab). @default 60 000 */
      batchTimeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
});
/** An instance as a scenario declares it (sizes as `4g` or bytes). */
export type InstanceInput = z.input<typeof instanceSchema>;
/** An instance as the planner hands it on: named, sizes in bytes. */
export type InstanceSpec = z.output<typeof instanceSchema> & { name: string };

/** A bound on a measured figure; every bound given must hold. */
const boundShape = {
  below: z.number().optional(),
  above: z.number().optional(),
  atLeast: z.number().optional(),
  atMost: z.number().optional(),
};
const BOUND_KEYS = Object.keys(boundShape);
const hasBound = (value: Record<string, unknown>) => BOUND_KEYS.some((key) => value[key] !== undefined);
const bound = z.strictObject(boundShape).refine(hasBound, 'give at least one of below, above, atLeast, atMost');
export type Bound = z.output<typeof bound>;

/** What the incident claims about the load, judged whichever driver ran; each claim is a line of the verdict's reason. */
export const loadExpectationSchema = z.strictObject({
  /** Why, in the incident's words; shown beside the lines. */
  because: z.string().optional(),
  /** A step's name: p50/p90/p99 bounds are judged on the worst per-second percentile from the second that step started in; p999 and max stay whole-run. */
  after: z.string().optional(),
  /** Latency percentiles of the workload (an HTTP burst's requests, a storm's queries), in ms. */
  p50Ms: bound.optional(),
  p90Ms: bound.optional(),
  p99Ms: bound.optional(),
  p999Ms: bound.optional(),
  maxMs: bound.optional(),
  /** Failed over finished requests (or sessions), 0 to 1. */
  errorRate: bound.optional(),
  /** Errors of one code, as the report counts them: `{ '1040 ER_CON_COUNT_ERROR': { atLeast: 1 } }`. */
  errors: z.record(z.string().min(1), bound).optional(),
  /** Peak client connections on `of` over those on `to` before either died: `{ of: 'b', to: 'a', atLeast: 2 }`. */
  ratio: z
    .strictObject({ of: z.string(), to: z.string(), ...boundShape })
    .refine(hasBound, 'give at least one of below, above, atLeast, atMost')
    .optional(),
});
export type LoadExpectation = z.output<typeof loadExpectationSchema>;

/** k6's grammar, `{ http_req_duration: ['p(99)<2000'] }`, parsed for the workload's kind. */
const thresholds = (kind: ThresholdKind) =>
  z.record(z.string(), z.array(z.string()).min(1)).transform((declared, ctx) => {
    const parsed = parseThresholds(kind, declared);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed, input: declared });
      return z.NEVER;
    }
    return parsed;
  });

const stageSchema = z.strictObject({ targetPerSecond: z.number().nonnegative(), durationMs: z.number().int().positive() });
const seedSchema = z.strictObject({
  users: z.number().int().positive(),
  posts: z.number().int().positive(),
  followsPerUser: z.number().int().positive(),
  /** The posts' bodies written as words, with a FULLTEXT index on them once seeded, for `MATCH … AGAINST` searches. @default false */
  fullText: z.boolean().optional(),
});

/** One statement of a query mix, picked with probability weight / sum of weights. */
export const mixedQuerySchema = z.strictObject({
  sql: z.string().min(1),
  weight: z.number().positive(),
  /** Shown in errors and reports. @default the statement's position, `query 1` */
  name: z.string().min(1).optional(),
  /** The statement's `?` values, drawn with the run's seeded random. @default no values */
  params: z.custom<(random: () => number) => unknown[]>((v) => typeof v === 'function', { message: 'a function (random) => unknown[]' }).optional(),
  /**
   * The per-connection buffers the statement fills whole while it runs (a filesort beyond its buffer fills
   * `sort_buffer_size`; a GROUP BY into an in-memory table up to `tmp_table_size`): the memory model counts them
   * for a busy connection instead of the share measured with the feed mix. @default not declared
   */
  fills: z.array(z.enum(['sort_buffer_size', 'join_buffer_size', 'read_buffer_size', 'read_rnd_buffer_size', 'tmp_table_size'])).optional(),
});
export type MixedQueryInput = z.input<typeof mixedQuerySchema>;

/** A mysql2 connection storm against one instance, imitating a scraping burst. */
export const stormWorkloadSchema = z.strictObject({
  kind: z.literal('storm'),
  /** The instance the storm hits. */
  target: z.string(),
  /** New sessions per second at the start. @default 0 */
  startPerSecond: z.number().nonnegative().optional(),
  stages: z.array(stageSchema).min(1),
  session: z.strictObject({
    queries: z.number().int().nonnegative(),
    thinkMs: z.number().int().nonnegative(),
    holdMs: z.number().int().nonnegative(),
  }),
  /** Rows of the feed schema seeded before the storm. */
  seed: seedSchema.optional(),
  /** The statements each session picks from. @default the feed mix (src/5-workload/feed.ts) */
  mix: z.array(mixedQuerySchema).min(1).optional(),
  /** @default 4_000 */
  maxInFlight: z.number().int().positive().optional(),
  /** @default 10_000 */
  drainMs: z.number().int().nonnegative().optional(),
  /** Status and resource sampling interval. @default 1_000 */
  sampleIntervalMs: z.number().int().positive().optional(),
  /** What the load must show. */
  expect: loadExpectationSchema.optional(),
  /** k6-style thresholds on query_duration, connect_duration, session_failed, sessions; judged by oomlab. */
  thresholds: thresholds('storm').optional(),
});
export type StormWorkload = z.output<typeof stormWorkloadSchema>;

/** A scraping burst over HTTP through the app tier, which balances it over replicas (incident 2's shape). */
export const httpBurstWorkloadSchema = z.strictObject({
  kind: z.literal('http-burst'),
  /** The replicas behind the app tier; the connection ratio is the second's over the first's (B:A). */
  targets: z.array(z.string()).min(1),
  balancer: z.enum(['round-robin', 'least-connections', 'fastest']),
  /** `new-connection` opens one per request, as scrapers cause; `pool` reuses up to poolSize per replica. */
  connectionMode: z.enum(['pool', 'new-connection']),
  /** @default 50 */
  poolSize: z.number().int().positive().optional(),
  /** Requests per second at the start. @default 0 */
  startPerSecond: z.number().nonnegative().optional(),
  stages: z.array(stageSchema).min(1),
  /** Endpoints of the app tier and their weights. @default the feed mix (`/mix`) */
  paths: z
    .array(z.strictObject({ path: z.string().startsWith('/'), weight: z.number().positive() }))
    .min(1)
    .optional(),
  seed: seedSchema.optional(),
  /** `auto`: k6 when it is on PATH, else the built-in stand-in. @default 'auto' */
  driver: z.enum(['auto', 'k6', 'stand-in']).optional(),
  /** k6-style thresholds (`{ http_req_duration: ['p(99)<2000'] }`): judged by oomlab with either driver, and handed to k6 where it can read them. */
  thresholds: thresholds('http-burst').optional(),
  /** What the load must show. */
  expect: loadExpectationSchema.optional(),
  /** @default 4_000 */
  maxInFlight: z.number().int().positive().optional(),
  /** @default 10_000 */
  drainMs: z.number().int().nonnegative().optional(),
  /** @default 10_000 */
  requestTimeoutMs: z.number().int().positive().optional(),
  /** Status, resource and app-tier sampling interval. @default 1_000 */
  sampleIntervalMs: z.number().int().positive().optional(),
});
export type HttpBurstWorkload = z.output<typeof httpBurstWorkloadSchema>;

export const workloadSchema = z.discriminatedUnion('kind', [stormWorkloadSchema, httpBurstWorkloadSchema]);
export type Workload = StormWorkload | HttpBurstWorkload;

/** Host-level settings for one configuration, restored afterwards. */
export const hostSettingsSchema = z.strictObject({
  /** Transparent hugepages for the configuration; skipped where the host does not let it change. */
  thp: z.enum(['always', 'madvise', 'never']).optional(),
  /** Memory budgets of simulated hosts: every instance with that `side` shares it (a parent cgroup). */
  sides: z.record(z.string(), z.strictObject({ memory: size })).optional(),
  /**
   * Where the configuration runs, as `--host` names it: `docker` (this host's engine) or `lab[:SHAPE][,memory=SIZE][,room=SIZE][,min_ttl_ms=N]`
   * (a lab VM of that shape, its memory set: a global OOM's machine; its room: what a ballast leaves the run; min_ttl_ms:
   * the kernel's OOM killer instead of thrashing). A run boots one
   * VM per distinct host, in turn. Absent: the run's `--host`. It wins over `--host`.
   */
  runtime: z
    .string()
    .regex(/^(docker|lab(:[\w.-]+)?(,memory=\d+(\.\d+)?[mMgG])?(,room=\d+(\.\d+)?[mMgG])?(,min_ttl_ms=\d+)?)$/, 'expected docker, lab, lab:SHAPE or lab:SHAPE,memory=SIZE[,room=SIZE][,min_ttl_ms=N]')
    .optional(),
});
export type HostSettingsInput = z.input<typeof hostSettingsSchema>;
export type HostSettings = z.output<typeof hostSettingsSchema>;

export const expectationSchema = z.strictObject({
  outcome: z.enum(OUTCOMES),
  /** Why this outcome is expected, in the incident's words; shown in reports. */
  because: z.string().optional(),
  openFilesLimit: z.strictObject({ atMost: z.number().optional(), equals: z.number().optional() }).optional(),
  peakMemoryBelowBytes: z.number().positive().optional(),
  /** A step's name: the outcome counts only if that step ran (its action returned) before the outcome was observed. */
  afterStep: z.string().optional(),
  /** OOM-killed no later than `ms` after the step `of` started: `{ of: 'neighbour', ms: '10s' }`. */
  oomKilledWithin: z.strictObject({ of: z.string(), ms: durationSchema }).optional(),
  /**
   * A kill confined to some NUMA nodes (incident 2): the kernel's constraint (`cpuset` for a cpuset's mems,
   * `memory-policy` for `numactl --membind`), and the free memory each node outside the kernel's nodemask still
   * had at the kill, as the per-node sampler saw it last before the kill.
   */
  numaKill: z.strictObject({ constraint: z.enum(['cpuset', 'memory-policy']), otherNodesFreeAtLeast: size }).optional(),
});
export type ExpectationInput = z.input<typeof expectationSchema>;
export type Expectation = z.output<typeof expectationSchema>;

/** Production's OOM kill as its kernel reported it (`oomlab from-incident` writes it): a run sets the lab's kill beside it. */
export const productionKillSchema = z.strictObject({
  /** The instance that plays production's server. */
  instance: z.string(),
  /** The victim's comm, `mysqld` or `mariadbd`. */
  process: z.string(),
  /** Whose memory ran out: `memcg` (a container's limit), `global`, `memory-policy` (a NUMA binding), `cpuset`. */
  scope: z.enum(['memcg', 'global', 'memory-policy', 'cpuset', 'unknown']),
  constraint: z.string().optional(),
  anonRssKb: z.number().nonnegative().optional(),
  /** The scenario sized the lab's server to hold `anonRssKb` (its pool): the lab's anon-rss at the kill is an input, not decisive. */
  anonRssSizedTo: z.boolean().optional(),
  totalVmKb: z.number().nonnegative().optional(),
  limitBytes: z.number().positive().optional(),
  /** What the other processes of production's task table held at the kill, in kB. */
  othersRssKb: z.number().nonnegative().optional(),
  oomScoreAdj: z.number().int().optional(),
  /** When production died, where known. */
  phase: z.enum(['start-up', 'under-load', 'after-load', 'unknown']),
  /** The `Killed process` line as printed. */
  line: z.string().optional(),
  /** Production's server, as the evidence named it or as assumed: the report says when the lab's image stood in for another. */
  server: z.strictObject({ family: z.enum(['mysql', 'mariadb']), version: z.string(), assumed: z.boolean().optional() }).optional(),
});
export type ProductionKillInput = z.input<typeof productionKillSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().regex(NAME, NAME_RULE),
  incident: z.string().min(1),
  description: z.string().optional(),
  matrix: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'letters, digits and _'), z.array(z.union([z.string(), z.number()])).min(1, 'at least one value')),
  exclude: fn('(config) => boolean').optional(),
  instances: fn('(config) => { <name>: instance }'),
  /** Absent: an explore run, its configurations ranked by headroom instead of judged. */
  expect: fn('(config) => { <instance>: Expectation }').optional(),
  workload: fn('(config) => Workload').optional(),
  host: fn('(config) => HostSettings').optional(),
  before: fn('(context) => Promise<void>').optional(),
  after: fn('(context) => Promise<void>').optional(),
  /** The chaos timeline of a configuration: faults and zx steps at times or on events (src/1-scenario/steps.ts). */
  steps: fn('(config) => Step[]').optional(),
  /** Measurements made once per image before the matrix: `file-table` fits what one descriptor costs the server. */
  probes: z.array(z.enum(['file-table'])).optional(),
  production: productionKillSchema.optional(),
});

/** The fields of each part, for `unknown field` messages. */
export const ALLOWED_FIELDS = {
  '': Object.keys(scenarioSchema.shape),
  instance: Object.keys(instanceSchema.shape),
  workload: Object.keys(stormWorkloadSchema.shape),
  'http-burst': Object.keys(httpBurstWorkloadSchema.shape),
  host: Object.keys(hostSettingsSchema.shape),
  expectation: Object.keys(expectationSchema.shape),
  production: Object.keys(productionKillSchema.shape),
  'load expectation': Object.keys(loadExpectationSchema.shape),
} as const satisfies Record<string, readonly string[]>;
export type FieldsOf = keyof typeof ALLOWED_FIELDS;
