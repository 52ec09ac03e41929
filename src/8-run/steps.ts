// The chaos timeline of one configuration while it runs: each step waits for its trigger (an event, a
// time from it, a sampled condition), applies its action within its timeout, records every phase as a
// `step` observation, and hands its undo to the configuration's teardown so it runs on every path.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { conditionHolds, DEFAULT_STEP_TIMEOUT_MS, parseCondition, type Step, type StepAction } from '../1-scenario/index.ts';
import type { AppliedFault } from '../3-runtime/index.ts';
import { describeError, StepFailedError } from '../0-model/errors.ts';
import type { StepPhase } from '../0-model/observation.ts';
import { formatBytes } from '../0-model/units.ts';

/** The moment every instance is ready: `at` alone counts from it, and the workload starts then. */
export const TIME_ZERO = 'zero';

export interface StepClock {
  now(): number;
  /** Resolves after `ms`, rejects as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}
export { StepFailedError };
export const realClock: StepClock = { now: () => Date.now(), sleep: (ms, signal) => sleep(ms, undefined, { signal }) };

export interface StepRecord {
  step: string;
  action: string;
  instance?: string;
  phase: StepPhase;
  detail: string;
  output?: string;
}

export interface StepSchedulerOptions {
  steps: readonly Step[];
  /** Applies a step's action; `signal` aborts when its timeout passes or the configuration ends. */
  apply: (action: StepAction, signal: AbortSignal, step: string) => Promise<AppliedFault>;
  record: (record: StepRecord) => void;
  /** Told what a step's action did once it is in force (`step`) and once it is undone (`undo`): a changed limit becomes a `limit` observation. */
  applied?: (step: Step, applied: AppliedFault, phase: 'step' | 'undo') => void;
  /** The latest sample of an instance's figure a `when` reads, or undefined when none was taken yet. */
  latest: (instance: string, metric: 'memory' | 'connections') => number | undefined;
  /** Where undos go: the configuration's teardown. */
  defer: (undo: () => Promise<void>) => void;
  /** The first step that failed or timed out (a background step's failure is only recorded): the configuration ends as error. */
  onFailure?: (error: StepFailedError) => void;
  /** The configuration's signal: cancel and deadline end the steps too. */
  signal: AbortSignal;
  clock?: StepClock;
  /** How often a `when` reads the samples. @default 250 */
  pollMs?: number;
  /** How long `stop` waits for an action still running (it was aborted) to return its undo. @default 10_000 */
  abandonAfterMs?: number;
  /** A lab VM's slowdown (TCG ×4): each step's timeout is scaled as readiness is. @default 1 */
  timeScale?: number;
}

type State = 'waiting' | 'timed' | 'condition' | 'running' | 'holding' | 'done' | 'failed' | 'skipped';
const TIMED_OUT: unique symbol = Symbol('timed out');
const OUTPUT_MAX_CHARS = 4_000;

export class StepScheduler {
  readonly #options: StepSchedulerOptions;
  readonly #clock: StepClock;
  readonly #states = new Map<string, State>();
  readonly #fired = new Set<string>();
  readonly #waiters = new Map<string, { resolve: () => void; reject: (reason: unknown) => void }[]>();
  readonly #end = new AbortController();
  readonly #stop: AbortSignal;
  readonly #tasks: Promise<void>[] = [];
  readonly #applying = new Set<Promise<unknown>>();
  #changed = signal();
  #failure: StepFailedError | undefined;

  constructor(options: StepSchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#stop = AbortSignal.any([options.signal, this.#end.signal]);
    // Each step holds up to three listeners on it at once (its trigger's sleep, its action's signal, its `for`):
    // ten neighbours 3 s apart warned of a leak where there was none (a newcomer saw it six times a run).
    setMaxListeners(10 + 3 * options.steps.length, this.#stop);
    // One listener for every step waiting on an event: a listener each would pile up on one signal (11 neighbours
    // waiting gave a MaxListenersExceededWarning).
    this.#stop.addEventListener(
      'abort',
      () => {
        for (const waiter of [...this.#waiters.values()].flat()) waiter.reject(this.#stop.reason);
        this.#waiters.clear();
      },
      { once: true },
    );
  }

  /** The first step that failed or timed out, if any. */
  get failure(): StepFailedError | undefined {
    return this.#failure;
  }

  /** Starts every step waiting for its trigger. */
  start(): void {
    for (const step of this.#options.steps) {
      this.#states.set(step.name, 'waiting');
      this.#tasks.push(this.#run(step));
    }
  }

  /** An event happened: `zero`, `<instance>.ready`, `workload.start`, `workload.seeded`, `workload.end` (steps fire their own names). */
  fire(event: string): void {
    if (this.#fired.has(event)) return;
    this.#fired.add(event);
    for (const waiter of this.#waiters.get(event) ?? []) waiter.resolve();
    this.#waiters.delete(event);
    this.#notify();
  }

  /** Resolves once no step waits on a time or runs (steps waiting for a condition or an event that cannot come do not count), or when `until` aborts. */
  async settled(until: AbortSignal): Promise<void> {
    // Background work does not hold the configuration: it is stopped with it.
    while (this.#options.steps.some((s) => !s.background && this.#canStillRun(s.name, new Set())) && !until.aborted) {
      const aborted = new Promise<void>((resolve) => until.addEventListener('abort', () => resolve(), { once: true }));
      await Promise.race([this.#changed.promise, aborted]);
    }
  }

  /** Ends the timeline: steps whose trigger has not come are skipped; an action still running is aborted. */
  async stop(): Promise<void> {
    this.#end.abort(new Error('the configuration ended'));
    await Promise.all(this.#tasks);
    // An aborted action may still return an undo: wait a while for it, so the teardown gets it.
    if (this.#applying.size > 0) {
      const giveUp = new AbortController();
      await Promise.race([Promise.allSettled(this.#applying), this.#clock.sleep(this.#options.abandonAfterMs ?? 10_000, giveUp.signal).catch(() => {})]);
      giveUp.abort();
    }
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = signal();
  }

  #set(name: string, state: State): void {
    this.#states.set(name, state);
    this.#notify();
  }

  #canStillRun(name: string, seen: Set<string>): boolean {
    const state = this.#states.get(name);
    if (state === 'timed' || state === 'running' || state === 'holding') return true;
    if (state !== 'waiting' || seen.has(name)) return false;
    const step = this.#options.steps.find((s) => s.name === name)!;
    const event = step.after ?? TIME_ZERO;
    if (this.#fired.has(event)) return true;
    seen.add(name);
    return this.#states.has(event) && this.#canStillRun(event, seen);
  }

  #event(name: string): Promise<void> {
    if (this.#fired.has(name)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.#stop.aborted) return reject(this.#stop.reason);
      this.#waiters.set(name, [...(this.#waiters.get(name) ?? []), { resolve, reject }]);
    });
  }

  async #until(when: string): Promise<void> {
    const condition = parseCondition(when)!;
    for (;;) {
      const value = this.#options.latest(condition.instance, condition.metric);
      if (value !== undefined && conditionHolds(condition, value)) return;
      await this.#clock.sleep(this.#options.pollMs ?? 250, this.#stop);
    }
  }

  async #run(step: Step): Promise<void> {
    const { action } = step;
    const base = { step: step.name, action: action.action, ...('instance' in action && action.instance !== undefined ? { instance: action.instance } : {}) };
    const record = (phase: StepPhase, detail: string, output?: string) => this.#options.record({ ...base, phase, detail, ...(output ? { output } : {}) });
    try {
      await this.#event(step.after ?? TIME_ZERO);
      if (step.at !== undefined && step.at > 0) {
        this.#set(step.name, 'timed');
        await this.#clock.sleep(step.at, this.#stop);
      }
      if (step.when !== undefined) {
        this.#set(step.name, 'condition');
        await this.#until(step.when);
      }
    } catch {
      this.#set(step.name, 'skipped');
      record('skipped', `not run: the configuration ended before its trigger (${describeTrigger(step)})`);
      return;
    }
    this.#set(step.name, 'running');
    const timeoutMs = (step.timeout ?? DEFAULT_STEP_TIMEOUT_MS) * (this.#options.timeScale ?? 1);
    record('start', describeAction(action));
    const expired = new AbortController();
    const applying = this.#options.apply(action, AbortSignal.any([this.#stop, expired.signal]), step.name);
    this.#applying.add(applying);
    let undo: (() => Promise<void>) | undefined;
    let timedOut = false;
    // Deferred as soon as the action returns, even after its timeout: an undo is never lost.
    applying.then(
      (applied) => {
        if (applied.undo) this.#options.defer((undo = this.#undoOnce(step, applied, record)));
        // A container that started after the timeout is there all the same: the post-mortem reads its kills too.
        if (timedOut && applied.started) this.#options.applied?.(step, applied, 'step');
      },
      () => {},
    );
    const deadline = new AbortController();
    try {
      const result: AppliedFault | typeof TIMED_OUT = await Promise.race([
        applying,
        this.#clock.sleep(timeoutMs, deadline.signal).then(
          (): typeof TIMED_OUT => TIMED_OUT,
          // Aborted once the action returned: the race is decided already.
          () => new Promise<never>(() => {}),
        ),
      ]);
      if (result === TIMED_OUT) {
        timedOut = true;
        expired.abort(new Error(`step ${step.name} timed out after ${timeoutMs} ms`));
        this.#set(step.name, 'failed');
        const detail = `did not finish within its timeout of ${seconds(timeoutMs)}`;
        record('timeout', detail);
        this.#fail(step, new StepFailedError(step.name, `step "${step.name}" (${action.action}) ${detail}`));
        return;
      }
      record('done', result.detail, result.output);
      this.#options.applied?.(step, result, 'step');
      this.fire(step.name);
      if (step.for !== undefined && undo) {
        this.#set(step.name, 'holding');
        try {
          await this.#clock.sleep(step.for, this.#stop);
        } catch {
          // The configuration ended first: the teardown undoes it.
          this.#set(step.name, 'done');
          return;
        }
        await undo();
      }
      this.#set(step.name, 'done');
    } catch (error) {
      this.#set(step.name, 'failed');
      const interrupted = this.#stop.aborted && !this.#options.signal.aborted;
      const said = describeError(error).replace(/\s+/g, ' ').trim();
      // Node's words for a dropped request say nothing of why: an engine whose machine is short of memory drops them.
      const dropped = /\b(socket hang up|ECONNRESET)\b/.test(said) ? ' (the container engine dropped the request: an engine on a machine short of memory, a small lab VM near its end, does that)' : '';
      const detail = interrupted ? 'interrupted: the configuration ended while it ran' : `${said}${dropped}`;
      const output = outputOf(error);
      record('failed', detail, output);
      if (!this.#options.signal.aborted) this.#fail(step, new StepFailedError(step.name, `step "${step.name}" (${action.action}) failed: ${detail}`, output, { cause: error }));
    } finally {
      deadline.abort();
      void applying.then(
        () => this.#applying.delete(applying),
        () => this.#applying.delete(applying),
      );
    }
  }

  #fail(step: Step, error: StepFailedError): void {
    if (this.#failure || step.background) return;
    this.#failure = error;
    this.#options.onFailure?.(error);
  }

  /** The undo, run once whoever calls it first (`for`, or the teardown); its failure is a cleanup failure. */
  #undoOnce(step: Step, applied: AppliedFault, record: (phase: StepPhase, detail: string, output?: string) => void): () => Promise<void> {
    let undoing: Promise<void> | undefined;
    return () =>
      (undoing ??= (async () => {
        try {
          await applied.undo!();
          record('undo', `undone: ${applied.undoDetail ?? applied.detail}`);
          this.#options.applied?.(step, applied, 'undo');
        } catch (error) {
          const detail = `could not be undone: ${describeError(error)}`;
          record('failed', detail, outputOf(error));
          throw new StepFailedError(step.name, `step "${step.name}" (${step.action.action}) ${detail}`, outputOf(error), { cause: error });
        }
      })());
  }
}

/** A promise and its resolve (Promise.withResolvers is ES2024). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** What a step waited for, as the scenario wrote it. */
export function describeTrigger(step: Step): string {
  const from = step.after ?? 'every instance was ready';
  const parts = [step.at !== undefined ? `${seconds(step.at)} after ${from}` : step.after !== undefined ? `after ${step.after}` : undefined, step.when !== undefined ? `when ${step.when}` : undefined];
  return parts.filter((p) => p !== undefined).join(', ') || from;
}

/** The action and its settings in a line: `limit a: memory 768 MiB`. */
export function describeAction(action: StepAction): string {
  const { action: name, ...fields } = action;
  const on = 'instance' in fields && fields.instance !== undefined ? ` ${fields.instance}` : '';
  const settings = Object.entries(fields)
    .filter(([key, value]) => key !== 'instance' && key !== 'run' && value !== undefined)
    .map(
      ([key, value]) =>
        `${key} ${key === 'memory' && typeof value === 'number' ? formatBytes(value) : ['delay', 'jitter'].includes(key) ? `${value} ms` : key === 'loss' ? `${value}%` : String(value)}`,
    );
  return `${name}${on}${settings.length > 0 ? `: ${settings.join(', ')}` : ''}`;
}

/** What a failed action printed: a step error's own output, a subprocess's (zx or execa), else nothing. */
export function outputOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as { output?: unknown; all?: unknown; stdout?: unknown; stderr?: unknown };
  const text =
    typeof fields.output === 'string'
      ? fields.output
      : typeof fields.all === 'string'
        ? fields.all
        : [fields.stdout, fields.stderr].filter((s): s is string => typeof s === 'string' && s.length > 0).join('\n');
  if (!text) return undefined;
  return text.length > OUTPUT_MAX_CHARS ? `…${text.slice(-OUTPUT_MAX_CHARS)}` : text;
}
