import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runHttpStandIn, type HttpLoadOptions, type HttpLoadSecond } from '../../src/5-workload/http/stand-in.ts';

const servers: Server[] = [];

/** A local app-tier double on 127.0.0.1:<random port>. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ baseUrl: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** 0.1, 0.5, 0.9, 0.1, ...: with three equal weights, the paths in turn. */
function inTurn(): () => number {
  let i = 0;
  return () => [0.1, 0.5, 0.9][i++ % 3]!;
}

const constant = (perSecond: number, durationMs: number): Pick<HttpLoadOptions, 'stages' | 'startPerSecond'> => ({
  startPerSecond: perSecond,
  stages: [{ targetPerSecond: perSecond, durationMs }],
});

describe('runHttpStandIn', () => {
  it('holds the intended rate against a fast server, measuring latency from the intended start', async () => {
    const { baseUrl, seen } = await serve((_req, res) => res.end('ok'));
    const seconds: HttpLoadSecond[] = [];
    const result = await runHttpStandIn({ baseUrl, paths: [{ path: '/feed', weight: 1 }], ...constant(200, 3_000), signal: new AbortController().signal, onSecond: (s) => seconds.push({ ...s }) });

    expect(result.driver).toBe('http-stand-in');
    expect(result.endedBy).toBe('done');
    expect(result.requests).toEqual({ intended: 600, started: 600, completed: 600, failed: 0, dropped: 0, unfinished: 0 });
    expect(seen).toHaveLength(600);
    expect(result.achievedRatio).toBeCloseTo(1, 1);
    // Every arrival the schedule placed was sent, none dropped; how evenly per second depends on the
    // host's load (an event-loop stall moves arrivals to the next second), which bench/ measures, not tests.
    expect(result.perSecond.reduce((sum, s) => sum + s.intended, 0)).toBe(600);
    expect(result.perSecond.reduce((sum, s) => sum + s.started, 0)).toBe(600);
    expect(result.latencyMs.count).toBe(600);
    expect(result.latencyMs.p50).toBeGreaterThan(0);
    expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
    expect(result.errorsByCode).toEqual({});
    expect(result.capHit).toBe(false);
    expect(result.notes).toEqual([]);
    // Every second with answers has its percentiles, and onSecond saw the same figures.
    for (const second of result.perSecond.slice(0, 3)) expect(second.latencyP99Ms).toBeGreaterThan(0);
    expect(seconds.slice(0, 3)).toEqual(result.perSecond.slice(0, 3));
  });

  it('counts failed answers by the x-oomlab-error header, else by status', async () => {
    const { baseUrl } = await serve((req, res) => {
      if (req.url === '/feed') res.writeHead(503, { 'x-oomlab-error': '1040 ER_CON_COUNT_ERROR' }).end();
      else if (req.url === '/user') res.writeHead(503).end();
      else res.end('[]');
    });
    const paths = [
      { path: '/feed', weight: 1 },
      { path: '/user', weight: 1 },
      { path: '/popular', weight: 1 },
    ];
    const result = await runHttpStandIn({ baseUrl, paths, ...constant(100, 300), random: inTurn(), signal: new AbortController().signal });

    expect(result.requests).toEqual({ intended: 30, started: 30, completed: 10, failed: 20, dropped: 0, unfinished: 0 });
    expect(result.errorsByCode).toEqual({ '1040 ER_CON_COUNT_ERROR': 10, 'HTTP 503': 10 });
    expect(result.perSecond[0]!.errors).toBe(20);
    // Failed answers are latencies too, as k6 counts them.
    expect(result.latencyMs.count).toBe(30);
  });

  it('keys a refused connection by its code and an unanswered request as timeout', async () => {
    const closed = await serve(() => {});
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const refused = await runHttpStandIn({ baseUrl: closed.baseUrl, paths: [{ path: '/feed', weight: 1 }], ...constant(50, 200), signal: new AbortController().signal });
    expect(refused.errorsByCode).toEqual({ ECONNREFUSED: 10 });
    expect(refused.requests.failed).toBe(10);

    const { baseUrl } = await serve(() => {});
    const stalled = await runHttpStandIn({ baseUrl, paths: [{ path: '/feed', weight: 1 }], ...constant(50, 200), requestTimeoutMs: 300, signal: new AbortController().signal });
    expect(stalled.errorsByCode).toEqual({ timeout: 10 });
    expect(stalled.requests).toMatchObject({ failed: 10, unfinished: 0 });
    expect(stalled.latencyMs.p50).toBeGreaterThanOrEqual(300);
  });

  it('drops arrivals at the in-flight cap when the server stalls, and cuts what is left at the drain deadline', async () => {
    const { baseUrl, seen } = await serve(() => {});
    const result = await runHttpStandIn({ baseUrl, paths: [{ path: '/feed', weight: 1 }], ...constant(100, 500), maxInFlight: 5, drainMs: 200, signal: new AbortController().signal });

    expect(result.requests).toEqual({ intended: 50, started: 5, completed: 0, failed: 0, dropped: 45, unfinished: 5 });
    expect(result.capHit).toBe(true);
    expect(result.peakInFlight).toBe(5);
    expect(result.achievedRatio).toBeCloseTo(0.1, 5);
    expect(result.errorsByCode).toEqual({});
    expect(seen).toHaveLength(5);
  });

  it('stops within a second of the signal, cutting requests in flight', async () => {
    const { baseUrl } = await serve(() => {});
    const controller = new AbortController();
    const run = runHttpStandIn({ baseUrl, paths: [{ path: '/feed', weight: 1 }], ...constant(50, 30_000), drainMs: 30_000, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abortedAt = performance.now();
    controller.abort();
    const result = await run;

    expect(performance.now() - abortedAt).toBeLessThan(1_000);
    expect(result.endedBy).toBe('cancel');
    expect(result.requests.started).toBeGreaterThan(0);
    expect(result.requests.unfinished).toBe(result.requests.started);
    expect(result.requests.intended).toBe(1_500);
  });

  it("refuses a baseUrl off this host's loopback before sending anything", async () => {
    const options = { paths: [{ path: '/feed', weight: 1 }], ...constant(10, 100), signal: new AbortController().signal };
    await expect(runHttpStandIn({ ...options, baseUrl: 'http://10.0.0.7:8080' })).rejects.toThrow(
      "the HTTP load driver only sends traffic to this host's loopback over http: got baseUrl `http://10.0.0.7:8080` — point it at the app tier on http://127.0.0.1:<port>",
    );
    await expect(runHttpStandIn({ ...options, baseUrl: 'https://127.0.0.1:8443' })).rejects.toThrow(/only sends traffic to this host's loopback over http: got baseUrl `https:\/\/127.0.0.1:8443`/);
    await expect(runHttpStandIn({ ...options, baseUrl: 'http://example.com' })).rejects.toMatchObject({ code: 'SCENARIO_INVALID' });
    // A path cannot smuggle another host in as the URL's authority.
    await expect(runHttpStandIn({ ...options, baseUrl: 'http://127.0.0.1:8080', paths: [{ path: '@example.com/', weight: 1 }] })).rejects.toThrow(
      'a load path must start with `/` and hold no spaces or control characters, got `@example.com/`',
    );
  });
});
