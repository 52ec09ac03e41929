// The app tier's HTTP face: GET endpoints that each run one query of the feed mix on the replica the
// balancer picks, `/health`, and the headers that name the replica and the database error behind a 503.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppTierStats } from './replicas.ts';
import type { MixedQuery } from '../feed.ts';

/** The feed mix query each endpoint runs; `/mix` picks among all of them by weight. */
export const APP_TIER_ROUTES = { '/feed': 'feed', '/user': 'user-by-id', '/popular': 'trending' } as const;

export const APP_TIER_REPLICA_HEADER = 'x-oomlab-replica';
export const APP_TIER_ERROR_HEADER = 'x-oomlab-error';

/** What a replica answered to one request. */
export interface TierAnswer {
  replica: string;
  /** The error's key when the query failed. */
  error?: string;
  rows: unknown;
  elapsedMs: number;
}

/** What the server asks of the tier behind it. */
export interface TierBackend {
  closing(): boolean;
  stats(): AppTierStats;
  /** The query a path runs, or undefined for a path the tier does not serve. */
  queryFor(path: string): MixedQuery | undefined;
  /** Runs the query on a replica and calls `answer` once; not at all when the tier closed meanwhile. */
  dispatch(query: MixedQuery, answer: (answer: TierAnswer) => void): void;
}

/** The queries of the routes, by path, from the feed mix. */
export function routesOf(mix: readonly MixedQuery[]): Map<string, MixedQuery> {
  const byName = new Map(mix.map((q) => [q.name, q]));
  const routes = new Map<string, MixedQuery>();
  for (const [path, name] of Object.entries(APP_TIER_ROUTES)) {
    const query = byName.get(name);
    if (!query) throw new Error(`the feed mix has no query named ${name} (it has ${[...byName.keys()].join(', ')})`);
    routes.set(path, query);
  }
  return routes;
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.destroyed || response.writableEnded) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function createTierServer(backend: TierBackend): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    } catch {
      return send(response, 400, { error: `cannot parse the request target ${JSON.stringify(request.url)}` });
    }
    if (request.method !== 'GET') return send(response, 405, { error: `method ${request.method} not allowed; use GET` }, { allow: 'GET' });
    if (path === '/health') return send(response, 200, { ok: !backend.closing(), stats: backend.stats() });
    const query = backend.queryFor(path);
    if (!query) return send(response, 404, { error: `no endpoint ${path}; try /feed, /user, /popular, /mix or /health` });
    if (backend.closing()) return send(response, 503, { error: 'the app tier is closing' }, { [APP_TIER_ERROR_HEADER]: 'APP_TIER_CLOSED' });
    backend.dispatch(query, ({ replica, error, rows, elapsedMs }) => {
      const headers = { [APP_TIER_REPLICA_HEADER]: replica };
      if (error !== undefined) {
        send(response, 503, { replica, query: query.name, error }, { ...headers, [APP_TIER_ERROR_HEADER]: error });
      } else {
        send(response, 200, { replica, query: query.name, rows: Array.isArray(rows) ? rows.length : 0, ms: Math.round(elapsedMs * 10) / 10 }, headers);
      }
    });
  });
}

/** Listens on 127.0.0.1 at an ephemeral port and returns it: the tier is for the harness's own load drivers. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
