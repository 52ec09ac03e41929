import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcStatus } from '../../src/4-observe/process-memory.ts';

// Captured from a running oomlab/mariadb:10.11 container's mariadbd (/proc/<pid>/status on the host).
const MARIADBD = readFileSync(new URL('../fixtures/proc/status-mariadbd-10.11.txt', import.meta.url), 'utf8');

describe('parseProcStatus', () => {
  it('reads VmSize, VmData and RssAnon of a real mariadbd in bytes (its 8 TiB address space included)', () => {
    expect(parseProcStatus(MARIADBD)).toEqual({ vmSizeBytes: 8_591_010_492 * 1024, vmDataBytes: 507_032 * 1024, rssAnonBytes: 77_392 * 1024 });
  });

  it('refuses a text that is not a process status', () => {
    expect(() => parseProcStatus('Name:\tmariadbd\nVmSize:\t 1 kB\n')).toThrow('/proc status without VmData, RssAnon: not a process status file');
  });
});
