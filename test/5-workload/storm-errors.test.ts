import { describe, expect, it } from 'vitest';
import { errorKey } from '../../src/5-workload/measure.ts';

// Shapes as mysql2 and Node raise them (code/errno/message as seen in runs against the offline image).
describe('errorKey', () => {
  it('keys a server error by its number and name', () => {
    expect(errorKey(Object.assign(new Error('Too many connections'), { code: 'ER_CON_COUNT_ERROR', errno: 1040 }))).toBe('1040 ER_CON_COUNT_ERROR');
    expect(errorKey(Object.assign(new Error("Host '172.17.0.1' is blocked"), { code: 'ER_HOST_IS_BLOCKED', errno: 1129 }))).toBe('1129 ER_HOST_IS_BLOCKED');
  });

  it('keys a lost connection as 2013', () => {
    expect(errorKey(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' }))).toBe('2013 CR_SERVER_LOST');
  });

  it('keys network errors by their code and timeouts as timeout', () => {
    expect(errorKey(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', errno: -111 }))).toBe('ECONNREFUSED');
    expect(errorKey(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(errorKey(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }))).toBe('timeout');
    expect(errorKey(Object.assign(new Error('Query inactivity timeout'), { code: 'PROTOCOL_SEQUENCE_TIMEOUT' }))).toBe('timeout');
  });

  it("keeps the start of an unknown error's message", () => {
    expect(errorKey(new Error('something else entirely'))).toBe('other: something else entirely');
  });
});
