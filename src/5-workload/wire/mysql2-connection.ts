import mysql2 from 'mysql2';
import type { StormConnection } from './lean-connection.ts';

/** The callback connection of mysql2, as much of it as the storm drives. */
interface RawConnection {
  once(event: 'connect' | 'error' | 'end', listener: (error?: unknown) => void): void;
  on(event: 'error', listener: (error: unknown) => void): void;
  query(options: { sql: string; timeout: number }, callback: (error: unknown) => void): void;
  end(callback: () => void): void;
  destroy(): void;
}

/**
 * mysql2's pool builds one ConnectionConfig and gives it to every connection it opens; the storm does the
 * same: parsing the options again for each of thousands of sessions was about 5% of a connect's CPU.
 */
const { Connection, ConnectionConfig } = mysql2 as unknown as {
  Connection: new (options: { config: object }) => RawConnection;
  ConnectionConfig: new (options: object) => object;
};

/** One shared config; maxPreparedStatements: mysql2 preallocates an LRU of 16000 entries per connection, which `query` never uses. */
export function mysql2Config(endpoint: object, connectTimeoutMs: number): object {
  return new ConnectionConfig({ ...endpoint, connectTimeout: connectTimeoutMs, maxPreparedStatements: 4 });
}

/** A storm connection through mysql2, for servers whose login the lean path does not speak. */
export class Mysql2Connection implements StormConnection {
  // The connection exists before it connects, so a cut can destroy a pending connect too.
  private readonly raw: RawConnection;
  constructor(config: object) {
    this.raw = new Connection({ config });
  }

  connect(done: (error?: unknown) => void): void {
    let settled = false;
    const once = (error?: unknown) => {
      if (settled) return;
      settled = true;
      this.raw.on('error', () => {});
      done(error);
    };
    this.raw.once('connect', () => once());
    this.raw.once('error', (error) => once(error ?? new Error('connection failed')));
    this.raw.once('end', () => once(Object.assign(new Error('connection closed before it was established'), { code: 'PROTOCOL_CONNECTION_LOST' })));
  }

  query(sql: string, timeoutMs: number, done: (error?: unknown) => void): void {
    this.raw.query({ sql, timeout: timeoutMs }, done);
  }

  /** mysql2 calls back before it writes COM_QUIT, so the caller destroys the socket a tick later. */
  quit(done: () => void): void {
    this.raw.end(done);
  }

  destroy(): void {
    this.raw.destroy();
  }
}
