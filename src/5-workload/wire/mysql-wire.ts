import { hash, publicEncrypt, constants as cryptoConstants } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// The few packets of the MySQL client/server protocol that a storm session needs: the server's greeting,
// the client's login, OK, ERR, EOF and auth-switch, COM_QUERY and COM_QUIT. Pure functions over Buffers, so
// they are tested on bytes captured from the real servers (test/fixtures/mysql-wire).

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_LONG_FLAG = 0x4;
const CLIENT_CONNECT_WITH_DB = 0x8;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_TRANSACTIONS = 0x2000;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_MULTI_RESULTS = 0x20000;
const CLIENT_PLUGIN_AUTH = 0x80000;
const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000;
/** utf8mb4_general_ci, which every server here knows. */
const CHARSET_UTF8MB4 = 45;
const MAX_PACKET = 0x1000000;

/** mysql2's table of error names by number (not in its exports map, so read by path): 1040 → ER_CON_COUNT_ERROR, as mysql2 reports it. */
const require = createRequire(import.meta.url);
const ERROR_NAMES = require(join(dirname(require.resolve('mysql2')), 'lib/constants/errors.js')) as Record<number, string | undefined>;

export const COM_QUIT = 0x01;
export const COM_QUERY = 0x03;

export interface Handshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  capabilities: number;
  /** The 20 bytes the password is scrambled with. */
  scramble: Buffer;
  authPlugin: string;
}

/** A server's ERR packet: its number, SQL state (absent before the login) and message, as mysql2 names them. */
export interface ServerError extends Error {
  errno: number;
  code: string;
  sqlState?: string;
  sqlMessage: string;
  fatal?: boolean;
}

/** Reads the NUL-terminated string at `offset`; returns it and the offset after the NUL. */
function cString(payload: Buffer, offset: number): [string, number] {
  const end = payload.indexOf(0, offset);
  const stop = end < 0 ? payload.length : end;
  return [payload.toString('latin1', offset, stop), stop + 1];
}

/** The Initial Handshake v10 packet (the server speaks first). */
export function parseHandshake(payload: Buffer): Handshake {
  const protocolVersion = payload[0]!;
  if (protocolVersion !== 10) throw new Error(`not a MySQL v10 handshake: first byte ${protocolVersion}`);
  const [serverVersion, afterVersion] = cString(payload, 1);
  let at = afterVersion;
  const connectionId = payload.readUInt32LE(at);
  at += 4;
  const part1 = payload.subarray(at, at + 8);
  at += 9; // 8 bytes and a filler
  let capabilities = payload.readUInt16LE(at);
  at += 2;
  at += 3; // charset, status flags
  capabilities |= payload.readUInt16LE(at) << 16;
  at += 2;
  const authDataLength = payload[at]!;
  at += 11; // the length and 10 reserved bytes (MariaDB's extended capabilities among them)
  const part2Length = Math.max(13, authDataLength - 8);
  // The scramble's second part ends with a NUL that is not part of it.
  const part2 = payload.subarray(at, at + part2Length - 1);
  at += part2Length;
  const authPlugin = capabilities & CLIENT_PLUGIN_AUTH ? cString(payload, at)[0] : 'mysql_native_password';
  return { protocolVersion, serverVersion, connectionId, capabilities: capabilities >>> 0, scramble: Buffer.concat([part1, part2]), authPlugin };
}

/** An ERR packet (first byte 0xff); before the login the server sends it without the `#` SQL state. */
export function parseError(payload: Buffer): ServerError {
  const errno = payload.readUInt16LE(1);
  let at = 3;
  let sqlState: string | undefined;
  if (payload[at] === 0x23) {
    sqlState = payload.toString('latin1', at + 1, at + 6);
    at += 6;
  }
  const sqlMessage = payload.toString('utf8', at);
  const code = ERROR_NAMES[errno] ?? `ER_${errno}`;
  return Object.assign(new Error(sqlMessage), { errno, code, sqlMessage, ...(sqlState ? { sqlState } : {}) });
}

/** An EOF packet is 0xfe and shorter than 9 bytes; a row may start with 0xfe (an 8-byte length) only when longer. */
export function isEof(payload: Buffer): boolean {
  return payload[0] === 0xfe && payload.length < 9;
}

/** An auth-switch request (0xfe after the login): the plugin the server wants and its new scramble. */
export function parseAuthSwitch(payload: Buffer): { plugin: string; scramble: Buffer } {
  const [plugin, at] = cString(payload, 1);
  // The scramble ends with a NUL that is not part of it.
  const end = payload[payload.length - 1] === 0 ? payload.length - 1 : payload.length;
  return { plugin, scramble: payload.subarray(at, end) };
}

/** One-shot hashing (no Hash object per login: a storm logs in thousands of times a second). */
const sha = (algorithm: 'sha1' | 'sha256', ...parts: Buffer[]): Buffer => hash(algorithm, parts.length === 1 ? parts[0]! : Buffer.concat(parts), 'buffer') as unknown as Buffer;

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

/** The password's own hashes, the same for every login of a storm: one password remembered per algorithm. */
const noHash = (): Buffer => Buffer.alloc(0);
const stages = { sha1: { password: '', stage1: noHash(), stage2: noHash() }, sha256: { password: '', stage1: noHash(), stage2: noHash() } };
function passwordStages(algorithm: 'sha1' | 'sha256', password: string) {
  const memo = stages[algorithm];
  if (memo.password !== password || memo.stage1.length === 0) {
    memo.stage1 = sha(algorithm, Buffer.from(password, 'utf8'));
    memo.stage2 = sha(algorithm, memo.stage1);
    memo.password = password;
  }
  return memo;
}

/** mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))). */
export function nativePasswordScramble(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const { stage1, stage2 } = passwordStages('sha1', password);
  return xor(stage1, sha('sha1', scramble.subarray(0, 20), stage2));
}

/** caching_sha2_password's fast path: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble). */
export function cachingSha2Scramble(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const { stage1, stage2 } = passwordStages('sha256', password);
  return xor(stage1, sha('sha256', stage2, scramble.subarray(0, 20)));
}

/** caching_sha2_password's full login over plain TCP: the password (NUL-ended) XOR the scramble, under the server's RSA key. */
export function cachingSha2RsaPassword(password: string, scramble: Buffer, publicKeyPem: string): Buffer {
  const plain = xor(Buffer.from(`${password}\0`, 'utf8'), scramble.subarray(0, 20));
  return publicEncrypt({ key: publicKeyPem, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING }, plain);
}

/** The scrambled password for the plugin the server named; undefined for a plugin this path does not speak. */
export function authResponse(plugin: string, password: string, scramble: Buffer): Buffer | undefined {
  if (plugin === 'mysql_native_password') return nativePasswordScramble(password, scramble);
  if (plugin === 'caching_sha2_password') return cachingSha2Scramble(password, scramble);
  return undefined;
}

/** Wraps a payload into a packet: 3-byte length, sequence number. */
export function packet(sequence: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUIntLE(payload.length, 0, 3);
  out[3] = sequence & 0xff;
  payload.copy(out, 4);
  return out;
}

/** The login's bytes around the auth data, for the last user, database and plugin: the same for every login of a storm. */
let loginParts: { key: string; before: Buffer; after: Buffer } | undefined;

/** HandshakeResponse41: the client's login, answering the server's greeting with sequence 1. */
export function handshakeResponse(options: { user: string; database?: string; plugin: string; auth: Buffer }): Buffer {
  const key = `${options.user}\0${options.database ?? ''}\0${options.plugin}`;
  if (loginParts?.key !== key) {
    const flags =
      CLIENT_LONG_PASSWORD |
      CLIENT_LONG_FLAG |
      CLIENT_PROTOCOL_41 |
      CLIENT_TRANSACTIONS |
      CLIENT_SECURE_CONNECTION |
      CLIENT_MULTI_RESULTS |
      CLIENT_PLUGIN_AUTH |
      CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |
      (options.database ? CLIENT_CONNECT_WITH_DB : 0);
    const head = Buffer.alloc(32);
    head.writeUInt32LE(flags >>> 0, 0);
    head.writeUInt32LE(MAX_PACKET, 4);
    head[8] = CHARSET_UTF8MB4;
    const before = Buffer.concat([head, Buffer.from(`${options.user}\0`, 'utf8')]);
    const after = Buffer.concat([options.database ? Buffer.from(`${options.database}\0`, 'utf8') : Buffer.alloc(0), Buffer.from(`${options.plugin}\0`, 'latin1')]);
    loginParts = { key, before, after };
  }
  const { before, after } = loginParts;
  // The auth data is short (20 or 32 bytes, 256 with RSA), so its length-encoded length is one byte below 251.
  const length = before.length + 1 + options.auth.length + after.length;
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUIntLE(length, 0, 3);
  out[3] = 1;
  before.copy(out, 4);
  out[4 + before.length] = options.auth.length;
  options.auth.copy(out, 5 + before.length);
  after.copy(out, 5 + before.length + options.auth.length);
  return out;
}

/** A command packet (always sequence 0): COM_QUERY with its SQL, or COM_QUIT alone. */
export function command(code: number, text = ''): Buffer {
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUIntLE(1 + body.length, 0, 3);
  out[3] = 0;
  out[4] = code;
  body.copy(out, 5);
  return out;
}

/** COM_QUIT never changes: one buffer for every session. */
export const QUIT_PACKET = command(COM_QUIT);

/**
 * Cuts a byte stream into packets. Feed it every chunk; it calls `onPacket` with each complete payload
 * (a view into the chunk when the packet lies within one, else a copy) and keeps the partial tail.
 */
export class PacketReader {
  private tail: Buffer | undefined;
  constructor(private readonly onPacket: (payload: Buffer, sequence: number) => void) {}

  push(chunk: Buffer): void {
    let data = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    this.tail = undefined;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
      if (data.length - at < 4 + length) break;
      const sequence = data[at + 3]!;
      const payload = data.subarray(at + 4, at + 4 + length);
      at += 4 + length;
      // Packets of 16 MiB and more come in parts; no statement of a storm returns a row that large.
      this.onPacket(payload, sequence);
    }
    if (at < data.length) {
      data = data.subarray(at);
      this.tail = Buffer.from(data);
    }
  }

  /** Forgets the partial tail (the connection is gone). */
  reset(): void {
    this.tail = undefined;
  }
}
