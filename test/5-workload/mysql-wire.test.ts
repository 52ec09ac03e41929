import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  authResponse,
  cachingSha2Scramble,
  handshakeResponse,
  isEof,
  nativePasswordScramble,
  PacketReader,
  parseAuthSwitch,
  parseError,
  parseHandshake,
} from '../../src/5-workload/wire/mysql-wire.ts';

// Bytes captured from oomlab/mariadb:10.11 and oomlab/mysql:9.7 by tools/capture-mysql-wire.ts.
const fixture = (name: string) => readFileSync(new URL(`../fixtures/mysql-wire/${name}.bin`, import.meta.url));

/** Every packet of a captured stream, cut by the reader. */
function packetsOf(bytes: Buffer, chunkSize = bytes.length): { payload: Buffer; sequence: number }[] {
  const packets: { payload: Buffer; sequence: number }[] = [];
  const reader = new PacketReader((payload, sequence) => packets.push({ payload: Buffer.from(payload), sequence }));
  for (let at = 0; at < bytes.length; at += chunkSize) reader.push(bytes.subarray(at, at + chunkSize));
  return packets;
}

const sha = (algorithm: string, ...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash(algorithm)).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]!));

describe('the server greeting', () => {
  it("reads MariaDB 10.11's: version, connection id, a 20-byte scramble and mysql_native_password", () => {
    const greeting = parseHandshake(packetsOf(fixture('mariadb-10.11-greeting'))[0]!.payload);
    expect(greeting).toMatchObject({ protocolVersion: 10, serverVersion: '5.5.5-10.11.18-MariaDB-0+deb12u1', authPlugin: 'mysql_native_password' });
    expect(greeting.connectionId).toBeGreaterThan(0);
    expect(greeting.scramble).toHaveLength(20);
    expect(greeting.scramble.includes(0)).toBe(false);
  });

  it("reads MySQL 9.7's, which asks for caching_sha2_password", () => {
    const greeting = parseHandshake(packetsOf(fixture('mysql-9.7-greeting'))[0]!.payload);
    expect(greeting.serverVersion).toMatch(/^9\.7\./);
    expect(greeting.authPlugin).toBe('caching_sha2_password');
    expect(greeting.scramble).toHaveLength(20);
  });

  it('refuses a packet that is not a v10 greeting, with the first byte it saw', () => {
    const refused = packetsOf(fixture('mariadb-10.11-err-1040'))[1]!.payload;
    expect(() => parseHandshake(refused)).toThrow('not a MySQL v10 handshake: first byte 255');
  });
});

describe('the packet reader', () => {
  it('cuts the same packets whether the bytes come at once or one by one', () => {
    const bytes = fixture('mariadb-10.11-result-set');
    const whole = packetsOf(bytes);
    expect(whole.map((p) => p.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(packetsOf(bytes, 1)).toEqual(whole);
    expect(packetsOf(bytes, 7)).toEqual(whole);
  });

  it('finds the two EOFs of a result set (after the column definitions, after the rows) on both servers', () => {
    for (const server of ['mariadb-10.11', 'mysql-9.7']) {
      expect(packetsOf(fixture(`${server}-result-set`)).map((p) => isEof(p.payload))).toEqual([false, false, false, true, false, true]);
    }
  });
});

describe('ERR packets', () => {
  it('reads 1040 Too many connections after the login, with its SQL state', () => {
    const error = parseError(packetsOf(fixture('mariadb-10.11-err-1040'))[1]!.payload);
    expect({ errno: error.errno, code: error.code, sqlState: error.sqlState, message: error.message }).toEqual({
      errno: 1040,
      code: 'ER_CON_COUNT_ERROR',
      sqlState: '08004',
      message: 'Too many connections',
    });
  });

  it('reads 1045 access denied from both servers and a statement error', () => {
    const maria = parseError(packetsOf(fixture('mariadb-10.11-err-1045'))[0]!.payload);
    expect([maria.errno, maria.code, maria.sqlState]).toEqual([1045, 'ER_ACCESS_DENIED_ERROR', '28000']);
    expect(maria.message).toMatch(/^Access denied for user 'root'@'[\d.]+' \(using password: YES\)$/);
    const mysql = parseError(packetsOf(fixture('mysql-9.7-err-1045'))[0]!.payload);
    expect([mysql.errno, mysql.code, mysql.sqlState]).toEqual([1045, 'ER_ACCESS_DENIED_ERROR', '28000']);
    const query = parseError(packetsOf(fixture('mariadb-10.11-err-query'))[0]!.payload);
    expect([query.errno, query.code, query.sqlState, query.message]).toEqual([1054, 'ER_BAD_FIELD_ERROR', '42S22', "Unknown column 'nope' in 'SELECT'"]);
  });

  it('names an error number mysql2 does not know by its number', () => {
    const payload = Buffer.from([0xff, 0x0f, 0x27, ...Buffer.from('#HY000odd')]);
    expect(parseError(payload)).toMatchObject({ errno: 9999, code: 'ER_9999', sqlState: 'HY000', message: 'odd' });
  });
});

describe('the login', () => {
  it('reads an auth-switch request: MariaDB asks for mysql_native_password, MySQL for caching_sha2_password', () => {
    const maria = parseAuthSwitch(packetsOf(fixture('mariadb-10.11-auth-switch'))[0]!.payload);
    expect(maria.plugin).toBe('mysql_native_password');
    expect(maria.scramble).toHaveLength(20);
    const mysql = parseAuthSwitch(packetsOf(fixture('mysql-9.7-auth-switch'))[0]!.payload);
    expect(mysql.plugin).toBe('caching_sha2_password');
    expect(mysql.scramble).toHaveLength(20);
  });

  it('scrambles a password as the server checks it (mysql_native_password and caching_sha2_password)', () => {
    const scramble = parseHandshake(packetsOf(fixture('mariadb-10.11-greeting'))[0]!.payload).scramble;
    const password = Buffer.from('sécret');
    // The server keeps SHA1(SHA1(password)) and checks SHA1(token XOR SHA1(scramble + stored)) == stored.
    const stored1 = sha('sha1', sha('sha1', password));
    expect(sha('sha1', xor(nativePasswordScramble('sécret', scramble), sha('sha1', scramble, stored1)))).toEqual(stored1);
    // caching_sha2: stored SHA256(SHA256(password)); SHA256(token XOR SHA256(stored + scramble)) == stored.
    const stored2 = sha('sha256', sha('sha256', password));
    expect(sha('sha256', xor(cachingSha2Scramble('sécret', scramble), sha('sha256', stored2, scramble)))).toEqual(stored2);
    expect(nativePasswordScramble('', scramble)).toHaveLength(0);
    expect(authResponse('client_ed25519', 'x', scramble)).toBeUndefined();
  });

  it('reads caching_sha2_password fast-login replies from MySQL 9.7: 0x01 0x03 then OK; a cache miss asks 0x01 0x04', () => {
    expect(packetsOf(fixture('mysql-9.7-login-reply')).map((p) => [...p.payload.subarray(0, 2)])).toEqual([
      [0x01, 0x03],
      [0x00, 0x00],
    ]);
    expect([...packetsOf(fixture('mysql-9.7-full-auth-request'))[0]!.payload]).toEqual([0x01, 0x04]);
    expect(packetsOf(fixture('mysql-9.7-public-key'))[0]!.payload.toString('latin1', 1)).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('writes the login with the user, the scrambled password, the database and the plugin', () => {
    const bytes = handshakeResponse({ user: 'root', database: 'feed', plugin: 'mysql_native_password', auth: Buffer.alloc(20, 7) });
    const [login] = packetsOf(bytes);
    expect(login!.sequence).toBe(1);
    const payload = login!.payload;
    expect(payload.toString('latin1', 32)).toBe(`root\0\x14${'\x07'.repeat(20)}feed\0mysql_native_password\0`);
  });
});
