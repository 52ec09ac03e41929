// The chaos timeline a scenario may declare: `steps(config)` returns steps, each a trigger (when it
// runs) and an action (what it does). Faults are undone at the end of the configuration whatever
// happens; the anchors are Pumba's and Chaos Mesh's fault kinds.
import type { Options, ProcessPromise } from 'zx';
import { z } from 'zod';
import { parseBytes } from '../0-model/units.ts';
import type { MysqlEndpoint } from '../0-model/endpoint.ts';

const STEP_NAME = /^[a-z][a-z0-9-]*$/;

/** `20s`, `500ms`, `2m`, or milliseconds as a number. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m)$/;
const DURATION_MS = { ms: 1, s: 1_000, m: 60_000 } as const;

/** Milliseconds of `20s`/`500ms`/`2m`, or undefined when the text is not a duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  return match ? Math.round(Number(match[1]) * DURATION_MS[match[2] as keyof typeof DURATION_MS]) : undefined;
}

const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `a duration such as 20s, 500ms or 2m (got ${JSON.stringify(value)})`, input: value });
    return z.NEVER;
  }
  return ms;
});
/** A duration as a scenario writes it (`20s`, `500ms`, `2m` or ms), in ms once validated. */
export const durationSchema = duration;
const size = z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*[kmgt]?i?b?$/i, 'a size such as 768m or a number of bytes')]).transform((value) => parseBytes(value));
const percent = z.union([z.number().min(0).max(100), z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage such as 10%')]).transform((v) => (typeof v === 'number' ? v : Number(v.slice(0, -1))));
const instance = z.string().min(1);

/** zx's `$` as a step gets it: a tagged template, or options (`$({ nothrow: true })`) giving another bound `$`. */
export interface BoundShell {
  (pieces: TemplateStringsArray, ...args: unknown[]): ProcessPromise;
  (options: Partial<Omit<Options, 'sync' | 'log'>>): BoundShell;
}

export interface ContainerShellResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** `container.$`: the same tagged template, run inside the instance through the Docker exec API. */
export type ContainerShell = (pieces: TemplateStringsArray, ...args: unknown[]) => Promise<ContainerShellResult>;

/** A row of a `sql` result: column name → value, as mysql2 returns it. */
export type SqlRow = Record<string, unknown>;

/** `sql\`SELECT … ${value}\``: one statement on the step's instance as root; each interpolation is a bound value (`?`), never spliced text. */
export type SqlTag = (pieces: TemplateStringsArray, ...values: unknown[]) => Promise<SqlRow[]>;

/** What a `run` step's function receives (the runtime builds it: src/3-runtime/docker/faults/run.ts). */
export interface StepRunContext {
  /** zx's `$`, in the scenario's folder, cancelled with the run, logging to the run's log. */
  $: BoundShell;
  /** The step's `instance`: `container.$` runs inside it, the server's client logged in as root (and rejects when the step names no instance). */
  container: { $: ContainerShell; id: string; name: string };
  /** SQL on the step's instance as root, over its published port (rejects when the step names no instance). */
  sql: SqlTag;
  /** The step's instance as started: its container and its server's endpoint on 127.0.0.1. */
  instance: { readonly containerId: string; readonly containerName: string; endpoint(): MysqlEndpoint } | undefined;
  /** A line to the run's log (and the step's output). */
  log: (line: string) => void;
  signal: AbortSignal;
}

/** The built-in actions, each undone at the end of the configuration unless noted. */
export const stepActionSchemas = {
  /** `docker pause`: every process of the instance frozen (cgroup freezer). Undo: unpause. */
  pause: z.strictObject({ action: z.literal('pause'), instance }),
  /** `docker unpause` of an instance paused by an earlier step. */
  unpause: z.strictObject({ action: z.literal('unpause'), instance }),
  /** A signal to the instance's main process (`SIGKILL`, `SIGTERM`, `SIGSTOP`…). Nothing to undo: a killed server stays dead. */
  kill: z.strictObject({
    action: z.literal('kill'),
    instance,
    signal: z
      .string()
      .regex(/^SIG[A-Z0-9]+$/, 'a signal name such as SIGKILL')
      .optional(),
  }),
  /** `docker restart`: stop (SIGTERM, then SIGKILL after `graceMs`) and start again. */
  restart: z.strictObject({ action: z.literal('restart'), instance, graceMs: z.number().int().nonnegative().optional() }),
  /** `docker update` on the live container: memory (and memory+swap) and CPU quota. Undo: the limits it had. */
  limit: z
    .strictObject({ action: z.literal('limit'), instance, memory: size.optional(), cpus: z.number().positive().optional() })
    .refine((v) => v.memory !== undefined || v.cpus !== undefined, 'give memory or cpus'),
  /** tc netem on the instance's network interface, from the host inside its network namespace. Undo: the qdisc removed. */
  network: z
    .strictObject({ action: z.literal('network'), instance, delay: duration.optional(), jitter: duration.optional(), loss: percent.optional(), partition: z.boolean().optional() })
    .refine((v) => v.delay !== undefined || v.loss !== undefined || v.partition === true, 'give delay, loss or partition: true'),
  /** A container holding `memory` and touching it (a second tenant), in a side's budget when given; `oomScoreAdj` 1000 makes it the kernel's first choice. Undo: removed. */
  neighbour: z.strictObject({
    action: z.literal('neighbour'),
    memory: size,
    image: z.string().min(1),
    side: z.string().optional(),
    cpusetCpus: z.string().optional(),
    oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  }),
  /** A container spinning `workers` busy loops on `cpusetCpus`. Undo: removed. */
  'cpu-hog': z.strictObject({ action: z.literal('cpu-hog'), image: z.string().min(1), workers: z.number().int().positive().optional(), cpusetCpus: z.string().optional() }),
  /** `echo 3 > /proc/sys/vm/drop_caches` on the host: page cache, dentries and inodes. Nothing to undo. */
  'drop-caches': z.strictObject({ action: z.literal('drop-caches') }),
  /** Transparent hugepages switched on the live host. Undo: the mode it had. */
  thp: z.strictObject({ action: z.literal('thp'), mode: z.enum(['always', 'madvise', 'never']) }),
  /** A zx step: `async ({ $, container, sql, instance, log, signal }) => …`; `container` and `sql` are the named instance's. */
  run: z.strictObject({
    action: z.literal('run'),
    instance: instance.optional(),
    run: z.custom<(context: StepRunContext) => Promise<unknown>>((v) => typeof v === 'function', { message: 'an async function ({ $, container, sql, log }) => …' }),
  }),
} as const;
export const STEP_ACTIONS = Object.keys(stepActionSchemas) as (keyof typeof stepActionSchemas)[];
export type StepActionName = (typeof STEP_ACTIONS)[number];

/** When a step runs: at least one of `at`, `after`, `when`; `at` with `after` is an offset from it. */
const triggerShape = {
  /** Unique within the configuration: other steps' `after` and expectations refer to it. */
  name: z.string().regex(STEP_NAME, 'lowercase letters, digits and dashes'),
  /** Time from the moment every instance is ready (the workload's start), or from `after` when both are given. */
  at: duration.optional(),
  /** `<instance>.ready`, `workload.start`, `workload.seeded` (the seed is in, the load begins), `workload.end`, or `<step>` (that step's action returned). */
  after: z.string().min(1).optional(),
  /** `<instance>.<connections|memory> <op> <value>`, polled from the run's samples: `a.connections > 500`, `a.memory >= 800m`. */
  when: z.string().min(1).optional(),
  /** The action gets this long before the configuration ends as error with its output. @default 30s */
  timeout: duration.optional(),
  /** Undo the fault after this long instead of at the end of the configuration. */
  for: duration.optional(),
  /** Background work: its failure or timeout is recorded as evidence but does not make the configuration `error`, and the configuration does not wait for it. @default false */
  background: z.boolean().optional(),
};
export const stepTriggerSchema = z.strictObject(triggerShape);
export const TRIGGER_FIELDS = Object.keys(triggerShape);

/** A step as a scenario writes it: trigger fields and one action's fields side by side. */
export type StepInput = z.input<typeof stepTriggerSchema> & { [A in StepActionName]: z.input<(typeof stepActionSchemas)[A]> }[StepActionName];
export type StepAction = { [A in StepActionName]: z.output<(typeof stepActionSchemas)[A]> }[StepActionName];
/** A validated step: durations in ms, sizes in bytes. Validation splits the trigger fields from the action's and checks each. */
export type Step = z.output<typeof stepTriggerSchema> & { action: StepAction };

/** What `after` may name besides a step: an instance's readiness or the workload's start and end. */
/** `workload.seeded`: the workload's rows (and a full-text seed's index) are in and its load begins, however long seeding took on this host. */
export const WORKLOAD_EVENTS = ['workload.start', 'workload.seeded', 'workload.end'] as const;
export const CONDITION_METRICS = ['connections', 'memory'] as const;
export const CONDITION_OPERATORS = ['>=', '<=', '>', '<'] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** A parsed `when`: `a.memory >= 800m` reads a's latest cgroup memory sample; `a.connections` its Threads_connected. */
export interface StepCondition {
  instance: string;
  metric: (typeof CONDITION_METRICS)[number];
  operator: ConditionOperator;
  /** Bytes for memory, a count for connections. */
  value: number;
}

const CONDITION = /^\s*([a-z][a-z0-9-]*)\.([a-z]+)\s*(>=|<=|>|<)\s*(\S+)\s*$/;

/** `a.connections > 500` → its parts, or undefined when the text is not such a condition. */
export function parseCondition(text: string): StepCondition | undefined {
  const match = CONDITION.exec(text);
  if (!match) return undefined;
  const [, instance, metric, operator, raw] = match as unknown as [string, string, string, ConditionOperator, string];
  if (metric === 'connections') return /^\d+$/.test(raw) ? { instance, metric, operator, value: Number(raw) } : undefined;
  if (metric === 'memory') {
    if (!/^\d+(\.\d+)?\s*[kmgt]?i?b?$/i.test(raw)) return undefined;
    return { instance, metric, operator, value: parseBytes(raw) };
  }
  return undefined;
}

export function conditionHolds(condition: Pick<StepCondition, 'operator' | 'value'>, measured: number): boolean {
  switch (condition.operator) {
    case '>':
      return measured > condition.value;
    case '>=':
      return measured >= condition.value;
    case '<':
      return measured < condition.value;
    case '<=':
      return measured <= condition.value;
  }
}

/** A step's action gets this long unless its `timeout` says otherwise. */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
