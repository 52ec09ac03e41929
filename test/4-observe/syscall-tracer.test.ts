import { describe, expect, it } from 'vitest';
import { parseTracerLine, TRACER_PROGRAM } from '../../src/4-observe/syscall-tracer.ts';

// Real lines printed by TRACER_PROGRAM during a run here (MariaDB 10.11, emulated nofile 1073741816).
const MMAP_16GIB = 'mmap pid=15279 comm=mariadbd host=oomlab-d2efba-10-db len=17179869184 flags=34';
const PRLIMIT_READ = 'prlimit64 pid=15279 comm=mariadbd host=oomlab-d2efba-10-db set=0';

describe('parseTracerLine', () => {
  it("reads the incident's 16 GiB anonymous private mmap", () => {
    expect(parseTracerLine(MMAP_16GIB)).toEqual({
      syscall: 'mmap',
      pid: 15279,
      comm: 'mariadbd',
      host: 'oomlab-d2efba-10-db',
      lenBytes: 17179869184,
      flags: 34,
      line: MMAP_16GIB,
    });
  });

  it('reads a prlimit64 of RLIMIT_NOFILE that only reads the limit', () => {
    expect(parseTracerLine(PRLIMIT_READ)).toEqual({
      syscall: 'prlimit64',
      pid: 15279,
      comm: 'mariadbd',
      host: 'oomlab-d2efba-10-db',
      sets: false,
      line: PRLIMIT_READ,
    });
  });

  it('reads a prlimit64 that sets a new limit', () => {
    expect(parseTracerLine('prlimit64 pid=1 comm=mysqld host=h set=1')?.sets).toBe(true);
  });

  it('reads a brk growth and trims surrounding whitespace', () => {
    const call = parseTracerLine('  brk pid=77 comm=mysqld host=oomlab-x-db len=134217728\n');
    expect(call).toEqual({ syscall: 'brk', pid: 77, comm: 'mysqld', host: 'oomlab-x-db', lenBytes: 134217728, line: 'brk pid=77 comm=mysqld host=oomlab-x-db len=134217728' });
  });

  it.each(['Attaching 5 probes...', '', 'mmap comm=mariadbd len=1', 'WARNING: Could not set RLIMIT_MEMLOCK', 'open pid=1 comm=mysqld host=h'])('returns undefined for %j', (line) => {
    expect(parseTracerLine(line)).toBeUndefined();
  });
});

describe('TRACER_PROGRAM', () => {
  it("traces mmap and prlimit64 like the incident's bpftrace investigation", () => {
    expect(TRACER_PROGRAM).toContain('tracepoint:syscalls:sys_enter_mmap');
    expect(TRACER_PROGRAM).toContain('tracepoint:syscalls:sys_enter_prlimit64');
    expect(TRACER_PROGRAM).toContain('tracepoint:syscalls:sys_enter_brk');
  });

  it('traces only the server processes, and only RLIMIT_NOFILE (resource 7)', () => {
    expect(TRACER_PROGRAM).toContain('comm == "mysqld" || comm == "mariadbd"');
    expect(TRACER_PROGRAM).toContain('args->resource == 7');
  });
});
