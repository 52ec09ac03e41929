// Captures the raw bytes a server sends to the storm's lean wire path (greeting, login replies, ERR packets,
// a result set) into test/fixtures/mysql-wire/<prefix>-<what>.bin, for the packet parsers' unit tests.
// Usage: node --import tsx tools/capture-mysql-wire.ts <prefix> '<endpoint json>' [--too-many]
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { authResponse, cachingSha2RsaPassword, command, COM_QUERY, handshakeResponse, PacketReader, parseHandshake, QUIT_PACKET } from '../src/5-workload/wire/mysql-wire.ts';

const [prefix, endpointJson, flag] = process.argv.slice(2);
const endpoint = JSON.parse(endpointJson!) as { host: string; port: number; user: string; password: string; database?: string };
const dir = new URL('../test/fixtures/mysql-wire/', import.meta.url);

/** A socket whose received bytes are kept, with a wait for the next `n` packets. */
function open(): Promise<{ socket: Socket; next: (n?: number) => Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    let bytes: Buffer[] = [];
    let packets = 0;
    let waiter: { n: number; resolve: (b: Buffer) => void } | undefined;
    const reader = new PacketReader(() => packets++);
    socket.on('data', (chunk: Buffer) => {
      bytes.push(chunk);
      reader.push(chunk);
      if (waiter && packets >= waiter.n) {
        const got = Buffer.concat(bytes);
        bytes = [];
        packets = 0;
        const w = waiter;
        waiter = undefined;
        w.resolve(got);
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, next: (n = 1) => new Promise((r) => (waiter = { n, resolve: r })) }));
  });
}

async function save(name: string, bytes: Buffer) {
  await writeFile(new URL(`${prefix}-${name}.bin`, dir), bytes);
  console.log(`${prefix}-${name}.bin: ${bytes.length} bytes`);
}

async function login(password: string, plugin?: string) {
  const c = await open();
  const greetingBytes = await c.next();
  const greeting = parseHandshake(greetingBytes.subarray(4));
  const using = plugin ?? greeting.authPlugin;
  const auth = authResponse(using, password, greeting.scramble)!;
  c.socket.write(handshakeResponse({ user: endpoint.user, ...(endpoint.database ? { database: endpoint.database } : {}), plugin: using, auth }));
  let reply = await c.next();
  // caching_sha2_password: 0x01 0x03 (login cached) is followed by the OK.
  if (reply[4] === 0x01 && reply[5] === 0x03) reply = Buffer.concat([reply, await c.next()]);
  return { ...c, greeting, greetingBytes, reply };
}

if (flag === '--too-many') {
  // The server runs with max_connections=10 (its least), the login a user without SUPER: logins are held until one is refused.
  const held: Awaited<ReturnType<typeof login>>[] = [];
  for (let i = 0; i < 20; i++) {
    const c = await login(endpoint.password);
    held.push(c);
    // MariaDB greets first and refuses after the login.
    if (c.reply[4] === 0xff) {
      await save('err-1040', Buffer.concat([c.greetingBytes, c.reply]));
      break;
    }
  }
  for (const h of held) h.socket.destroy();
} else {
  const ok = await login(endpoint.password);
  await save('greeting', ok.greetingBytes);
  await save('login-reply', ok.reply);
  ok.socket.write(command(COM_QUERY, 'SELECT id, name FROM feed.users WHERE id = 42'));
  // Column count, 2 definitions, EOF, 1 row, EOF.
  await save('result-set', await ok.next(6));
  ok.socket.write(command(COM_QUERY, 'SELECT nope FROM feed.users'));
  await save('err-query', await ok.next());
  ok.socket.end(QUIT_PACKET);
  const denied = await login(`${endpoint.password}-wrong`);
  if (denied.reply[4] === 0x01 && denied.reply[5] === 0x04) {
    // caching_sha2_password has no cached login for a wrong password: the full login, over TCP with the RSA key.
    await save('full-auth-request', denied.reply);
    denied.socket.write(Buffer.from([1, 0, 0, denied.reply[3]! + 1, 0x02]));
    const key = await denied.next();
    await save('public-key', key);
    const encrypted = cachingSha2RsaPassword(`${endpoint.password}-wrong`, denied.greeting.scramble, key.toString('latin1', 5));
    denied.socket.write(Buffer.concat([Buffer.from([encrypted.length & 0xff, encrypted.length >> 8, 0, key[3]! + 1]), encrypted]));
    await save('err-1045', await denied.next());
  } else await save('err-1045', denied.reply);
  denied.socket.destroy();
  // The other plugin than the server's default: it answers with an auth-switch request.
  const other = await login(endpoint.password, prefix!.startsWith('mysql') ? 'mysql_native_password' : 'caching_sha2_password');
  await save('auth-switch', other.reply);
  other.socket.destroy();
}
