import { Agent, request, type ClientRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScenarioInvalidError } from '../../0-model/errors.ts';
import { weightedPicker } from '../../0-model/pick.ts';
import { HTTP_MAX_IN_FLIGHT } from '../../0-model/workload-defaults.ts';
import { dispatchArrivals, intendedStartTimes, totalDurationMs, type ArrivalStage } from '../arrival.ts';
import { driverTail, errorKey, newHistogram, summarise } from '../measure.ts';
import type { HttpLoadResult, HttpLoadSecond } from '../../0-model/workload-result.ts';

export type { HttpLoadResult, HttpLoadSecond };

/** One endpoint of the app tier, picked with probability weight / sum of weights. */
export interface WeightedPath {
  /** Request target on the app tier, starting with `/` (`/feed`, `/user?id=7`). */
  path: string;
  weight: number;
}

export interface HttpLoadOptions {
  /** The app tier, on this host's loopback only (`http://127.0.0.1:8080`); anything else is refused. */
  baseUrl: string;
  paths: WeightedPath[];
  stages: ArrivalStage[];
  /** @default 0 */
  startPerSecond?: number;
  /** Requests in flight at most; beyond it arrivals are dropped and counted (k6: `maxVUs`). @default 1_000 */
  maxInFlight?: number;
  /** After the last arrival, how long running requests may take before they are cut and counted as `unfinished` (k6: `gracefulStop`). @default 10_000 */
  drainMs?: number;
  /** A request not answered in full by then fails with `timeout`. @default 30_000 */
  requestTimeoutMs?: number;
  signal: AbortSignal;
  /** Deterministic path choice. The k6 driver cannot take it: its script uses k6's own Math.random. @default Math.random */
  random?: () => number;
  /** Called once a second with the live figures (the stand-in only: k6 reports at its end). */
  onSecond?: (second: HttpLoadSecond) => void;
}

/** The header on which the app tier names the database error behind a 5xx. */
export const ERROR_HEADER = 'x-oomlab-error';

const LOOPBACK_NAMES = new Set(['localhost', '[::1]']);

/**
 * The app tier's origin, refusing anything off this host's loopback: a burst aimed at a real service by a
 * typo would be an attack. Returns the URL with paths joined to it checked the same way.
 */
export function loopbackTargets(baseUrl: string, paths: readonly WeightedPath[]): { base: URL; urls: URL[] } {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch (error) {
    throw new ScenarioInvalidError(`the HTTP load driver's baseUrl is not a URL: got \`${baseUrl}\` — give one like http://127.0.0.1:8080`, { cause: error });
  }
  const loopback = LOOPBACK_NAMES.has(base.hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(base.hostname);
  if (base.protocol !== 'http:' || !loopback || base.username !== '' || base.password !== '') {
    throw new ScenarioInvalidError(`the HTTP load driver only sends traffic to this host's loopback over http: got baseUrl \`${baseUrl}\` — point it at the app tier on http://127.0.0.1:<port>`);
  }
  if (paths.length === 0) throw new ScenarioInvalidError('the HTTP load driver needs at least one path, got none — add { path: "/feed", weight: 1 }');
  const prefix = base.pathname.replace(/\/$/, '');
  const urls = paths.map(({ path, weight }) => {
    if (!Number.isFinite(weight) || weight <= 0) throw new ScenarioInvalidError(`the weight of path \`${path}\` must be a positive number, got \`${weight}\``);
    if (!path.startsWith('/') || /[\s\u0000-\u001f]/.test(path)) {
      throw new ScenarioInvalidError(`a load path must start with \`/\` and hold no spaces or control characters, got \`${path}\``);
    }
    const url = new URL(`${base.origin}${prefix}${path}`);
    if (url.origin !== base.origin) throw new ScenarioInvalidError(`the load path \`${path}\` leaves ${base.origin} (it resolves to ${url.origin})`);
    return url;
  });
  return { base, urls };
}

/** The key of a failed answer: the app tier's own word for the database error, else the status. */
export function responseErrorKey(status: number, header: string | string[] | undefined): string {
  const named = Array.isArray(header) ? header[0] : header;
  return named !== undefined && named.trim() !== '' ? named.trim() : `HTTP ${status}`;
}

/**
 * The npm-free stand-in for k6: an open-model HTTP burst over node:http. Requests are sent at their
 * intended times whatever the app tier does; latency counts from the intended start (no coordinated
 * omission); when `maxInFlight` are running, arrivals are dropped and counted, as k6 drops iterations
 * when no VU is free.
 */
export async function runHttpStandIn(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const { urls } = loopbackTargets(options.baseUrl, options.paths);
  const maxInFlight = options.maxInFlight ?? HTTP_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new ScenarioInvalidError(`maxInFlight must be a positive integer, got \`${maxInFlight}\``);
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const pick = weightedPicker(
    options.paths.map((p, i) => ({ weight: p.weight, url: urls[i]! })),
    options.random ?? Math.random,
  );
  const schedule = intendedStartTimes(options.stages, options.startPerSecond ?? 0);
  const plannedMs = totalDurationMs(options.stages);
  // Keep-alive, as k6 keeps each VU's connection: the burst measures the app tier and its database, not TCP
  // handshakes, and a new connection per request would leave tens of thousands of sockets in TIME_WAIT.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const latency = newHistogram();
  const secondLatency = newHistogram();
  const errorsByCode: Record<string, number> = {};
  const seconds: HttpLoadSecond[] = [];
  const secondAt = (index: number): HttpLoadSecond => {
    while (seconds.length <= index) seconds.push({ second: seconds.length, intended: 0, started: 0, errors: 0, inFlight: 0 });
    return seconds[index]!;
  };
  secondAt(Math.ceil(plannedMs / 1000));
  for (const t of schedule) secondAt(Math.floor(t / 1000)).intended++;
  const counts = { started: 0, completed: 0, failed: 0, dropped: 0 };
  // Requests in flight and their timeout timers, so a cut clears both.
  const open = new Map<ClientRequest, NodeJS.Timeout>();
  let inFlight = 0;
  let peakInFlight = 0;
  let cutting = false;
  let whenIdle: (() => void) | undefined;
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;

  // Seconds close as the clock passes them: their in-flight figure and latency percentiles are fixed then.
  let openSecond = 0;
  const advance = (nowMs: number) => {
    const now = Math.floor(nowMs / 1000);
    while (openSecond < now) {
      const closing = secondAt(openSecond++);
      closing.inFlight = inFlight;
      if (secondLatency.totalCount > 0) {
        closing.latencyP50Ms = Math.round(secondLatency.getValueAtPercentile(50)) / 1000;
        closing.latencyP90Ms = Math.round(secondLatency.getValueAtPercentile(90)) / 1000;
        closing.latencyP99Ms = Math.round(secondLatency.getValueAtPercentile(99)) / 1000;
        secondLatency.reset();
      }
      options.onSecond?.(closing);
    }
  };
  const ticker = setInterval(() => advance(elapsed()), 100);

  function send(intendedMs: number): void {
    const { url } = pick();
    let settled = false;
    const req = request(url, { agent, headers: { 'user-agent': 'oomlab-http-stand-in' } });
    const finish = (key: string | undefined) => {
      if (settled || cutting) return;
      settled = true;
      clearTimeout(timer);
      open.delete(req);
      inFlight--;
      const now = elapsed();
      advance(now);
      if (key !== undefined) {
        counts.failed++;
        errorsByCode[key] = (errorsByCode[key] ?? 0) + 1;
        secondAt(openSecond).errors++;
      } else {
        counts.completed++;
      }
      const us = Math.max(1, Math.round((now - intendedMs) * 1000));
      latency.recordValue(us);
      secondLatency.recordValue(us);
      if (inFlight === 0) whenIdle?.();
    };
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, requestTimeoutMs);
    open.set(req, timer);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const key = status >= 400 ? responseErrorKey(status, res.headers[ERROR_HEADER]) : undefined;
      // The body must be read for the socket to go back to the pool; the answer is complete at its end.
      res.resume();
      res.on('end', () => finish(key));
      res.on('error', (error) => finish(errorKey(error)));
      // A body cut short may end in 'close' alone.
      res.on('close', () => finish(res.complete ? key : 'ECONNRESET'));
    });
    req.on('error', (error) => finish(errorKey(error)));
    req.end();
  }

  let unfinished = 0;
  try {
    await dispatchArrivals(schedule, {
      elapsed,
      signal: options.signal,
      maxInFlight,
      inFlight: () => inFlight,
      drop: () => counts.dropped++,
      start: (intended) => {
        inFlight++;
        peakInFlight = Math.max(peakInFlight, inFlight);
        counts.started++;
        secondAt(openSecond).started++;
        send(intended);
      },
      onTick: advance,
    });
    if (inFlight > 0 && !options.signal.aborted) {
      const drainOver = new AbortController();
      await Promise.race([
        new Promise<void>((resolve) => (whenIdle = resolve)),
        new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true, signal: drainOver.signal })),
        sleep(options.drainMs ?? 10_000, undefined, { signal: drainOver.signal }).catch(() => {}),
      ]);
      drainOver.abort();
    }
  } finally {
    // Whatever is still running when the drain time is over (or on cancel) is cut and counted as unfinished.
    unfinished = inFlight;
    cutting = true;
    for (const [req, timer] of open) {
      clearTimeout(timer);
      req.destroy();
    }
    clearInterval(ticker);
    agent.destroy();
  }
  advance(elapsed() + 1000);

  const { durationMs, endedBy, ...tail } = driverTail({ elapsedMs: elapsed(), signal: options.signal, errorsByCode, seconds, peakInFlight, dropped: counts.dropped });
  return {
    driver: 'http-stand-in',
    durationMs,
    endedBy,
    requests: { intended: schedule.length, started: counts.started, completed: counts.completed, failed: counts.failed, dropped: counts.dropped, unfinished },
    latencyMs: summarise(latency),
    ...tail,
    notes: [],
  };
}
