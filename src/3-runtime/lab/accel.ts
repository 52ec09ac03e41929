// KVM where it really boots a guest kernel, TCG otherwise: decided by a short probe, once per host kernel,
// qemu and guest kernel, and kept in the lab cache.
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { QEMU_BINARY } from './vm.ts';
import type { LabAccel } from './shape.ts';

export interface AccelDecision {
  accel: LabAccel;
  /** Why, for the run's report: `kvm: the guest kernel booted in 900ms`, `tcg: …failed to set MSR 0x10a`. */
  why: string;
  /** Where the decision came from. */
  source: 'probe' | 'cache' | 'env' | 'no-kvm';
}

/** What makes a probe's result stale: another host kernel, qemu or guest kernel may decide otherwise. */
export interface AccelProbeKey {
  hostKernel: string;
  qemu: string;
  guestKernel: string;
}

export const PROBE_TIMEOUT_MS = 20_000;

/** The guest kernel reached its root mount (and panicked without a root disk): KVM runs it. */
export function probeBooted(consoleText: string): boolean {
  return /Kernel panic - not syncing|VFS: Unable to mount root/.test(consoleText);
}

/** Boots the guest kernel alone under KVM, with no disk, and reads its console: a working KVM panics at the root mount in a second or two. */
export async function probeKvm(kernel: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<{ works: boolean; why: string; ms: number }> {
  const started = performance.now();
  const result = await execa(
    QEMU_BINARY,
    ['-accel', 'kvm', '-cpu', 'host', '-m', '256M', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot'],
    { reject: false, timeout: timeoutMs, stdin: 'ignore' },
  );
  const ms = Math.round(performance.now() - started);
  if (probeBooted(result.stdout)) return { works: true, why: `the guest kernel reached its root mount under kvm in ${ms}ms`, ms };
  const said = [result.stderr, result.stdout]
    .join('\n')
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.length > 0);
  if (result.timedOut) return { works: false, why: `under kvm the guest kernel did not reach its root mount within ${timeoutMs}ms${said ? ` (last: ${said})` : ''}`, ms };
  return { works: false, why: `qemu -accel kvm exited ${result.exitCode ?? result.signal}${said ? `: ${said}` : ''}`, ms };
}

async function qemuVersion(): Promise<string> {
  const result = await execa(QEMU_BINARY, ['--version'], { reject: false, timeout: 10_000 });
  return result.stdout.split('\n')[0] ?? 'unknown';
}

/**
 * kvm or tcg for this host. OOMLAB_LAB_ACCEL=kvm|tcg decides without a probe. A /dev/kvm that exists
 * is not enough: a PVM-backed one fails stock kernels, so the guest kernel itself is tried.
 */
export async function chooseAccel(guestKernel: { kernel: string; kernelRelease: string }, cacheFile: string, env: NodeJS.ProcessEnv = process.env): Promise<AccelDecision> {
  const forced = env.OOMLAB_LAB_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: `OOMLAB_LAB_ACCEL=${forced}`, source: 'env' };
  const kvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!kvm) return { accel: 'tcg', why: 'no usable /dev/kvm: TCG emulates every instruction (several times slower)', source: 'no-kvm' };
  const key: AccelProbeKey = { hostKernel: release(), qemu: await qemuVersion(), guestKernel: guestKernel.kernelRelease };
  const cached = JSON.parse((await readFile(cacheFile, 'utf8').catch(() => '{}')) || '{}') as { key?: AccelProbeKey; accel?: LabAccel; why?: string };
  if (cached.key && JSON.stringify(cached.key) === JSON.stringify(key) && cached.accel && cached.why) return { accel: cached.accel, why: cached.why, source: 'cache' };
  const probe = await probeKvm(guestKernel.kernel);
  const decision: AccelDecision = probe.works
    ? { accel: 'kvm', why: probe.why, source: 'probe' }
    : { accel: 'tcg', why: `/dev/kvm does not run the guest kernel (${probe.why}): TCG emulates every instruction (several times slower)`, source: 'probe' };
  await mkdir(dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, `${JSON.stringify({ key, accel: decision.accel, why: decision.why, probedAt: new Date().toISOString() }, null, 2)}\n`);
  return decision;
}
