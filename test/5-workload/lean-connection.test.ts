import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PacketReader } from '../../src/5-workload/mysql-wire.ts';
import { runStorm } from '../../src/5-workload/storm.ts';

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
