import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/0-model/poll.ts';
import { K6_BURST_SCRIPT, K6_PARAMS_ENV, k6Available, k6BurstParams, k6ErrorMetric, parseK6Summary, runK6, type K6BurstParams, type K6ScriptOptions } from '../../src/5-workload/http/k6.ts';

const k6OnPath = await k6Available();
/** The real script k6 runs, as it is on disk. */
const SCRIPT = await readFile(K6_BURST_SCRIPT, 'utf8');

const SCRIPT_OPTIONS: K6ScriptOptions = {
  baseUrl: 'http://127.0.0.1:8080',
  paths: [
    { path: '/feed', weight: 6 },
    { path: '/user', weight: 3 },
    { path: '/popular', weight: 1 },
  ],
  startPerSecond: 20,
  stages: [
    { targetPerSecond: 400, durationMs: 30_000 },
    { targetPerSecond: 400, durationMs: 1_500 },
    { targetPerSecond: 0, durationMs: 250 },
  ],
  preAllocatedVUs: 50,
  maxVUs: 2_000,
  thresholds: { p99LatencyMs: 500, maxErrorRate: 0.05 },
};

interface FakeResponse {
  status: number;
  headers: Record<string, string>;
  error_code?: number;
}

/**
 * Runs the real script as k6 would, with its modules and globals stubbed: k6 cannot be installed here, so a
 * fake `k6/http` records the request and answers `answer`, a fake `k6/metrics` Counter records what is
 * added and throws when constructed outside the init context (as k6 does), and `open` (init context only
 * too) serves the parameter file named by `__ENV`.
 */
function loadInFakeK6(params: K6BurstParams, env: Record<string, string> = { [K6_PARAMS_ENV]: '/tmp/run/params.json' }) {
  const script = SCRIPT;
  const opened: string[] = [];
  const requests: { url: string; params: Record<string, unknown> }[] = [];
  const added: { metric: string; value: number; tags?: Record<string, string> }[] = [];
  let answer: FakeResponse = { status: 200, headers: {} };
  let initContext = true;
  class Counter {
    constructor(readonly name: string) {
      if (!initContext) throw new Error('Metrics can only be declared in the init context');
    }
    add(value: number, tags?: Record<string, string>) {
      added.push({ metric: this.name, value, ...(tags ? { tags } : {}) });
    }
  }
  const modules: Record<string, unknown> = {
    'k6/http': { default: { get: (url: string, params: Record<string, unknown>) => (requests.push({ url, params }), answer) } },
    'k6/metrics': { Counter },
  };
  // The module syntax k6 reads, turned into a script vm can run; `node --check` tests the module itself.
  const body = script
    .replace(/^import (\w+) from '([^']+)';$/gm, (_, name: string, from: string) => `const ${name} = __import(${JSON.stringify(from)}).default;`)
    .replace(/^import \{ ([\w, ]+) \} from '([^']+)';$/gm, (_, names: string, from: string) => `const { ${names} } = __import(${JSON.stringify(from)});`)
    .replace(/^export const options = /m, '__exports.options = ')
    .replace(/^export default function \(\) \{/m, '__exports.default = function () {');
  expect(body).not.toMatch(/^\s*(import|export)\b/m);
  const exports: { options?: unknown; default?: () => void } = {};
  const imported: string[] = [];
  const open = (path: string) => {
    if (!initContext) throw new Error('open() is only available in the init context');
    opened.push(path);
    if (path !== env[K6_PARAMS_ENV]) throw new Error(`no such file: ${path}`);
    return JSON.stringify(params);
  };
  vm.runInNewContext(body, { __exports: exports, __import: (from: string) => (imported.push(from), modules[from] ?? {}), __ENV: env, open }, { filename: 'burst.js' });
  initContext = false;
  return {
    exports,
    imported,
    opened,
    requests,
    added,
    iterate(response: FakeResponse) {
      answer = response;
      added.length = 0;
      exports.default!();
      return added.slice();
    },
  };
}

describe('k6-burst.js with k6BurstParams', () => {
  it('is a valid ES module (node --check parses it, as k6 would)', async () => {
    const check = await execa(process.execPath, ['--check', K6_BURST_SCRIPT], { reject: false });
    expect(check.stderr).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('reads its parameters from the file OOMLAB_BURST_PARAMS names, once, in the init context', () => {
    const k6 = loadInFakeK6(k6BurstParams(SCRIPT_OPTIONS));
    expect(k6.opened).toEqual(['/tmp/run/params.json']);
    expect(() => loadInFakeK6(k6BurstParams(SCRIPT_OPTIONS), {})).toThrow(
      'OOMLAB_BURST_PARAMS is not set: run `k6 run --env OOMLAB_BURST_PARAMS=params.json burst.js` with the params.json oomlab wrote beside it',
    );
  });

  it('declares a ramping-arrival-rate scenario over the same stages, with thresholds from the expectations', () => {
    const k6 = loadInFakeK6(k6BurstParams(SCRIPT_OPTIONS));
    expect(k6.imported).toEqual(['k6/http', 'k6/metrics']);
    expect(k6.exports.options).toEqual({
      scenarios: {
        burst: {
          executor: 'ramping-arrival-rate',
          startRate: 20,
          timeUnit: '1s',
          preAllocatedVUs: 50,
          maxVUs: 2_000,
          gracefulStop: '10s',
          stages: [
            { target: 400, duration: '30s' },
            { target: 400, duration: '1500ms' },
            { target: 0, duration: '250ms' },
          ],
        },
      },
      thresholds: { http_req_duration: ['p(99)<500'], http_req_failed: ['rate<0.05'] },
      summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(99)', 'p(99.9)'],
    });
  });

  it('writes fractional rates per a longer time unit, and no thresholds when none are expected', () => {
    const k6 = loadInFakeK6(k6BurstParams({ ...SCRIPT_OPTIONS, startPerSecond: 0.5, stages: [{ targetPerSecond: 2.25, durationMs: 4_000 }], thresholds: {} }));
    expect(k6.exports.options).toMatchObject({
      scenarios: { burst: { startRate: 50, timeUnit: '100s', stages: [{ target: 225, duration: '4s' }] } },
      thresholds: {},
    });
  });

  it('sends one weighted GET per iteration and counts errors by the x-oomlab-error header into counters declared at init', () => {
    const k6 = loadInFakeK6(k6BurstParams(SCRIPT_OPTIONS));
    expect(k6.iterate({ status: 200, headers: {} })).toEqual([]);
    expect(k6.requests).toHaveLength(1);
    expect(k6.requests[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/(feed|user|popular)$/);
    expect(k6.requests[0]!.params).toEqual({ timeout: '30000ms', responseType: 'none', tags: { name: k6.requests[0]!.url.slice('http://127.0.0.1:8080'.length) } });

    // k6 hands headers over with Go's canonical names.
    expect(k6.iterate({ status: 503, headers: { 'X-Oomlab-Error': '1040 ER_CON_COUNT_ERROR' } })).toEqual([{ metric: 'errors_1040_er_con_count_error', value: 1 }]);
    expect(k6.iterate({ status: 503, headers: { 'X-Oomlab-Error': '2013 CR_SERVER_LOST' } })).toEqual([{ metric: 'errors_2013_cr_server_lost', value: 1 }]);
    expect(k6.iterate({ status: 502, headers: {} })).toEqual([{ metric: 'errors_http_502', value: 1 }]);
    expect(k6.iterate({ status: 0, headers: {}, error_code: 1212 })).toEqual([{ metric: 'errors_econnrefused', value: 1 }]);
    expect(k6.iterate({ status: 0, headers: {}, error_code: 1050 })).toEqual([{ metric: 'errors_timeout', value: 1 }]);
    expect(k6.iterate({ status: 503, headers: { 'X-Oomlab-Error': '1153 ER_NET_PACKET_TOO_LARGE' } })).toEqual([{ metric: 'errors_other', value: 1, tags: { key: '1153 ER_NET_PACKET_TOO_LARGE' } }]);
    expect(k6.iterate({ status: 0, headers: {}, error_code: 1000 })).toEqual([{ metric: 'errors_other', value: 1, tags: { key: 'k6 error 1000' } }]);
  });

  it('picks paths by weight', () => {
    const k6 = loadInFakeK6(k6BurstParams(SCRIPT_OPTIONS));
    for (let i = 0; i < 2_000; i++) k6.iterate({ status: 200, headers: {} });
    const feed = k6.requests.filter((r) => r.url.endsWith('/feed')).length / k6.requests.length;
    expect(feed).toBeGreaterThan(0.5);
    expect(feed).toBeLessThan(0.7);
  });

  it('refuses a target off loopback and VU counts that k6 would reject', () => {
    expect(() => k6BurstParams({ ...SCRIPT_OPTIONS, baseUrl: 'http://192.168.1.20' })).toThrow(
      "the HTTP load driver only sends traffic to this host's loopback over http: got baseUrl `http://192.168.1.20` — point it at the app tier on http://127.0.0.1:<port>",
    );
    expect(() => k6BurstParams({ ...SCRIPT_OPTIONS, preAllocatedVUs: 3_000 })).toThrow("the k6 script's preAllocatedVUs (3000) exceeds maxVUs (2000) — raise maxVUs or lower preAllocatedVUs");
    expect(() => k6BurstParams({ ...SCRIPT_OPTIONS, thresholds: { maxErrorRate: 5 } })).toThrow("the k6 script's `thresholds.maxErrorRate` is a fraction between 0 and 1, got `5`");
  });
});

describe('parseK6Summary', () => {
  it('maps every figure of a real k6 v0.48 --summary-export, saying which it had to approximate', async () => {
    const fixture = JSON.parse(await readFile(new URL('../fixtures/k6-v0.48-summary-export.json', import.meta.url), 'utf8'));
    expect(parseK6Summary(fixture, 75)).toEqual({
      driver: 'k6',
      // 75 requests at 14.991117430119846/s.
      durationMs: 5_003,
      endedBy: 'done',
      // http_req_failed is a Rate of failures: 0 passes (failed), 75 fails (succeeded).
      requests: { intended: 75, started: 75, completed: 75, failed: 0, dropped: 0, unfinished: 0 },
      // iteration_duration; this run's summaryTrendStats had no p(99) nor p(99.9): max stands in, an upper bound.
      latencyMs: { count: 75, p50: 1.841, p90: 2.197, p99: 3.098, p999: 3.098, max: 3.098 },
      errorsByCode: {},
      perSecond: [],
      peakInFlight: 0,
      achievedRatio: 1,
      capHit: false,
      notes: [
        'latency p(99) is not in the summary (k6 summaryTrendStats); reported max, an upper bound',
        'latency p(99.9) is not in the summary (k6 summaryTrendStats); reported max, an upper bound',
        'perSecond is empty: the k6 summary has no time series',
        "peakInFlight is k6's active VUs, sampled about once a second: a lower bound",
      ],
      // `"rate<0.01": false` means the threshold held (the export's boolean is true when crossed).
      k6: { exitCode: undefined, thresholdsCrossed: [] },
    });
  });

  it('reads error counters, drops, crossed thresholds and the percentiles oomlab asks for', () => {
    const summary = {
      metrics: {
        http_reqs: { count: 900, rate: 100 },
        iterations: { count: 900, rate: 100 },
        dropped_iterations: { count: 80, rate: 8.9 },
        vus: { min: 1, max: 37, value: 0 },
        http_req_failed: { passes: 120, fails: 780, value: 0.1333, thresholds: { 'rate<0.05': true } },
        iteration_duration: { avg: 40, min: 2, med: 12.3456, max: 950, 'p(90)': 80, 'p(99)': 400.5, 'p(99.9)': 900 },
        http_req_duration: { avg: 39, min: 1, med: 12, max: 949, 'p(90)': 79, 'p(99)': 400, 'p(99.9)': 899, thresholds: { 'p(99)<500': false } },
        [k6ErrorMetric('1040 ER_CON_COUNT_ERROR')]: { count: 100, rate: 11.1 },
        errors_timeout: { count: 15, rate: 1.6 },
        errors_other: { count: 5, rate: 0.5 },
      },
    };
    const result = parseK6Summary(summary, 1_000);
    expect(result.requests).toEqual({ intended: 1_000, started: 900, completed: 780, failed: 120, dropped: 80, unfinished: 20 });
    expect(result.latencyMs).toEqual({ count: 900, p50: 12.346, p90: 80, p99: 400.5, p999: 900, max: 950 });
    expect(result.errorsByCode).toEqual({ '1040 ER_CON_COUNT_ERROR': 100, timeout: 15, other: 5 });
    expect(result.durationMs).toBe(9_000);
    expect(result.peakInFlight).toBe(37);
    expect(result.capHit).toBe(true);
    expect(result.achievedRatio).toBe(0.9);
    expect(result.k6).toEqual({ exitCode: undefined, thresholdsCrossed: ['http_req_failed: rate<0.05'] });
    expect(result.notes).toContain('unfinished is derived: 1000 intended − 900 sent − 80 dropped (iterations k6 cut at gracefulStop, or a schedule k6 rounded differently)');
  });

  it('refuses what is not a summary export', () => {
    expect(() => parseK6Summary({ root_group: {} }, 10)).toThrow('not a k6 --summary-export document: expected an object with `metrics`, got {"root_group":{}}');
  });
});

/**
 * A stand-in for the k6 binary (k6 cannot be installed here): a node script that records its command line,
 * environment, script and the parameter file its --env names, writes `summary` where --summary-export says,
 * and exits `exitCode`; with `hang`, it runs until SIGTERM and then writes the summary, as k6 does when it is interrupted.
 */
async function fakeK6(dir: string, behaviour: { summary?: unknown; exitCode: number; stderr?: string; hang?: boolean }): Promise<string> {
  const path = join(dir, 'k6');
  await writeFile(
    path,
    `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
const finish = () => {
  ${behaviour.summary === undefined ? '' : `fs.writeFileSync(args[args.indexOf('--summary-export') + 1], ${JSON.stringify(JSON.stringify(behaviour.summary))});`}
  process.stderr.write(${JSON.stringify(behaviour.stderr ?? '')});
  process.exit(${behaviour.exitCode});
};
${behaviour.hang ? "process.on('SIGTERM', finish); setInterval(() => {}, 1_000);" : ''}
// Written last: once it exists, the fake is ready for SIGTERM.
const paramsPath = args[args.indexOf('--env') + 1].split('=').slice(1).join('=');
fs.writeFileSync(${JSON.stringify(join(dir, 'call.json'))}, JSON.stringify({ args, script: fs.readFileSync(args.at(-1), 'utf8'), params: fs.readFileSync(paramsPath, 'utf8'), noUsageReport: process.env.K6_NO_USAGE_REPORT }));
${behaviour.hang ? '' : 'finish();'}
`,
    { mode: 0o755 },
  );
  return path;
}

const SUMMARY_CROSSED = {
  metrics: {
    http_reqs: { count: 100, rate: 50 },
    iterations: { count: 100, rate: 50 },
    http_req_failed: { passes: 50, fails: 50, value: 0.5, thresholds: { 'rate<0.01': true } },
    iteration_duration: { avg: 2, min: 1, med: 2, max: 9, 'p(90)': 3, 'p(99)': 8, 'p(99.9)': 9 },
    errors_1040_er_con_count_error: { count: 50, rate: 25 },
  },
};

describe('runK6 (against a fake k6 binary)', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const options = {
    baseUrl: 'http://127.0.0.1:9',
    paths: [{ path: '/feed', weight: 1 }],
    startPerSecond: 50,
    stages: [{ targetPerSecond: 50, durationMs: 2_000 }],
    maxInFlight: 200,
    thresholds: { maxErrorRate: 0.01 },
  };

  it('runs the real script with its parameter file, a summary export and nothing phoning home, and takes exit 99 as a result', async () => {
    dir = await mkdtemp(join(tmpdir(), 'oomlab-fake-k6-'));
    const k6Path = await fakeK6(dir, { summary: SUMMARY_CROSSED, exitCode: 99 });
    const result = await runK6({ ...options, k6Path, signal: new AbortController().signal });

    const call = JSON.parse(await readFile(join(dir, 'call.json'), 'utf8')) as { args: string[]; script: string; params: string; noUsageReport: string };
    const summaryPath = call.args[call.args.indexOf('--summary-export') + 1]!;
    const scriptPath = call.args.at(-1)!;
    const paramsPath = join(scriptPath, '..', 'params.json');
    expect(call.args).toEqual(['run', '--quiet', '--no-usage-report', '--address', '', '--summary-export', summaryPath, '--env', `OOMLAB_BURST_PARAMS=${paramsPath}`, scriptPath]);
    expect(call.noUsageReport).toBe('true');
    expect(call.script).toBe(SCRIPT);
    expect(JSON.parse(call.params)).toEqual(k6BurstParams({ ...options, preAllocatedVUs: 10, maxVUs: 200, gracefulStopMs: 10_000, requestTimeoutMs: 30_000 }));
    // The temp dir is gone once the summary is read.
    await expect(readFile(summaryPath)).rejects.toMatchObject({ code: 'ENOENT' });

    expect(result.endedBy).toBe('done');
    expect(result.requests).toEqual({ intended: 100, started: 100, completed: 50, failed: 50, dropped: 0, unfinished: 0 });
    expect(result.errorsByCode).toEqual({ '1040 ER_CON_COUNT_ERROR': 50 });
    expect(result.durationMs).toBe(2_000);
    expect(result.k6).toEqual({ exitCode: 99, thresholdsCrossed: ['http_req_failed: rate<0.01'] });
  });

  it('reports a k6 that failed as a harness error, keeping its script to run by hand', async () => {
    dir = await mkdtemp(join(tmpdir(), 'oomlab-fake-k6-'));
    const k6Path = await fakeK6(dir, { exitCode: 107, stderr: 'SyntaxError: burst.js: Unexpected token (3:4)' });
    const error = await runK6({ ...options, k6Path, signal: new AbortController().signal }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const call = JSON.parse(await readFile(join(dir, 'call.json'), 'utf8')) as { args: string[] };
    const scriptPath = call.args.at(-1)!;
    const paramsPath = join(scriptPath, '..', 'params.json');
    expect(error?.message).toBe(
      `k6 exited with 107 and left no summary; its last output:\nSyntaxError: burst.js: Unexpected token (3:4)\nRun the script by hand: k6 run --env OOMLAB_BURST_PARAMS=${paramsPath} ${scriptPath}`,
    );
    expect(await readFile(scriptPath, 'utf8')).toBe(SCRIPT);
    expect(await readFile(paramsPath, 'utf8')).toContain('"executor": "ramping-arrival-rate"');
    await rm(join(scriptPath, '..'), { recursive: true, force: true });
  });

  it('stops k6 on the signal and still reads the summary it writes when interrupted', async () => {
    dir = await mkdtemp(join(tmpdir(), 'oomlab-fake-k6-'));
    const k6Path = await fakeK6(dir, { summary: SUMMARY_CROSSED, exitCode: 105, hang: true });
    const controller = new AbortController();
    const run = runK6({ ...options, k6Path, signal: controller.signal });
    // Abort once the fake is running (a loaded host may take a while to start node).
    await poll(
      () =>
        readFile(join(dir, 'call.json')).then(
          () => true,
          () => false,
        ),
      { intervalMs: 20 },
    );
    controller.abort();
    const result = await run;

    expect(result.endedBy).toBe('cancel');
    expect(result.requests).toEqual({ intended: 100, started: 100, completed: 50, failed: 50, dropped: 0, unfinished: 0 });
    expect(result.k6?.exitCode).toBe(105);
    expect(result.notes).toContain('k6 was stopped: requests in flight at that moment are not in its summary');
  });
});

describe('runK6', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it.skipIf(!k6OnPath)(`runs the real k6 binary against a local server${k6OnPath ? '' : ' (skipped: k6 is not on PATH)'}`, async () => {
    server = createServer((req, res) => {
      if (req.url === '/user') res.writeHead(503, { 'x-oomlab-error': '1040 ER_CON_COUNT_ERROR' }).end();
      else res.end('ok');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runK6({
      baseUrl,
      paths: [
        { path: '/feed', weight: 1 },
        { path: '/user', weight: 1 },
      ],
      startPerSecond: 50,
      stages: [{ targetPerSecond: 50, durationMs: 2_000 }],
      thresholds: { maxErrorRate: 0.01 },
      signal: new AbortController().signal,
    });
    expect(result.driver).toBe('k6');
    expect(result.endedBy).toBe('done');
    expect(result.requests.started).toBeGreaterThan(90);
    expect(result.requests.failed).toBe(result.errorsByCode['1040 ER_CON_COUNT_ERROR']);
    expect(result.requests.failed + result.requests.completed).toBe(result.requests.started);
    // Half the requests fail: the threshold is crossed, k6 exits 99, and that is a result.
    expect(result.k6).toEqual({ exitCode: 99, thresholdsCrossed: ['http_req_failed: rate<0.01'] });
    expect(result.latencyMs.count).toBe(result.requests.started);
  });
});
