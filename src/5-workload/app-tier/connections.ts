// The app tier's connections to its replicas: a mysql2 pool per replica or one connection per request,
// every socket opened here (so open connections are counted exactly), a deadline on every request, and a
// close that cuts them all.
import { once } from 'node:events';
import { connect as connectSocket, type Socket } from 'node:net';
import { createConnection, createPool, type Connection, type PoolConnection, type QueryError } from 'mysql2';
import type { ReplicaRuntime } from './replicas.ts';
import type { MixedQuery } from '../feed.ts';

export type ConnectionMode = 'pool' | 'new-connection';

export type QueryDone = (error: unknown, rows?: unknown) => void;

export interface ConnectionSettings {
  mode: ConnectionMode;
  /** Connections per replica's pool at most (`pool` mode). */
  poolSize: number;
  /** Requests waiting for a pooled connection at most, per replica; 0 means no limit. */
  queueLimit: number;
  /** A pooled connection idle this long is closed. */
  idleTimeoutMs: number;
  /** A request with no answer within this time fails with `timeout`. */
  queryTimeoutMs: number;
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class ReplicaConnections {
  // Every request still waiting on a replica, so close() can answer them at once instead of waiting for their deadlines.
  readonly #pending = new Set<() => void>();
  // mysql2 hands the socket factory the connection's own config object: that is how a connection finds its socket.
  readonly #socketOfConfig = new WeakMap<object, Socket>();
  readonly #reaper: NodeJS.Timeout;
  readonly #replicas: readonly ReplicaRuntime[];
  readonly #settings: ConnectionSettings;

  constructor(replicas: readonly ReplicaRuntime[], settings: ConnectionSettings) {
    this.#replicas = replicas;
    this.#settings = settings;
    if (settings.mode === 'pool') for (const replica of replicas) replica.pool = this.#poolFor(replica);
    this.#reaper = setInterval(() => this.#closeIdle(), Math.min(1_000, settings.idleTimeoutMs));
    this.#reaper.unref();
  }

  /** Runs `query` on the replica, through its pool or on a connection of its own, and calls `done` once. */
  query(replica: ReplicaRuntime, query: MixedQuery, params: unknown[], done: QueryDone): void {
    if (this.#settings.mode === 'pool') this.#queryPooled(replica, query, params, done);
    else this.#queryOwnConnection(replica, query, params, done);
  }

  /** Stops the reaper and ends the pools: what a tier that failed to start undoes. */
  release(): void {
    clearInterval(this.#reaper);
    for (const replica of this.#replicas) replica.pool?.end(() => {});
  }

  /** Cuts every request still waiting on a replica and destroys every socket; resolves once they have all closed. */
  async close(): Promise<void> {
    clearInterval(this.#reaper);
    for (const cut of [...this.#pending]) cut();
    const closed: Promise<unknown>[] = [];
    for (const replica of this.#replicas) {
      replica.pool?.end(() => {});
      replica.idleSince.clear();
      for (const socket of replica.sockets) {
        closed.push(once(socket, 'close').catch(() => {}));
        socket.destroy();
      }
    }
    // A destroyed socket closes on the next turn of the loop: wait for it, so stats() after close() reads 0.
    await Promise.all(closed);
  }

  #connectionOptions(replica: ReplicaRuntime) {
    return {
      host: replica.endpoint.host,
      port: replica.endpoint.port,
      user: replica.endpoint.user,
      password: replica.endpoint.password,
      ...(replica.endpoint.database !== undefined ? { database: replica.endpoint.database } : {}),
      connectTimeout: this.#settings.queryTimeoutMs,
      // mysql2 preallocates a 16000-entry prepared-statement cache per connection; the tier runs `query` only.
      maxPreparedStatements: 4,
      // Every socket is opened here, so open connections are counted exactly and close() can destroy them all.
      stream: ({ config }: { config: object }) => {
        const socket = connectSocket(replica.endpoint.port, replica.endpoint.host);
        socket.setNoDelay(true);
        replica.sockets.add(socket);
        replica.counts.connectionsOpened++;
        socket.once('close', () => replica.sockets.delete(socket));
        this.#socketOfConfig.set(config, socket);
        return socket;
      },
    };
  }

  #poolFor(replica: ReplicaRuntime) {
    const pool = createPool({
      ...this.#connectionOptions(replica),
      connectionLimit: this.#settings.poolSize,
      // maxIdle = connectionLimit turns mysql2's own reaper off; ours closes by idle time alone.
      maxIdle: this.#settings.poolSize,
      queueLimit: this.#settings.queueLimit,
      gracefulEnd: true,
    });
    pool.on('connection', (connection) => connection.on('error', () => {}));
    pool.on('release', (connection) => replica.idleSince.set(connection, Date.now()));
    pool.on('acquire', (connection) => replica.idleSince.delete(connection));
    return pool;
  }

  #closeIdle(): void {
    const now = Date.now();
    for (const replica of this.#replicas) {
      for (const [connection, since] of replica.idleSince) {
        if (now - since < this.#settings.idleTimeoutMs) continue;
        replica.idleSince.delete(connection);
        // gracefulEnd: takes it out of the pool and sends COM_QUIT, as a pool closing an idle connection does.
        connection.end(() => {});
      }
    }
  }

  /** Gives up on a connection: no COM_QUIT is possible mid-query, and a stalled server must not keep the socket. */
  #drop(connection: Connection): void {
    connection.destroy();
    this.#socketOfConfig.get(connection.config)?.destroy();
  }

  #withDeadline(done: QueryDone, onTimeout: () => void): { finish: QueryDone; finished: () => boolean } {
    let finished = false;
    const finish: QueryDone = (error, rows) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.#pending.delete(cut);
      done(error, rows);
    };
    const cut = () => finish(withCode('the app tier is closing', 'APP_TIER_CLOSED'));
    const timer = setTimeout(() => {
      finish(withCode(`no answer within ${this.#settings.queryTimeoutMs}ms`, 'ETIMEDOUT'));
      onTimeout();
    }, this.#settings.queryTimeoutMs);
    this.#pending.add(cut);
    return { finish, finished: () => finished };
  }

  #queryPooled(replica: ReplicaRuntime, query: MixedQuery, params: unknown[], done: QueryDone): void {
    const startedAt = performance.now();
    let inUse: PoolConnection | undefined;
    const { finish, finished } = this.#withDeadline(done, () => {
      if (inUse) this.#drop(inUse);
    });
    replica.pool!.getConnection((error, connection) => {
      if (error) {
        // mysql2 raises this one without a code.
        return finish(error.message === 'Queue limit reached.' ? withCode(`more than ${this.#settings.queueLimit} requests waiting for a connection to ${replica.name}`, 'POOL_QUEUE_FULL') : error);
      }
      if (finished()) return connection.release();
      inUse = connection;
      const remainingMs = Math.max(1, this.#settings.queryTimeoutMs - (performance.now() - startedAt));
      connection.query({ sql: query.sql, timeout: remainingMs }, params, (queryError: QueryError | null, rows: unknown) => {
        inUse = undefined;
        // A timed-out query is still running on the server: that connection cannot serve the next request.
        if (queryError && (queryError.fatal || queryError.code === 'PROTOCOL_SEQUENCE_TIMEOUT')) this.#drop(connection);
        else connection.release();
        finish(queryError, rows);
      });
    });
  }

  #queryOwnConnection(replica: ReplicaRuntime, query: MixedQuery, params: unknown[], done: QueryDone): void {
    const connection = createConnection(this.#connectionOptions(replica));
    connection.on('error', () => {});
    const { finish } = this.#withDeadline(done, () => this.#drop(connection));
    // Queued behind the handshake; a failed connect fails the query with the connect error.
    connection.query({ sql: query.sql, timeout: this.#settings.queryTimeoutMs }, params, (error: QueryError | null, rows: unknown) => {
      if (error) {
        this.#drop(connection);
        return finish(error);
      }
      // COM_QUIT, as a well-behaved client closes: the socket closes when the server has let go.
      connection.end(() => {});
      finish(null, rows);
    });
  }
}
