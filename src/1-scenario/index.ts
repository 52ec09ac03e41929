import { existsSync } from 'node:fs';
import { resolve, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { OomlabError, ScenarioInvalidError } from '../0-model/errors.ts';
import { OUTCOMES, type AxisValue, type Config, type Matrix, type Outcome } from '../0-model/config.ts';
import { parseBytes } from '../0-model/units.ts';

export { OUTCOMES, parseBytes, type AxisValue, type Config, type Matrix, type Outcome };

const bytes = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?\s*[kmgt]?i?b?$/i, 'a size such as 4g, 512m or a number of bytes'),
]);

const mycnfValue = z.union([z.string(), z.number(), z.boolean()]);

export const instanceSpecSchema = z.strictObject({
  /** Name within the configuration, e.g. `db`, `replica-a`. */
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  /** Image to run, e.g. `mysql:5.7` or the offline `oomlab/mariadb:10.11`. */
  image: z.string().min(1),
  /** Container memory limit. @default no limit */
  memory: bytes.optional(),
  /** Memory + swap limit. @default equal to `memory` (no swap) */
  memorySwap: bytes.optional(),
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
  side: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes').optional(),
  /** NUMA memory policy: `interleave` runs the entrypoint under `numactl --interleave=all`; needs 2+ NUMA nodes. */
  numa: z.enum(['interleave']).optional(),
});
export type InstanceSpec = z.infer<typeof instanceSpecSchema>;

const stageSchema = z.strictObject({ targetPerSecond: z.number().nonnegative(), durationMs: z.number().int().positive() });

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
  seed: z.strictObject({ users: z.number().int().positive(), posts: z.number().int().positive(), followsPerUser: z.number().int().positive() }).optional(),
  /** @default 4_000 */
  maxInFlight: z.number().int().positive().optional(),
  /** @default 10_000 */
  drainMs: z.number().int().nonnegative().optional(),
  /** Status and resource sampling interval. @default 1_000 */
  sampleIntervalMs: z.number().int().positive().optional(),
});
export type StormWorkload = z.infer<typeof stormWorkloadSchema>;

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
  paths: z.array(z.strictObject({ path: z.string().startsWith('/'), weight: z.number().positive() })).min(1).optional(),
  seed: z.strictObject({ users: z.number().int().positive(), posts: z.number().int().positive(), followsPerUser: z.number().int().positive() }).optional(),
  /** `auto`: k6 when it is on PATH, else the built-in stand-in. @default 'auto' */
  driver: z.enum(['auto', 'k6', 'stand-in']).optional(),
  /** k6 thresholds; the stand-in reports the same figures. */
  thresholds: z.strictObject({ p99LatencyMs: z.number().positive().optional(), maxErrorRate: z.number().min(0).max(1).optional() }).optional(),
  /** @default 4_000 */
  maxInFlight: z.number().int().positive().optional(),
  /** @default 10_000 */
  drainMs: z.number().int().nonnegative().optional(),
  /** @default 10_000 */
  requestTimeoutMs: z.number().int().positive().optional(),
  /** Status, resource and app-tier sampling interval. @default 1_000 */
  sampleIntervalMs: z.number().int().positive().optional(),
});
export type HttpBurstWorkload = z.infer<typeof httpBurstWorkloadSchema>;

export const workloadSchema = z.discriminatedUnion('kind', [stormWorkloadSchema, httpBurstWorkloadSchema]);
export type Workload = StormWorkload | HttpBurstWorkload;

/** Host-level settings for one configuration, restored afterwards. */
export const hostSettingsSchema = z.strictObject({
  /** Transparent hugepages for the configuration; skipped where the host does not let it change. */
  thp: z.enum(['always', 'madvise', 'never']).optional(),
  /** Memory budgets of simulated hosts: every instance with that `side` shares it (a parent cgroup). */
  sides: z.record(z.string(), z.strictObject({ memory: bytes })).optional(),
});
export type HostSettings = z.infer<typeof hostSettingsSchema>;

export const expectationSchema = z.strictObject({
  outcome: z.enum(OUTCOMES),
  /** Why this outcome is expected, in the incident's words; shown in reports. */
  because: z.string().optional(),
  openFilesLimit: z.strictObject({ atMost: z.number().optional(), equals: z.number().optional() }).optional(),
  peakMemoryBelowBytes: z.number().positive().optional(),
});
export type Expectation = z.infer<typeof expectationSchema>;

const fn = (what: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: `a function ${what}` });

const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  incident: z.string().min(1),
  description: z.string().optional(),
  matrix: z.record(
    z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/, 'letters, digits and _'),
    z.array(z.union([z.string(), z.number()])).min(1, 'at least one value'),
  ),
  exclude: fn('(config) => boolean').optional(),
  instances: fn('(config) => InstanceSpec[]'),
  expect: fn('(config) => Record<instance, Expectation>'),
  workload: fn('(config) => Workload').optional(),
  host: fn('(config) => HostSettings').optional(),
  before: fn('(context) => Promise<void>').optional(),
  after: fn('(context) => Promise<void>').optional(),
});

export interface ScenarioDefinition<M extends Matrix> {
  /** Short name, used in report folders and container labels. */
  name: string;
  /** Which incident this reproduces, in a sentence; shown at the top of reports. */
  incident: string;
  description?: string;
  /** Axes and their values; the run covers their cartesian product. */
  matrix: M;
  /** Leaves out combinations that mean nothing (return true to drop). */
  exclude?: (config: Config<M>) => boolean;
  instances: (config: Config<M>) => InstanceSpec[];
  expect: (config: Config<M>) => Record<string, Expectation>;
  workload?: (config: Config<M>) => Workload | undefined;
  /** THP mode and shared memory budgets for the configuration; restored after it, even on failure. */
  host?: (config: Config<M>) => HostSettings | undefined;
  /** zx steps on the host before and after each configuration. */
  before?: (context: { config: Config<M> }) => Promise<void>;
  after?: (context: { config: Config<M> }) => Promise<void>;
}

export interface Scenario<M extends Matrix = Matrix> extends ScenarioDefinition<M> {
  readonly file?: string;
}

/** Typed identity: the scenario file's default export. Validation happens in `loadScenario`. */
export function defineScenario<const M extends Matrix>(definition: ScenarioDefinition<M>): Scenario<M> {
  return definition;
}

const ALLOWED_FIELDS: Record<string, readonly string[]> = {
  '': Object.keys(scenarioSchema.shape),
  instance: Object.keys(instanceSpecSchema.shape),
  workload: Object.keys(stormWorkloadSchema.shape),
  'http-burst': Object.keys(httpBurstWorkloadSchema.shape),
  host: Object.keys(hostSettingsSchema.shape),
  expectation: Object.keys(expectationSchema.shape),
};

/** Formats the first zod issue as one line: the field, what was wrong, what is allowed. */
export function formatIssue(where: string, issue: z.core.$ZodIssue, kind: keyof typeof ALLOWED_FIELDS, prefix = ''): string {
  const segments = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const path = `${prefix.replace(/\.$/, '')}${segments}`.replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    const allowed = ALLOWED_FIELDS[kind] ?? [];
    const field = issue.keys[0] ?? '';
    const suggestion = closest(field, allowed);
    const full = path ? `${path}.${field}` : field;
    return `${where}: unknown field \`${full}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; allowed: ${allowed.join(', ')}`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `${where}: \`${path}\` must be one of ${issue.values.map(String).join(', ')}`;
  }
  // Needs parsing with `reportInput: true`: zod leaves `input` out otherwise.
  if (!('input' in issue) || issue.input === undefined) {
    return `${where}: missing field \`${path}\`${issue.code === 'invalid_type' ? ` (${issue.expected})` : `: ${issue.message}`}`;
  }
  if (issue.code === 'invalid_union') {
    return `${where}: \`${path}\` has the wrong type or value (got ${JSON.stringify(issue.input)})`;
  }
  return `${where}: \`${path || '(scenario)'}\`: ${issue.message}`;
}

/** A misspelt field shows up as unknown and as missing; the unknown one says more (it can suggest). */
export function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Checks a scenario object; throws ScenarioInvalidError with one line naming the file and the field. */
export function validateScenario(value: unknown, file: string): Scenario {
  const parsed = scenarioSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    throw new ScenarioInvalidError(formatIssue(file, firstIssue(parsed.error.issues), ''));
  }
  return { ...(value as Scenario), file };
}

/** Imports `scenarios/x.ts` (the default export) and validates it. */
export async function loadScenario(path: string): Promise<Scenario> {
  const absolute = resolve(path);
  const fromHere = relative(process.cwd(), absolute);
  const shown = fromHere && !fromHere.startsWith('..') ? fromHere : absolute;
  if (!existsSync(absolute)) {
    throw new OomlabError('SCENARIO_NOT_FOUND', `scenario file ${shown} not found — \`oomlab list\` shows the scenarios`);
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new ScenarioInvalidError(`${shown}: cannot be loaded: ${first}`, { cause: error });
  }
  if (module.default === undefined) {
    throw new ScenarioInvalidError(`${shown}: no default export — end the file with \`export default defineScenario({...})\``);
  }
  return validateScenario(module.default, shown);
}
