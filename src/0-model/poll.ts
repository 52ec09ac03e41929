import { setTimeout as sleep } from 'node:timers/promises';

/** Time as `poll` reads and spends it; tests inject one that only advances when asked to wait. */
export interface PollClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Resolves after `ms`, or earlier when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: PollClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
};

export interface PollOptions {
  /** Attempts start at most this often: after an attempt, `poll` waits what is left of the interval. */
  intervalMs: number;
  /** Gives up once this long has passed since `poll` was called. @default no limit */
  timeoutMs?: number;
  /** Ends the wait at once; the result is then `cancel`. */
  signal?: AbortSignal;
  /** Cuts a wait short when it settles (a container's exit), so the next attempt sees it at once. */
  wake?: Promise<unknown>;
  /** @default realClock */
  clock?: PollClock;
}

export type PollResult<T> = { done: true; value: T; attempts: number; afterMs: number } | { done: false; why: 'timeout' | 'cancel'; attempts: number; afterMs: number };

/**
 * Calls `attempt` (1, 2, 3, ...) until it returns something other than `undefined` or `false`, the
 * timeout passes or the signal aborts. An attempt runs even when the timeout is reached during the
 * wait before it, so the last look is at the deadline; an attempt's own error propagates.
 */
export async function poll<T>(attempt: (n: number) => T | undefined | false | Promise<T | undefined | false>, options: PollOptions): Promise<PollResult<T>> {
  const clock = options.clock ?? realClock;
  const startedAt = clock.now();
  const afterMs = () => clock.now() - startedAt;
  for (let n = 1; ; n++) {
    if (options.signal?.aborted) return { done: false, why: 'cancel', attempts: n - 1, afterMs: afterMs() };
    const attemptStartedAt = clock.now();
    const value = await attempt(n);
    if (value !== undefined && value !== false) return { done: true, value, attempts: n, afterMs: afterMs() };
    const left = (options.timeoutMs ?? Number.POSITIVE_INFINITY) - afterMs();
    if (left <= 0) return { done: false, why: 'timeout', attempts: n, afterMs: afterMs() };
    await pause(Math.min(left, options.intervalMs - (clock.now() - attemptStartedAt)), options, clock);
  }
}

async function pause(ms: number, options: PollOptions, clock: PollClock): Promise<void> {
  // Cancelled once the pause is over, so a wake or an abort leaves no timer holding the process.
  const over = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, over.signal]) : over.signal;
  try {
    await Promise.race([clock.sleep(Math.max(0, ms), signal), ...(options.wake ? [options.wake.then(noop, noop)] : [])]);
  } finally {
    over.abort();
  }
}

function noop(): void {}
