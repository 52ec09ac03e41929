import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildNofileShim, planNofile } from '../../src/3-runtime/nofile-shim.ts';

const HOST_HARD_LIMIT = 20_000;
const CONTAINERD_INFINITY = 1073741816;

/** The soft RLIMIT_NOFILE of this test process, which the shell below inherits. */
function softNofileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line!.trim().split(/\s+/)[3]);
}

describe('planNofile', () => {
  it("leaves the engine's default alone", () => {
    expect(planNofile('default', HOST_HARD_LIMIT)).toEqual({ env: {}, emulated: false, realLimit: 'default' });
    expect(planNofile(undefined, HOST_HARD_LIMIT)).toEqual({ env: {}, emulated: false, realLimit: 'default' });
  });

  it("sets a limit within the host's ceiling for real", () => {
    expect(planNofile(4096, HOST_HARD_LIMIT)).toEqual({ ulimit: { soft: 4096, hard: 4096 }, env: {}, emulated: false, realLimit: 4096 });
  });

  it('sets a limit equal to the ceiling for real', () => {
    expect(planNofile(HOST_HARD_LIMIT, HOST_HARD_LIMIT).emulated).toBe(false);
  });

  it('emulates a limit above the ceiling: real ulimit at the ceiling, the shim reports the requested value', () => {
    expect(planNofile(CONTAINERD_INFINITY, HOST_HARD_LIMIT)).toEqual({
      ulimit: { soft: HOST_HARD_LIMIT, hard: HOST_HARD_LIMIT },
      env: { OOMLAB_NOFILE_EMULATED: '1073741816', OOMLAB_NOFILE_START: '20000' },
      emulated: true,
      realLimit: HOST_HARD_LIMIT,
    });
  });
});

describe('the nofile shim, built with cc and preloaded into bash', () => {
  let shim: string;

  beforeAll(async () => {
    shim = await buildNofileShim();
  }, 60_000);

  const shimEnv = (start: number) => ({
    LD_PRELOAD: shim,
    OOMLAB_NOFILE_EMULATED: String(CONTAINERD_INFINITY),
    OOMLAB_NOFILE_START: String(start),
  });

  it('builds once per source version (cached)', async () => {
    expect(shim).toMatch(/nofile-shim-[0-9a-f]{12}\.so$/);
    expect(await buildNofileShim()).toBe(shim);
  });

  it('reports the emulated limit at start, and the real 4096 once `ulimit -n 4096` lowered it', async () => {
    const { stdout } = await execa('bash', ['-c', 'ulimit -n; ulimit -n 4096; ulimit -n'], { env: shimEnv(softNofileLimit()), timeout: 10_000 });
    // Two reads, two lines: `ulimit -n 4096` itself prints nothing.
    expect(stdout).toBe(`${CONTAINERD_INFINITY}\n4096`);
  });

  it('reports the emulated value as the hard limit too', async () => {
    const { stdout } = await execa('bash', ['-c', 'ulimit -Hn'], { env: shimEnv(softNofileLimit()), timeout: 10_000 });
    expect(stdout).toBe(String(CONTAINERD_INFINITY));
  });

  it('reports the real limit when it is not the starting value', async () => {
    const soft = softNofileLimit();
    const { stdout } = await execa('bash', ['-c', 'ulimit -n'], { env: shimEnv(soft - 1), timeout: 10_000 });
    expect(stdout).toBe(String(soft));
  });

  it('does nothing without OOMLAB_NOFILE_EMULATED', async () => {
    const { stdout } = await execa('bash', ['-c', 'ulimit -n'], { env: { LD_PRELOAD: shim }, extendEnv: false, timeout: 10_000 });
    expect(stdout).toBe(String(softNofileLimit()));
  });

  it('still fails like the real call when raising above the hard limit', async () => {
    const result = await execa('bash', ['-c', `ulimit -n ${CONTAINERD_INFINITY}`], { env: shimEnv(softNofileLimit()), reject: false, timeout: 10_000 });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/ulimit: open files: cannot modify limit: Operation not permitted/);
  });

  it('needs no versioned glibc symbol, so it loads in glibc 2.17 (mysql:5.7)', async () => {
    const versions = await execa('readelf', ['-V', shim]);
    expect(versions.stdout).not.toContain('GLIBC_');
    const symbols = await execa('readelf', ['--dyn-syms', '--wide', shim]);
    expect(symbols.stdout).not.toContain('@GLIBC');
    expect(symbols.stdout).not.toContain('dlsym');
  });

  it('exports getrlimit, getrlimit64, prlimit and prlimit64', async () => {
    const { stdout } = await execa('readelf', ['--dyn-syms', '--wide', shim]);
    const defined = stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === 'FUNC' && fields[6] !== 'UND')
      .map((fields) => fields[7]);
    expect(defined.sort()).toEqual(['getrlimit', 'getrlimit64', 'prlimit', 'prlimit64']);
  });
});
