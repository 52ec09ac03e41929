import { describe, expect, it } from 'vitest';
import { StepScheduler, TIME_ZERO, type StepClock, type StepRecord } from '../../src/8-run/steps.ts';
import type { Step, StepAction } from '../../src/1-scenario/index.ts';
import type { AppliedFault } from '../../src/3-runtime/index.ts';
import { Teardown } from '../../src/8-run/teardown.ts';

/** A clock whose time moves only when the test advances it; sleeps resolve in time order. */
class FakeClock implements StepClock {
  #now = 0;
  #timers: { at: number; resolve: () => void }[] = [];
  now(): number {
    return this.#now;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal.reason);
      };
      // Like timers/promises' setTimeout: the listener goes once the sleep is over.
      const timer = {
        at: this.#now + ms,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.#timers.push(timer);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (;;) {
      const next = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.resolve();
      await flush();
    }
    this.#now = target;
    await flush();
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Harness {
  clock: FakeClock;
  scheduler: StepScheduler;
  records: (StepRecord & { t: number })[];
  teardown: Teardown;
  applied: string[];
  samples: Map<string, number>;
  failures: Error[];
  controller: AbortController;
}

function harness(steps: Step[], apply: (action: StepAction, signal: AbortSignal) => Promise<AppliedFault> = defaultApply, timeScale?: number): Harness {
  const clock = new FakeClock();
  const records: (StepRecord & { t: number })[] = [];
  const teardown = new Teardown();
  const applied: string[] = [];
  const samples = new Map<string, number>();
  const failures: Error[] = [];
  const controller = new AbortController();
  const scheduler = new StepScheduler({
    steps,
    apply: (action, signal) => {
      applied.push(`${clock.now()} ${action.action}`);
      return apply(action, signal);
    },
    record: (record) => records.push({ ...record, t: clock.now() }),
    latest: (instance, metric) => samples.get(`${instance}.${metric}`),
    defer: (undo) => teardown.defer(undo),
    onFailure: (error) => failures.push(error),
    signal: controller.signal,
    clock,
    ...(timeScale !== undefined ? { timeScale } : {}),
  });
  scheduler.start();
  return { clock, scheduler, records, teardown, applied, samples, failures, controller };
}

async function defaultApply(action: StepAction): Promise<AppliedFault> {
  return { detail: `${action.action} applied`, undo: async () => {} };
}

const phases = (h: Harness) => h.records.map((r) => `${r.t} ${r.step} ${r.phase}`);
const pause = (name: string, trigger: Partial<Step>): Step => ({ name, ...trigger, action: { action: 'pause', instance: 'a' } });

describe('StepScheduler with an injected clock', () => {
  it('counts `at` from the moment every instance is ready, and `after` a step from when its action returned', async () => {
    const h = harness([pause('second', { after: 'first', at: 5_000 }), pause('first', { at: 20_000 }), pause('at-zero', { at: 0 })]);
    await h.clock.advance(3_000);
    expect(h.applied).toEqual([]);
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(30_000);
    expect(h.applied).toEqual(['3000 pause', '23000 pause', '28000 pause']);
    expect(phases(h)).toEqual(['3000 at-zero start', '3000 at-zero done', '23000 first start', '23000 first done', '28000 second start', '28000 second done']);
    expect(h.records.find((r) => r.phase === 'start')).toEqual({ step: 'at-zero', action: 'pause', instance: 'a', phase: 'start', detail: 'pause a', t: 3_000 });
  });

  it('leaves no stop listener behind for a step whose event fired: 12 chained steps raise no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const chain = Array.from({ length: 12 }, (_, i) => pause(`s${i}`, i === 0 ? { at: 0 } : { after: `s${i - 1}`, at: 1 }));
      const h = harness(chain);
      h.scheduler.fire(TIME_ZERO);
      await h.clock.advance(100);
      expect(h.applied).toHaveLength(12);
      await h.scheduler.stop();
      await flush();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('runs a step after an instance is ready or the workload ends, with `at` as the offset', async () => {
    const h = harness([pause('after-ready', { after: 'a.ready', at: 1_000 }), pause('after-load', { after: 'workload.end' })]);
    await h.clock.advance(2_000);
    h.scheduler.fire('a.ready');
    await h.clock.advance(1_000);
    h.scheduler.fire(TIME_ZERO);
    h.scheduler.fire('workload.start');
    await h.clock.advance(10_000);
    h.scheduler.fire('workload.end');
    await h.clock.advance(0);
    expect(h.applied).toEqual(['3000 pause', '13000 pause']);
  });

  it('waits for a `when` until the latest sample crosses the value', async () => {
    const h = harness([{ name: 'caches', when: 'a.memory >= 800m', action: { action: 'drop-caches' } }]);
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(1_000);
    h.samples.set('a.memory', 700 * 1024 ** 2);
    await h.clock.advance(1_000);
    expect(h.applied).toEqual([]);
    h.samples.set('a.memory', 800 * 1024 ** 2);
    await h.clock.advance(250);
    expect(h.applied).toEqual(['2250 drop-caches']);
  });

  it('undoes a fault after `for`, once, and leaves nothing for the teardown to undo again', async () => {
    let undos = 0;
    const h = harness([pause('pause-a', { at: 1_000, for: 4_000 })], async () => ({ detail: 'paused a', undo: async () => void undos++ }));
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(10_000);
    expect(phases(h)).toEqual(['1000 pause-a start', '1000 pause-a done', '5000 pause-a undo']);
    expect(h.records.at(-1)!.detail).toBe('undone: paused a');
    await h.scheduler.stop();
    await h.teardown.run();
    expect(undos).toBe(1);
  });

  it('hands every undo to the teardown, which runs it when the configuration ends', async () => {
    const undone: string[] = [];
    const h = harness([pause('one', { at: 1_000 }), pause('two', { at: 2_000 })], async (action) => ({ detail: action.action, undo: async () => void undone.push(action.action) }));
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(3_000);
    await h.scheduler.stop();
    expect(undone).toEqual([]);
    await h.teardown.run();
    expect(undone).toEqual(['pause', 'pause']);
    expect(phases(h).filter((p) => p.endsWith('undo'))).toEqual(['3000 two undo', '3000 one undo']);
  });

  it('records a failed action with its output and reports the failure once', async () => {
    const h = harness([pause('pause-a', { at: 1_000 }), pause('later', { at: 2_000 })], async (action) => {
      if (action.action === 'pause') throw Object.assign(new Error('zx: exit code 1'), { stdout: 'partial', stderr: 'tc: RTNETLINK answers: Operation not permitted' });
      return { detail: '' };
    });
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(3_000);
    expect(h.records[1]).toEqual({
      step: 'pause-a',
      action: 'pause',
      instance: 'a',
      phase: 'failed',
      detail: 'zx: exit code 1',
      output: 'partial\ntc: RTNETLINK answers: Operation not permitted',
      t: 1_000,
    });
    expect(h.failures.map((e) => e.message)).toEqual(['step "pause-a" (pause) failed: zx: exit code 1']);
    expect(h.scheduler.failure?.output).toBe('partial\ntc: RTNETLINK answers: Operation not permitted');
  });

  it("says why a request the engine dropped may have been dropped: Node's `socket hang up` alone told a newcomer nothing", async () => {
    // A lab VM's guest near its end of memory: neighbour steps failed with this, each in seconds (2026-12-07).
    const h = harness([pause('pause-a', { at: 1_000 })], async () => {
      throw new Error('socket hang up');
    });
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(2_000);
    expect(h.failures.map((e) => e.message)).toEqual([
      'step "pause-a" (pause) failed: socket hang up (the container engine dropped the request: an engine on a machine short of memory, a small lab VM near its end, does that)',
    ]);
  });

  it('times an action out after its timeout, aborts it, and still undoes what it returns late', async () => {
    let aborted = false;
    let finish!: () => void;
    let undos = 0;
    const h = harness([pause('slow', { at: 0, timeout: 5_000 })], (_, signal) => {
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise((resolve) => (finish = () => resolve({ detail: 'late', undo: async () => void undos++ })));
    });
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(4_999);
    expect(h.failures).toEqual([]);
    await h.clock.advance(1);
    expect(aborted).toBe(true);
    expect(phases(h)).toEqual(['0 slow start', '5000 slow timeout']);
    expect(h.failures.map((e) => e.message)).toEqual(['step "slow" (pause) did not finish within its timeout of 5 s']);
    finish();
    await h.scheduler.stop();
    await h.teardown.run();
    expect(undos).toBe(1);
  });

  it('hands on a container the action started after its timeout: a neighbour that came up late can still be OOM-killed', async () => {
    // Under TCG a neighbour's container took longer than its step's timeout to start; its kill was then never read.
    const clock = new FakeClock();
    const handed: string[] = [];
    let finish!: () => void;
    const scheduler = new StepScheduler({
      steps: [{ name: 'neighbour-1', at: 0, timeout: 5_000, action: { action: 'pause', instance: 'db' } }],
      apply: () => new Promise((resolve) => (finish = () => resolve({ detail: 'started late', started: { instance: 'neighbour-1', containerId: 'c0ffee' } }))),
      record: () => {},
      applied: (step, applied, phase) => handed.push(`${clock.now()} ${step.name} ${phase} ${applied.started?.containerId}`),
      latest: () => undefined,
      defer: () => {},
      onFailure: () => {},
      signal: new AbortController().signal,
      clock,
    });
    scheduler.start();
    scheduler.fire(TIME_ZERO);
    await clock.advance(5_000);
    expect(handed).toEqual([]);
    await clock.advance(2_000);
    finish();
    await scheduler.stop();
    expect(handed).toEqual(['7000 neighbour-1 step c0ffee']);
  });

  it('warns of no listener leak with a dozen steps waiting and running at once (a newcomer saw MaxListenersExceededWarning six times a run)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const scheduler = new StepScheduler({
        steps: Array.from({ length: 12 }, (_, i) => ({ name: `neighbour-${i + 1}`, at: 20 + i * 5, action: { action: 'pause' as const, instance: 'db' } })),
        apply: () => new Promise((resolve) => setTimeout(() => resolve({ detail: 'started' }), 150)),
        record: () => {},
        latest: () => undefined,
        defer: () => {},
        onFailure: () => {},
        signal: new AbortController().signal,
      });
      scheduler.start();
      scheduler.fire(TIME_ZERO);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await scheduler.stop();
      // Node emits the warning on the next tick after the listener that crossed the limit.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it("scales a step's timeout by a lab VM's slowdown, as readiness is (TCG ×4)", async () => {
    const h = harness([pause('slow', { at: 0, timeout: 5_000 })], (_, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ detail: 'aborted' }))), 4);
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(19_999);
    expect(h.failures).toEqual([]);
    await h.clock.advance(1);
    expect(h.failures.map((e) => e.message)).toEqual(['step "slow" (pause) did not finish within its timeout of 20 s']);
    await h.scheduler.stop();
  });

  it('skips a step whose trigger never came before the end, saying what it waited for', async () => {
    const h = harness([
      pause('never', { when: 'a.connections > 500' }),
      pause('too-late', { at: 60_000 }),
      pause('after-never', { after: 'never' }),
      pause('after-b', { after: 'b.ready', at: 2_000 }),
    ]);
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(1_000);
    await h.scheduler.stop();
    expect(h.records.map((r) => `${r.step} ${r.phase}: ${r.detail}`).sort()).toEqual([
      'after-b skipped: not run: the configuration ended before its trigger (2 s after b.ready)',
      'after-never skipped: not run: the configuration ended before its trigger (after never)',
      'never skipped: not run: the configuration ended before its trigger (when a.connections > 500)',
      'too-late skipped: not run: the configuration ended before its trigger (60 s after every instance was ready)',
    ]);
  });

  it('settles once only steps waiting for a condition or for events that cannot come are left', async () => {
    const h = harness([
      pause('timed', { at: 5_000 }),
      pause('chained', { after: 'timed', at: 1_000 }),
      pause('condition', { when: 'a.memory > 1g' }),
      pause('after-condition', { after: 'condition' }),
    ]);
    h.scheduler.fire(TIME_ZERO);
    let settled = false;
    const settling = h.scheduler.settled(new AbortController().signal).then(() => (settled = true));
    await h.clock.advance(5_500);
    expect(settled).toBe(false);
    await h.clock.advance(500);
    await settling;
    expect(h.applied).toEqual(['5000 pause', '6000 pause']);
  });

  it('stops settling when the configuration must end', async () => {
    const h = harness([pause('far', { at: 600_000 })]);
    h.scheduler.fire(TIME_ZERO);
    const end = new AbortController();
    const settling = h.scheduler.settled(end.signal);
    await h.clock.advance(1_000);
    end.abort();
    await settling;
    await h.scheduler.stop();
    expect(phases(h)).toEqual(['1000 far skipped']);
  });

  it('on cancel skips the waiting steps without calling it a step failure', async () => {
    const h = harness([pause('waiting', { at: 10_000 })]);
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(1_000);
    h.controller.abort(new Error('SIGINT received'));
    await h.scheduler.stop();
    expect(phases(h)).toEqual(['1000 waiting skipped']);
    expect(h.failures).toEqual([]);
  });

  it('records an undo that fails and rethrows it as a cleanup failure', async () => {
    const h = harness([pause('pause-a', { at: 0 })], async () => ({ detail: 'paused a', undo: async () => Promise.reject(new Error('no such container')) }));
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(0);
    await h.scheduler.stop();
    await expect(h.teardown.run()).rejects.toThrow('step "pause-a" (pause) could not be undone: no such container');
    expect(phases(h)).toEqual(['0 pause-a start', '0 pause-a done', '0 pause-a failed']);
  });
});

describe('a background step', () => {
  it('records its failure without failing the configuration', async () => {
    const h = harness([{ ...pause('warm-up', { at: 1_000 }), background: true }], async () => {
      throw new Error('run step failed: exit code 1');
    });
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(2_000);
    expect(phases(h)).toEqual(['1000 warm-up start', '1000 warm-up failed']);
    expect([h.failures, h.scheduler.failure]).toEqual([[], undefined]);
  });

  it('records its timeout without failing the configuration', async () => {
    const h = harness([{ ...pause('slow', { at: 0, timeout: 5_000 }), background: true }], () => new Promise(() => {}));
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(6_000);
    expect(phases(h)).toEqual(['0 slow start', '5000 slow timeout']);
    expect(h.failures).toEqual([]);
  });

  it('does not hold the configuration while it runs', async () => {
    const h = harness([{ ...pause('load-data', { at: 0, timeout: 600_000 }), background: true }], () => new Promise(() => {}));
    h.scheduler.fire(TIME_ZERO);
    await h.clock.advance(1_000);
    await h.scheduler.settled(new AbortController().signal);
    expect(phases(h)).toEqual(['0 load-data start']);
  });
});
