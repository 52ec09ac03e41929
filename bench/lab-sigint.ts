// SIGINT during a lab run, at boot and mid-configuration: after each try, is anything left? Prints one line per
// try and the tally (issue 23: "no VM, no qemu process, no container and no mount: 10 tries of 10").
// Usage (under the shared lock; each try boots a VM): node --import tsx bench/lab-sigint.ts [TRIES] [scenario] [--only ...]
// Odd tries interrupt at boot (BOOT_SIGINT_S seconds after the start), even ones once a configuration has run a few seconds.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

const tries = Number(process.argv[2] ?? 10);
const scenario = process.argv[3] ?? 'scenarios/runtime-nofile.ts';
const extra = process.argv.slice(4).length > 0 ? process.argv.slice(4) : ['--only', 'runtime=docker-2019'];
const BOOT_SIGINT_S = 15;
const MID_CONFIG_S = 5;
/** A run that does not end this long after SIGINT counts as a failure (and is killed so the next try can run). */
const EXIT_WITHIN_S = 120;

interface Left {
  qemu: number[];
  vmDirs: string[];
  containers: string[];
  mounts: string[];
}

/** qemu processes named for this run's VMs (`-name oomlab-lab-run-<pid>-…`). */
async function qemuOf(runPid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(`oomlab-lab-run-${runPid}-`)) found.push(Number(entry));
  }
  return found;
}

async function leftBy(runPid: number): Promise<Left> {
  const vmDirs = (await readdir('/run/oomlab/lab').catch(() => [] as string[])).filter((dir) => dir.startsWith(`run-${runPid}-`));
  const ps = await execa('docker', ['ps', '-aq', '--filter', 'label=oomlab.run'], { reject: false, timeout: 20_000 });
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').filter((line) => line.includes(`run-${runPid}-`));
  return { qemu: await qemuOf(runPid), vmDirs, containers: ps.stdout.split('\n').filter(Boolean), mounts };
}

async function oneTry(n: number, when: 'boot' | 'mid-configuration'): Promise<{ ok: boolean; line: string }> {
  const started = performance.now();
  const child = spawn('./oomlab', ['run', scenario, ...extra, '--reports-dir', '/tmp/oomlab-sigint-bench'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const configStarted = new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (/^\[#\d+\/\d+\] /m.test(stderr)) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  if (when === 'boot') await Promise.race([sleep(BOOT_SIGINT_S * 1000), exited]);
  else await Promise.race([configStarted.then(() => sleep(MID_CONFIG_S * 1000)), exited]);
  const sentAt = ((performance.now() - started) / 1000).toFixed(1);
  const qemuAtSigint = (await qemuOf(child.pid!)).length;
  child.kill('SIGINT');
  const code = await Promise.race([exited, sleep(EXIT_WITHIN_S * 1000).then(() => 'hung' as const)]);
  if (code === 'hung') child.kill('SIGKILL');
  const endedS = ((performance.now() - started) / 1000).toFixed(1);
  const left = await leftBy(child.pid!);
  const ok = code === 130 && left.qemu.length === 0 && left.vmDirs.length === 0 && left.containers.length === 0 && left.mounts.length === 0;
  const lastLine = stderr.trim().split('\n').filter(Boolean).at(-2) ?? '';
  return {
    ok,
    line: `try ${n} (${when}): SIGINT at ${sentAt}s with ${qemuAtSigint} qemu running, exit ${code} at ${endedS}s; left: qemu ${left.qemu.length}, VM dirs ${left.vmDirs.length}, containers ${left.containers.length}, mounts ${left.mounts.length}${ok ? '' : ` — FAILED (last line: ${lastLine})`}`,
  };
}

let passed = 0;
for (let n = 1; n <= tries; n++) {
  const { ok, line } = await oneTry(n, n % 2 === 1 ? 'boot' : 'mid-configuration');
  if (ok) passed++;
  console.log(line);
}
console.log(`${passed} of ${tries} tries left nothing behind (no qemu, no VM directory, no container, no mount) and exited 130`);
process.exitCode = passed === tries ? 0 : 1;
