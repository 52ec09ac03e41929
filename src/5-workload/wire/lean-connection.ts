import { authResponse, cachingSha2RsaPassword, command, COM_QUERY, handshakeResponse, isEof, packet, PacketReader, parseAuthSwitch, parseError, parseHandshake, QUIT_PACKET } from './mysql-wire.ts';
import { openWireSocket, type WireReceiver, type WireSocket, type WireTransport } from './socket.ts';
import type { MysqlEndpoint } from '../../0-model/endpoint.ts';

/** What a storm session does with a connection, whichever client library is under it. */
export interface StormConnection {
  /** Calls back once: without an error when logged in, with one when the connect or the login failed. */
  connect(done: (error?: unknown) => void): void;
  /** Runs one text statement and skips its result; calls back once. */
  query(sql: string, timeoutMs: number, done: (error?: unknown) => void): void;
  /** Sends COM_QUIT and closes; calls back once the packet is handed to the socket. */
  quit(done: () => void): void;
  destroy(): void;
}

/** The server asked for an auth plugin the lean path does not speak: the storm switches to mysql2. */
export const AUTH_PLUGIN_UNSUPPORTED = 'AUTH_PLUGIN_UNSUPPORTED';
const SERVER_MORE_RESULTS_EXISTS = 0x0008;

/** The COM_QUERY packets of a mix's statements, built once (statements with parameters differ each time and are not kept). */
const queryPackets = new Map<string, Buffer>();
function queryPacket(sql: string): Buffer {
  let bytes = queryPackets.get(sql);
  if (!bytes) {
    bytes = command(COM_QUERY, sql);
    if (queryPackets.size < 256) queryPackets.set(sql, bytes);
  }
  return bytes;
}

type State = 'connecting' | 'greeting' | 'auth' | 'rsa-key' | 'ready' | 'result-head' | 'columns' | 'rows' | 'closed';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Skips a length-encoded integer at `at`; returns the offset after it. */
function skipLengthEncoded(payload: Buffer, at: number): number {
  const first = payload[at]!;
  if (first < 0xfb) return at + 1;
  if (first === 0xfc) return at + 3;
  if (first === 0xfd) return at + 4;
  return at + 9;
}

/** The status flags of an OK packet (after affected rows and insert id) or of an EOF packet. */
function statusOf(payload: Buffer): number {
  if (payload[0] === 0xfe) return payload.length >= 5 ? payload.readUInt16LE(3) : 0;
  const at = skipLengthEncoded(payload, skipLengthEncoded(payload, 1));
  return at + 2 <= payload.length ? payload.readUInt16LE(at) : 0;
}

/**
 * Connections waiting on a deadline (a connect, a login, a statement), checked by one timer: a timer per
 * socket, re-armed on every read and write, cost more than the rest of a connect-and-quit session's code.
 */
const watched = new Set<LeanConnection>();
let sweeper: ReturnType<typeof setInterval> | undefined;
const SWEEP_EVERY_MS = 100;

function sweep(): void {
  const now = performance.now();
  for (const connection of watched) if (connection.deadline <= now) connection.timedOut();
  if (watched.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * A MySQL connection over a bare socket for storm sessions: greeting, login (mysql_native_password, or
 * caching_sha2_password with the RSA exchange when the server has no cached login), text statements
 * whose results are skipped unread, and COM_QUIT. mysql2 builds a parser, a command queue and a config
 * per connection; a storm opens thousands a second and reads no rows, so this path does none of that.
 */
export class LeanConnection implements StormConnection, WireReceiver {
  private readonly socket: WireSocket;
  private readonly reader: PacketReader;
  private state: State = 'connecting';
  private scramble: Buffer = Buffer.alloc(0);
  private plugin = '';
  private pending: ((error?: unknown) => void) | undefined;
  private readonly endpoint: MysqlEndpoint;
  /** When the current wait times out (performance.now() ms), while the connection is in `watched`. */
  deadline = 0;

  constructor(endpoint: MysqlEndpoint, connectTimeoutMs: number, transport?: WireTransport) {
    this.endpoint = endpoint;
    this.reader = new PacketReader((payload, sequence) => this.onPacket(payload, sequence));
    this.watch(connectTimeoutMs);
    this.socket = openWireSocket(endpoint.host, endpoint.port, this, transport);
  }

  connect(done: (error?: unknown) => void): void {
    if (this.state === 'closed') done(withCode('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'));
    else this.pending = done;
  }

  query(sql: string, timeoutMs: number, done: (error?: unknown) => void): void {
    if (this.state !== 'ready') {
      done(withCode('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'));
      return;
    }
    this.state = 'result-head';
    this.pending = done;
    this.watch(timeoutMs);
    this.socket.write(queryPacket(sql));
  }

  quit(done: () => void): void {
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.unwatch();
      this.socket.writeAndClose(QUIT_PACKET);
    }
    done();
  }

  destroy(): void {
    this.state = 'closed';
    this.pending = undefined;
    this.unwatch();
    this.socket.close();
  }

  onConnected(): void {
    if (this.state === 'connecting') this.state = 'greeting';
  }

  onBytes(bytes: Buffer): void {
    this.reader.push(bytes);
  }

  /** Every session's socket ends; an Error (and its stack) only when someone is still waiting. */
  onEnded(error?: Error): void {
    if (this.state !== 'closed' || this.pending) this.fail(error ?? withCode('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'));
  }

  /** Called by the sweep once the deadline has passed. */
  timedOut(): void {
    const inStatement = this.state === 'result-head' || this.state === 'columns' || this.state === 'rows';
    this.fail(inStatement ? withCode('Query inactivity timeout', 'PROTOCOL_SEQUENCE_TIMEOUT') : withCode('connect ETIMEDOUT', 'ETIMEDOUT'));
  }

  private watch(timeoutMs: number): void {
    this.deadline = performance.now() + timeoutMs;
    watched.add(this);
    sweeper ??= setInterval(sweep, SWEEP_EVERY_MS).unref();
  }

  private unwatch(): void {
    watched.delete(this);
  }

  /** Settles the pending callback (connect or statement) with `error`, or reports nothing when none waits. */
  private fail(error: unknown): void {
    if (this.state === 'closed' && !this.pending) return;
    this.state = 'closed';
    this.unwatch();
    this.reader.reset();
    this.socket.close();
    this.settle(error);
  }

  private settle(error?: unknown): void {
    const done = this.pending;
    this.pending = undefined;
    done?.(error);
  }

  private send(sequence: number, payload: Buffer): void {
    this.socket.write(packet(sequence, payload));
  }

  private onPacket(payload: Buffer, sequence: number): void {
    switch (this.state) {
      case 'greeting': {
        if (payload[0] === 0xff) {
          this.fail(parseError(payload));
          return;
        }
        const greeting = parseHandshake(payload);
        this.scramble = greeting.scramble;
        this.plugin = greeting.authPlugin;
        // A plugin this path cannot answer gets an empty reply; the server then asks for one it may know.
        const auth = authResponse(this.plugin, this.endpoint.password, this.scramble) ?? Buffer.alloc(0);
        this.state = 'auth';
        this.socket.write(handshakeResponse({ user: this.endpoint.user, ...(this.endpoint.database ? { database: this.endpoint.database } : {}), plugin: this.plugin, auth }));
        return;
      }
      case 'auth':
        this.onAuthPacket(payload, sequence);
        return;
      case 'rsa-key': {
        // 0x01 and the server's public key in PEM.
        const encrypted = cachingSha2RsaPassword(this.endpoint.password, this.scramble, payload.toString('latin1', 1));
        this.state = 'auth';
        this.send(sequence + 1, encrypted);
        return;
      }
      case 'result-head':
        if (payload[0] === 0xff) {
          this.endStatement(parseError(payload));
          return;
        }
        if (payload[0] === 0x00) {
          if (!(statusOf(payload) & SERVER_MORE_RESULTS_EXISTS)) this.endStatement();
          return;
        }
        if (payload[0] === 0xfb) {
          this.fail(withCode('LOAD DATA LOCAL is not supported by the storm', 'LOCAL_INFILE_UNSUPPORTED'));
          return;
        }
        this.state = 'columns';
        return;
      case 'columns':
        if (isEof(payload)) this.state = 'rows';
        return;
      case 'rows':
        if (payload[0] === 0xff) {
          this.endStatement(parseError(payload));
          return;
        }
        if (!isEof(payload)) return;
        if (statusOf(payload) & SERVER_MORE_RESULTS_EXISTS) this.state = 'result-head';
        else this.endStatement();
        return;
      default:
        // An ERR while idle (the server killed the connection): the next statement learns it is gone.
        if (payload[0] === 0xff) this.fail(parseError(payload));
    }
  }

  private onAuthPacket(payload: Buffer, sequence: number): void {
    const kind = payload[0];
    if (kind === 0x00) {
      this.state = 'ready';
      this.unwatch();
      this.settle();
      return;
    }
    if (kind === 0xff) {
      this.fail(parseError(payload));
      return;
    }
    if (kind === 0xfe) {
      const request = parseAuthSwitch(payload);
      const auth = authResponse(request.plugin, this.endpoint.password, request.scramble);
      if (!auth) {
        this.fail(withCode(`the server asked for auth plugin ${request.plugin}, which the lean path does not speak`, AUTH_PLUGIN_UNSUPPORTED));
        return;
      }
      this.plugin = request.plugin;
      // A copy: the payload is a view into the shared read buffer.
      this.scramble = Buffer.from(request.scramble);
      this.send(sequence + 1, auth);
      return;
    }
    if (kind === 0x01 && this.plugin === 'caching_sha2_password') {
      // 0x03: the server had the login cached, an OK follows; 0x04: full login, over TCP with the server's RSA key.
      if (payload[1] === 0x04) {
        this.state = 'rsa-key';
        this.send(sequence + 1, Buffer.from([0x02]));
        return;
      }
      return;
    }
    this.fail(withCode(`unexpected packet 0x${(kind ?? 0).toString(16)} during the login with ${this.plugin}`, AUTH_PLUGIN_UNSUPPORTED));
  }

  private endStatement(error?: unknown): void {
    this.state = 'ready';
    this.unwatch();
    this.settle(error);
  }
}
