import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LeanConnection } from '../../src/5-workload/wire/lean-connection.ts';
import { PacketReader } from '../../src/5-workload/wire/mysql-wire.ts';
import { DEFAULT_WIRE_TRANSPORT } from '../../src/5-workload/wire/socket.ts';
import { runStorm } from '../../src/5-workload/storm/storm.ts';

// A stand-in server on 127.0.0.1 that answers with bytes captured from MariaDB 10.11 (test/fixtures/mysql-wire).
const fixture = (name: string) => readFileSync(new URL(`../fixtures/mysql-wire/mariadb-10.11-${name}.bin`, import.meta.url));
const GREETING = fixture('greeting');
/** The captured 1040 stream is the greeting and then the ERR; only the ERR is the reply to the login. */
const TOO_MANY = fixture('err-1040').subarray(GREETING.length);
let server: Server | undefined;

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Starts the stand-in; `answer` gets each packet the client sent (first byte of its payload) and replies. */
async function standIn(answer: (payload: Buffer, socket: Socket) => void): Promise<{ port: number; received: string[]; closed: Promise<void> }> {
  const received: string[] = [];
  let onClose = () => {};
  // The client's close reaches the stand-in after the storm returned.
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  server = createServer((socket) => {
    socket.on('close', onClose);
    socket.write(GREETING);
    const reader = new PacketReader((payload) => {
      received.push(payload[0] === 0x03 ? `query ${payload.toString('utf8', 1)}` : payload[0] === 0x01 && payload.length === 1 ? 'quit' : 'login');
      answer(payload, socket);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server!.address() as { port: number }).port, received, closed };
}

const storm = (port: number, sessions: number) =>
  runStorm({
    endpoint: { host: '127.0.0.1', port, user: 'root', password: 'pw', database: 'feed' },
    startPerSecond: 1_000,
    stages: [{ targetPerSecond: 1_000, durationMs: sessions }],
    session: { queries: 1, thinkMs: 0, holdMs: 0 },
    mix: [{ name: 'point', weight: 1, sql: 'SELECT id, name FROM feed.users WHERE id = 42' }],
    signal: new AbortController().signal,
  });

describe('the lean connection against captured MariaDB replies', () => {
  it('logs in, runs the statement, skips its result set and quits with COM_QUIT', async () => {
    const { port, received, closed } = await standIn((payload, socket) => {
      if (received.at(-1) === 'login') socket.write(fixture('login-reply'));
      else if (payload[0] === 0x03) socket.write(fixture('result-set'));
      else socket.end();
    });
    const result = await storm(port, 1);
    await closed;
    expect(result.errorsByCode).toEqual({});
    expect(result.client).toBe('lean');
    expect(result.sessions).toMatchObject({ intended: 1, started: 1, completed: 1, failed: 0 });
    expect(result.queries).toEqual({ ok: 1, failed: 0 });
    expect(received).toEqual(['login', 'query SELECT id, name FROM feed.users WHERE id = 42', 'quit']);
  });

  it('counts a refused login under its MySQL code (1040) and says the server stopped keeping up', async () => {
    const { port } = await standIn((_, socket) => socket.end(TOO_MANY));
    const result = await storm(port, 3);
    expect(result.errorsByCode).toEqual({ '1040 ER_CON_COUNT_ERROR': 3 });
    expect(result.sessions).toMatchObject({ started: 3, completed: 0, failed: 3 });
    expect(result.saturated).toEqual({ side: 'server', second: 0, intendedPerSecond: 3, why: '3 logins refused' });
  });

  it('counts a statement error by its code and still closes the session', async () => {
    const { port, received } = await standIn((payload, socket) => {
      if (received.at(-1) === 'login') socket.write(fixture('login-reply'));
      else if (payload[0] === 0x03) socket.write(fixture('err-query'));
    });
    const result = await storm(port, 1);
    expect(result.errorsByCode).toEqual({ '1054 ER_BAD_FIELD_ERROR': 1 });
    expect(result.queries).toEqual({ ok: 0, failed: 1 });
  });
});

/** Runs `step` on a lean connection and resolves with its error (undefined when it succeeded). */
const outcome = (step: (done: (error?: unknown) => void) => void) => new Promise<unknown>((resolve) => step(resolve));

describe.each(['handle', 'net'] as const)('the lean connection over the %s transport', (transport) => {
  const endpoint = (port: number) => ({ host: '127.0.0.1', port, user: 'root', password: 'pw', database: 'feed' });

  it('logs in, runs a statement and quits', async () => {
    const { port, received, closed } = await standIn((payload, socket) => {
      if (received.at(-1) === 'login') socket.write(fixture('login-reply'));
      else if (payload[0] === 0x03) socket.write(fixture('result-set'));
    });
    const connection = new LeanConnection(endpoint(port), 5_000, transport);
    expect(await outcome((done) => connection.connect(done))).toBeUndefined();
    expect(await outcome((done) => connection.query('SELECT 1', 5_000, done))).toBeUndefined();
    await outcome((done) => connection.quit(done));
    connection.destroy();
    await closed;
    expect(received).toEqual(['login', 'query SELECT 1', 'quit']);
  });

  it('times out a login the server never greets (ETIMEDOUT) and a statement it never answers (PROTOCOL_SEQUENCE_TIMEOUT)', async () => {
    // A listener that accepts and stays silent: no greeting ever comes.
    const silent = createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const mute = new LeanConnection(endpoint((silent.address() as { port: number }).port), 300, transport);
    const startedAt = performance.now();
    expect(await outcome((done) => mute.connect(done))).toMatchObject({ code: 'ETIMEDOUT' });
    // It waited for its timeout instead of failing at once; Node's timers may fire a millisecond or two early.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(290);
    mute.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));

    // A stand-in that logs the client in and never answers its statement.
    const { port, received } = await standIn((_, socket) => {
      if (received.at(-1) === 'login') socket.write(fixture('login-reply'));
    });
    const slow = new LeanConnection(endpoint(port), 5_000, transport);
    expect(await outcome((done) => slow.connect(done))).toBeUndefined();
    expect(await outcome((done) => slow.query('SELECT SLEEP(60)', 300, done))).toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
    slow.destroy();
  });

  it('reports a refused connection by its system code', async () => {
    const { port } = await standIn(() => {});
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const connection = new LeanConnection(endpoint(port), 5_000, transport);
    expect(await outcome((done) => connection.connect(done))).toMatchObject({ code: 'ECONNREFUSED' });
    connection.destroy();
  });
});

describe('the wire transport', () => {
  it("drives libuv's TCP handle directly on this Node: the storm's connection rate depends on it", () => {
    expect(DEFAULT_WIRE_TRANSPORT).toBe('handle');
  });
});
