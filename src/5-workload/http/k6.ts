import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ScenarioInvalidError } from '../../0-model/errors.ts';
import { HTTP_MAX_IN_FLIGHT } from '../../0-model/workload-defaults.ts';
import { onPath } from '../../4-observe/index.ts';
import { intendedStartTimes, totalDurationMs, type ArrivalStage } from '../arrival.ts';
import { ERROR_HEADER, loopbackTargets, type HttpLoadOptions, type HttpLoadResult, type WeightedPath } from './stand-in.ts';
import type { LatencySummaryMs } from '../../0-model/workload-result.ts';

/**
 * Error keys that get a k6 Counter of their own (k6 declares metrics in the init context only, so the
 * set is fixed when the script is written); any other key is counted in `errors_other`.
 */
export const K6_ERROR_KEYS: readonly string[] = [
  '1037 ER_OUTOFMEMORY',
  '1038 ER_OUT_OF_SORTMEMORY',
  '1040 ER_CON_COUNT_ERROR',
  '1041 ER_OUT_OF_RESOURCES',
  '1129 ER_HOST_IS_BLOCKED',
  '1135 ER_CANT_CREATE_THREAD',
  '1203 ER_TOO_MANY_USER_CONNECTIONS',
  '1205 ER_LOCK_WAIT_TIMEOUT',
  '1226 ER_USER_LIMIT_REACHED',
  '2013 CR_SERVER_LOST',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'timeout',
  'HTTP 500',
  'HTTP 502',
  'HTTP 503',
  'HTTP 504',
];

/** k6's `error_code` of a request that got no answer, as the stand-in keys the same failure (k6's lib/netext/httpext/error_codes.go). */
export const K6_NETWORK_ERROR_KEYS: Readonly<Record<number, string>> = {
  1050: 'timeout',
  1201: 'EPIPE',
  1211: 'timeout',
  1212: 'ECONNREFUSED',
  1220: 'ECONNRESET',
};

export const K6_OTHER_ERRORS_METRIC = 'errors_other';

/** The k6 Counter for an error key: `1040 ER_CON_COUNT_ERROR` → `errors_1040_er_con_count_error`. */
export function k6ErrorMetric(key: string): string {
  return `errors_${key
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')}`;
}

export interface K6Thresholds {
  /** `http_req_duration: ['p(99)<N']`. */
  p99LatencyMs?: number;
  /** `http_req_failed: ['rate<X']`, X between 0 and 1. */
  maxErrorRate?: number;
}

export interface K6ScriptOptions {
  baseUrl: string;
  paths: WeightedPath[];
  stages: ArrivalStage[];
  /** @default 0 */
  startPerSecond?: number;
  preAllocatedVUs: number;
  /** The in-flight cap: with every VU busy, k6 drops the arrival (`dropped_iterations`). */
  maxVUs: number;
  thresholds: K6Thresholds;
  /** Running iterations may finish this long after the last stage (the stand-in's `drainMs`). @default 10_000 */
  gracefulStopMs?: number;
  /** @default 30_000 */
  requestTimeoutMs?: number;
  /** Keys counted by a Counter of their own. @default K6_ERROR_KEYS */
  errorKeys?: readonly string[];
}

/** `1500` → `1500ms`, `30000` → `30s`: k6's duration strings. */
export function k6Duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * k6 rates are integers per `timeUnit`: a fractional per-second rate (2.5/s) is written per 10, 100 or
 * 1000 seconds (25 per 10s), which k6 ramps the same way.
 */
export function k6RateUnit(perSecondRates: readonly number[]): { timeUnitSeconds: number; scale: (perSecond: number) => number } {
  const timeUnitSeconds = [1, 10, 100, 1000].find((m) => perSecondRates.every((r) => Math.abs(r * m - Math.round(r * m)) < 1e-9)) ?? 1000;
  return { timeUnitSeconds, scale: (perSecond) => Math.round(perSecond * timeUnitSeconds) };
}

const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(99)', 'p(99.9)'];

function positive(name: string, value: number, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ScenarioInvalidError(`the k6 script's \`${name}\` must be a positive ${integer ? 'integer' : 'number'}, got \`${value}\``);
  }
  return value;
}

/** The k6 script of the burst, a real file beside this one; its parameters come from `k6BurstParams`. */
export const K6_BURST_SCRIPT = fileURLToPath(new URL('./k6-burst.js', import.meta.url));

/** The environment variable that names the parameter file for the script (k6 `--env`). */
export const K6_PARAMS_ENV = 'OOMLAB_BURST_PARAMS';

/** Everything k6-burst.js reads from its parameter file. */
export interface K6BurstParams {
  /** The app tier's origin and path prefix, without a trailing slash. */
  baseUrl: string;
  paths: WeightedPath[];
  /** k6 duration of a request's timeout: `30000ms`. */
  requestTimeout: string;
  errorHeader: string;
  /** k6 `error_code` → the stand-in's key. */
  networkErrors: Readonly<Record<number, string>>;
  /** Error key → the name of its k6 Counter. */
  errorMetrics: Record<string, string>;
  otherErrorsMetric: string;
  /** k6's `options` export: the `burst` scenario, thresholds and summary statistics. */
  options: {
    scenarios: { burst: Record<string, unknown> };
    thresholds: Record<string, string[]>;
    summaryTrendStats: string[];
  };
}

/** The parameters of the burst script: the `burst` scenario is a ramping-arrival-rate executor over the same stages the stand-in follows. */
export function k6BurstParams(options: K6ScriptOptions): K6BurstParams {
  const { base } = loopbackTargets(options.baseUrl, options.paths);
  const maxVUs = positive('maxVUs', options.maxVUs, true);
  const preAllocatedVUs = positive('preAllocatedVUs', options.preAllocatedVUs, true);
  if (preAllocatedVUs > maxVUs) throw new ScenarioInvalidError(`the k6 script's preAllocatedVUs (${preAllocatedVUs}) exceeds maxVUs (${maxVUs}) — raise maxVUs or lower preAllocatedVUs`);
  const errorMetrics: Record<string, string> = {};
  const metricOwner = new Map<string, string>();
  for (const key of options.errorKeys ?? K6_ERROR_KEYS) {
    const metric = k6ErrorMetric(key);
    const owner = metricOwner.get(metric);
    if (owner !== undefined || metric === K6_OTHER_ERRORS_METRIC) throw new ScenarioInvalidError(`the error keys \`${owner ?? 'other'}\` and \`${key}\` would share the k6 metric ${metric}`);
    metricOwner.set(metric, key);
    errorMetrics[key] = metric;
  }
  const startPerSecond = options.startPerSecond ?? 0;
  const { timeUnitSeconds, scale } = k6RateUnit([startPerSecond, ...options.stages.map((s) => s.targetPerSecond)]);
  const thresholds: Record<string, string[]> = {};
  if (options.thresholds.p99LatencyMs !== undefined) thresholds.http_req_duration = [`p(99)<${positive('thresholds.p99LatencyMs', options.thresholds.p99LatencyMs, false)}`];
  if (options.thresholds.maxErrorRate !== undefined) {
    const rate = options.thresholds.maxErrorRate;
    if (!(rate >= 0 && rate <= 1)) throw new ScenarioInvalidError(`the k6 script's \`thresholds.maxErrorRate\` is a fraction between 0 and 1, got \`${rate}\``);
    thresholds.http_req_failed = [`rate<${rate}`];
  }
  return {
    baseUrl: base.origin + base.pathname.replace(/\/$/, ''),
    paths: options.paths.map(({ path, weight }) => ({ path, weight })),
    requestTimeout: `${options.requestTimeoutMs ?? 30_000}ms`,
    errorHeader: ERROR_HEADER,
    networkErrors: K6_NETWORK_ERROR_KEYS,
    errorMetrics,
    otherErrorsMetric: K6_OTHER_ERRORS_METRIC,
    options: {
      scenarios: {
        burst: {
          executor: 'ramping-arrival-rate',
          startRate: scale(startPerSecond),
          timeUnit: `${timeUnitSeconds}s`,
          preAllocatedVUs,
          maxVUs,
          gracefulStop: k6Duration(options.gracefulStopMs ?? 10_000),
          stages: options.stages.map((s) => ({ target: scale(s.targetPerSecond), duration: k6Duration(s.durationMs) })),
        },
      },
      thresholds,
      summaryTrendStats: SUMMARY_TREND_STATS,
    },
  };
}

/** Whether the k6 binary is on PATH (k6 is a system binary, not an npm package). */
export function k6Available(): Promise<boolean> {
  return onPath('k6');
}

type SummaryMetric = Record<string, unknown>;

function metricOf(summary: { metrics?: Record<string, SummaryMetric> }, name: string): SummaryMetric | undefined {
  return summary.metrics?.[name];
}

function numberOf(metric: SummaryMetric | undefined, field: string): number | undefined {
  const value = metric?.[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * The result of a k6 run from its `--summary-export` JSON. `intended` is the arrival count of the stages
 * (k6's summary does not hold it). What the summary cannot give is said in `notes`:
 * - latency is k6's `iteration_duration` (one request per iteration, from the iteration's start, which is
 *   its scheduled time: k6 drops an arrival rather than delay it), falling back to `http_req_duration`;
 *   a percentile missing from `summaryTrendStats` is reported as the next one up, or the max (an upper bound);
 * - `perSecond` is empty: the summary has no time series;
 * - `peakInFlight` is k6's `vus` max, sampled about once a second (a lower bound of the true peak);
 * - `unfinished` is derived as intended − started − dropped (iterations cut at gracefulStop are not in the summary);
 * - `durationMs` is k6's test duration derived from `http_reqs` count / rate (0 when no request was sent).
 * Rate metrics in this format are inverted for `http_req_failed` (`passes` are failed requests), and a
 * threshold's boolean is `true` when it was crossed (grafana/k6#1498).
 */
export function parseK6Summary(json: unknown, intended: number, errorKeys: readonly string[] = K6_ERROR_KEYS): HttpLoadResult {
  if (typeof json !== 'object' || json === null || typeof (json as { metrics?: unknown }).metrics !== 'object') {
    throw new Error(`not a k6 --summary-export document: expected an object with \`metrics\`, got ${JSON.stringify(json)?.slice(0, 80)}`);
  }
  const summary = json as { metrics: Record<string, SummaryMetric> };
  const notes: string[] = [];
  const httpReqs = metricOf(summary, 'http_reqs');
  const started = numberOf(httpReqs, 'count') ?? 0;
  const failedRate = metricOf(summary, 'http_req_failed');
  const failed = numberOf(failedRate, 'passes') ?? 0;
  const completed = numberOf(failedRate, 'fails') ?? Math.max(0, started - failed);
  const dropped = numberOf(metricOf(summary, 'dropped_iterations'), 'count') ?? 0;

  let trendName = 'iteration_duration';
  let trend = metricOf(summary, trendName);
  if (trend === undefined) {
    trendName = 'http_req_duration';
    trend = metricOf(summary, trendName);
    if (trend !== undefined) notes.push('latency is http_req_duration: the summary has no iteration_duration, so connection set-up (http_req_blocked) is not in it');
  }
  const ladder = ['med', 'p(90)', 'p(99)', 'p(99.9)', 'max'];
  const at = (stat: string): number => {
    for (const candidate of ladder.slice(ladder.indexOf(stat))) {
      const value = numberOf(trend, candidate);
      if (value === undefined) continue;
      if (candidate !== stat) notes.push(`latency ${stat} is not in the summary (k6 summaryTrendStats); reported ${candidate}, an upper bound`);
      return round3(value);
    }
    return 0;
  };
  const count = numberOf(metricOf(summary, 'iterations'), 'count') ?? started;
  const latencyMs: LatencySummaryMs =
    trend === undefined ? { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 } : { count, p50: at('med'), p90: at('p(90)'), p99: at('p(99)'), p999: at('p(99.9)'), max: at('max') };
  if (trend === undefined && started > 0) notes.push('latency is not in the summary: neither iteration_duration nor http_req_duration');

  const errorsByCode: Record<string, number> = {};
  const known = new Map(errorKeys.map((key) => [k6ErrorMetric(key), key]));
  for (const [name, metric] of Object.entries(summary.metrics)) {
    if (!name.startsWith('errors_')) continue;
    const n = numberOf(metric, 'count') ?? 0;
    if (n === 0) continue;
    const key = name === K6_OTHER_ERRORS_METRIC ? 'other' : (known.get(name) ?? name.slice('errors_'.length));
    errorsByCode[key] = (errorsByCode[key] ?? 0) + n;
  }
  const counted = Object.values(errorsByCode).reduce((sum, n) => sum + n, 0);
  if (failed > counted) {
    errorsByCode.other = (errorsByCode.other ?? 0) + failed - counted;
    notes.push(`${failed - counted} failed requests carry no oomlab error counter (a script other than oomlab's?): counted as \`other\``);
  }
  if (errorsByCode.other !== undefined) notes.push('`other` errors are keys without a counter of their own; k6 tags them with `key` (visible with --out json only)');

  const rate = numberOf(httpReqs, 'rate');
  const durationMs = started > 0 && rate !== undefined && rate > 0 ? Math.round((started / rate) * 1000) : 0;
  const thresholdsCrossed: string[] = [];
  for (const [name, metric] of Object.entries(summary.metrics)) {
    const thresholds = metric.thresholds;
    if (typeof thresholds !== 'object' || thresholds === null) continue;
    for (const [expression, crossed] of Object.entries(thresholds)) if (crossed === true) thresholdsCrossed.push(`${name}: ${expression}`);
  }
  notes.push('perSecond is empty: the k6 summary has no time series');
  notes.push("peakInFlight is k6's active VUs, sampled about once a second: a lower bound");
  const unfinished = Math.max(0, intended - started - dropped);
  if (unfinished > 0) notes.push(`unfinished is derived: ${intended} intended − ${started} sent − ${dropped} dropped (iterations k6 cut at gracefulStop, or a schedule k6 rounded differently)`);
  return {
    driver: 'k6',
    durationMs,
    endedBy: 'done',
    requests: { intended, started, completed, failed, dropped, unfinished },
    latencyMs,
    errorsByCode,
    perSecond: [],
    peakInFlight: numberOf(metricOf(summary, 'vus'), 'max') ?? 0,
    achievedRatio: intended > 0 ? started / intended : 1,
    capHit: dropped > 0,
    notes,
    k6: { exitCode: undefined, thresholdsCrossed },
  };
}

export interface K6RunOptions extends HttpLoadOptions {
  /** VUs k6 starts with; it adds more up to `maxInFlight` when needed. @default a tenth of the peak rate per second, 10 at least */
  preAllocatedVUs?: number;
  thresholds?: K6Thresholds;
  /** @default 'k6' (found on PATH) */
  k6Path?: string;
  /** k6 is stopped (and this throws) past the stages, the drain time and this margin for start-up and summary. @default 60_000 */
  overrunMs?: number;
}

/** k6's exit code when thresholds were crossed: a result the judge reads, not a harness failure. */
const K6_THRESHOLDS_FAILED = 99;

/**
 * Runs the burst with k6: copies k6-burst.js and writes its parameters to a temp dir, runs `k6 run
 * --summary-export`, and reads the summary. The run's signal stops k6 (SIGTERM: k6 ends the test and still writes its summary).
 * k6 is told to send nothing but the test's requests: no usage report, no REST API.
 */
export async function runK6(options: K6RunOptions): Promise<HttpLoadResult> {
  const schedule = intendedStartTimes(options.stages, options.startPerSecond ?? 0);
  const maxVUs = options.maxInFlight ?? HTTP_MAX_IN_FLIGHT;
  const peakPerSecond = Math.max(options.startPerSecond ?? 0, ...options.stages.map((s) => s.targetPerSecond));
  const drainMs = options.drainMs ?? 10_000;
  const params = k6BurstParams({
    baseUrl: options.baseUrl,
    paths: options.paths,
    stages: options.stages,
    startPerSecond: options.startPerSecond ?? 0,
    preAllocatedVUs: options.preAllocatedVUs ?? Math.min(maxVUs, Math.max(10, Math.ceil(peakPerSecond / 10))),
    maxVUs,
    thresholds: options.thresholds ?? {},
    gracefulStopMs: drainMs,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  });
  const dir = await mkdtemp(join(tmpdir(), 'oomlab-k6-'));
  // Kept when k6 failed, so its script can be run by hand.
  let keepDir = false;
  try {
    // The script is copied beside its parameters: a kept directory is then the whole run.
    const scriptPath = join(dir, 'burst.js');
    const paramsPath = join(dir, 'params.json');
    const summaryPath = join(dir, 'summary.json');
    await copyFile(K6_BURST_SCRIPT, scriptPath);
    await writeFile(paramsPath, `${JSON.stringify(params, null, 2)}\n`);
    const byHand = `k6 run --env ${K6_PARAMS_ENV}=${paramsPath} ${scriptPath}`;
    const startedAt = performance.now();
    const timeoutMs = totalDurationMs(options.stages) + drainMs + (options.overrunMs ?? 60_000);
    const k6 = await execa(options.k6Path ?? 'k6', ['run', '--quiet', '--no-usage-report', '--address', '', '--summary-export', summaryPath, '--env', `${K6_PARAMS_ENV}=${paramsPath}`, scriptPath], {
      cancelSignal: options.signal,
      timeout: timeoutMs,
      reject: false,
      env: { K6_NO_USAGE_REPORT: 'true' },
      cwd: dir,
    });
    const wallMs = Math.round(performance.now() - startedAt);
    const text = await readFile(summaryPath, 'utf8').catch(() => undefined);
    const cancelled = k6.isCanceled || options.signal.aborted;
    const finishedItself = k6.exitCode === 0 || k6.exitCode === K6_THRESHOLDS_FAILED;
    if (!cancelled && (!finishedItself || text === undefined)) {
      keepDir = true;
      const why = k6.timedOut ? `did not end within ${timeoutMs}ms` : `exited with ${k6.exitCode ?? k6.signal}`;
      throw new Error(`k6 ${why} and left ${text === undefined ? 'no' : 'a'} summary; its last output:\n${k6.stderr.slice(-2_000)}\nRun the script by hand: ${byHand}`, {
        cause: k6,
      });
    }
    const result =
      text === undefined
        ? { ...parseK6Summary({ metrics: {} }, schedule.length), notes: ['k6 was stopped before it wrote a summary: nothing it measured is known'] }
        : parseK6Summary(JSON.parse(text), schedule.length);
    if (cancelled) {
      result.endedBy = 'cancel';
      // Arrivals never reached are not unfinished requests; those k6 cut are not in its summary.
      result.requests.unfinished = 0;
      result.notes.push('k6 was stopped: requests in flight at that moment are not in its summary');
    }
    if (result.durationMs === 0) result.durationMs = wallMs;
    result.k6 = { exitCode: k6.exitCode, thresholdsCrossed: result.k6?.thresholdsCrossed ?? [] };
    return result;
  } finally {
    if (!keepDir) await rm(dir, { recursive: true, force: true });
  }
}
