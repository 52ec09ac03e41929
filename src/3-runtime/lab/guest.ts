// The lab guest, built once like the offline images: lab/guest/build.sh makes a kernel, its initramfs
// and a disk image from Debian packages, and its folder is labelled with the recipe hash. The first boot
// that uses a new guest checks it (engine and agent answer, the kernel is the one built) and marks it
// checked; a boot costs a minute under TCG, so no boot is spent on the check alone. A guest whose recipe
// changed is stale and rebuilt.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { CancelledError, describeError, OomlabError } from '../../0-model/errors.ts';
import { hostDebianMirror } from '../docker/apt-mirror.ts';
import { PROJECT_ROOT, recipeHash } from '../docker/image-recipes.ts';
import { poll } from '../../0-model/poll.ts';
import { ownerAlive } from '../docker/labels.ts';
import { groupStopper } from '../process-group.ts';
import { chooseAccel, type AccelDecision } from './accel.ts';
import type { LabShape } from './shape.ts';
import { bootLab, ensureQemu, type BootOptions, type LabGuestFiles, type LabVm } from './vm.ts';

/** The recipe folders: lab/guest/ (build.sh and the files it installs) is the guest's recipe. */
export const LAB_DIR = join(PROJECT_ROOT, 'lab');
const GUEST_RECIPE = 'guest';

export function labCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.OOMLAB_LAB_CACHE ?? '/var/cache/oomlab/lab';
}

export type LabRelease = LabShape['release'];

/** A built guest: the files a boot needs and what it was built from. */
export interface LabGuest extends LabGuestFiles {
  dir: string;
  release: LabRelease;
  recipeHash: string;
  kernelRelease: string;
  /** Whether a boot has shown it works; the first boot of an unchecked guest is its check. */
  checked: boolean;
  builtAt?: string;
}

/** The label written once build.sh succeeded; the check's figures are added by the first boot that works. */
interface GuestLabel {
  recipeHash: string;
  release: LabRelease;
  kernelRelease: string;
  builtAt: string;
  buildMs: number;
  logFile?: string;
  checkBootMs?: number;
  checkAccel?: string;
  checkedAt?: string;
}

export type LabGuestState = { state: 'good'; guest: LabGuest } | { state: 'missing' } | { state: 'stale'; why: string };

export async function labRecipeHash(labDir = LAB_DIR): Promise<string> {
  return recipeHash(GUEST_RECIPE, labDir);
}

function guestFiles(dir: string): LabGuestFiles {
  return { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), disk: join(dir, 'disk.img') };
}

async function readLabel(dir: string): Promise<GuestLabel | undefined> {
  const text = await readFile(join(dir, 'label.json'), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as GuestLabel) : undefined;
}

/** Good means: a folder named and labelled with today's recipe hash, holding the three files. */
export async function labGuestState(release: LabRelease = 'bookworm', cacheRoot = labCacheRoot(), labDir = LAB_DIR): Promise<LabGuestState> {
  const hash = await labRecipeHash(labDir);
  const dir = join(cacheRoot, `${release}-${hash}`);
  const label = await readLabel(dir);
  const files = guestFiles(dir);
  if (label?.recipeHash === hash && Object.values(files).every((file) => existsSync(file))) {
    return { state: 'good', guest: { ...files, dir, release, recipeHash: hash, kernelRelease: label.kernelRelease, checked: label.checkedAt !== undefined, builtAt: label.builtAt } };
  }
  const others = (await readdir(cacheRoot).catch(() => [] as string[])).filter((name) => name.startsWith(`${release}-`) && !name.includes('.building-'));
  const older = others.find((name) => name !== `${release}-${hash}`);
  if (older) return { state: 'stale', why: `built from lab/guest/ at ${older.slice(release.length + 1)}, which is now ${hash}` };
  return { state: 'missing' };
}

export interface EnsureGuestOptions {
  release?: LabRelease;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  /** Debian archive for debootstrap. @default the one the host's apt sources name */
  mirror?: string;
  cacheRoot?: string;
}

export interface EnsuredGuest {
  guest: LabGuest;
  /** Set when this call built it. */
  built?: { buildMs: number; logFile: string };
}

/** The pid of a live process building this release's guest of today's recipe, if one is. */
async function liveBuilder(release: LabRelease, cacheRoot: string): Promise<number | undefined> {
  const prefix = `${release}-${await labRecipeHash()}.building-`;
  for (const name of await readdir(cacheRoot).catch(() => [] as string[])) {
    const builder = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : 0;
    if (builder && builder !== process.pid && ownerAlive(builder)) return builder;
  }
  return undefined;
}

/** The guest: found in the cache, else the build another process has under way, else built now. */
export async function ensureLabGuest(options: EnsureGuestOptions = {}): Promise<EnsuredGuest> {
  const release = options.release ?? 'bookworm';
  const cacheRoot = options.cacheRoot ?? labCacheRoot();
  const found = await labGuestState(release, cacheRoot);
  if (found.state === 'good') return { guest: found.guest };
  const builder = await liveBuilder(release, cacheRoot);
  if (builder !== undefined) {
    // Two builds of one guest would only race to the same folder: wait for the one under way (CI starts it early).
    options.onProgress?.(`lab guest (${release}) is being built by process ${builder} — waiting for it`);
    const waited = await poll(async () => (await labGuestState(release, cacheRoot)).state === 'good' || (await liveBuilder(release, cacheRoot)) === undefined || undefined, {
      intervalMs: 1_000,
      timeoutMs: 1_200_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!waited.done && waited.why === 'cancel') throw new CancelledError('the wait for the lab guest build was stopped');
    const after = await labGuestState(release, cacheRoot);
    if (after.state === 'good') return { guest: after.guest };
    options.onProgress?.(`process ${builder}'s build of the lab guest did not finish — building it here`);
  }
  options.onProgress?.(`lab guest (${release}) ${found.state === 'missing' ? 'not built yet' : `stale: ${found.why}`} — building it (about 2–3 minutes, once)`);
  return buildLabGuest(options);
}

/** The accel decision for this host, probed with the guest's own kernel and kept in the lab cache. */
export function labAccel(guest: Pick<LabGuest, 'kernel' | 'kernelRelease'>, cacheRoot = labCacheRoot()): Promise<AccelDecision> {
  return chooseAccel(guest, join(cacheRoot, 'accel.json'));
}

/**
 * Runs build.sh into a candidate folder and labels and renames it when build.sh succeeded; the first boot that
 * uses it checks it (`bootLabGuest`). build.sh runs in its own process group, and under `--pdeathsig`: a stop,
 * a SIGINT or the death of this process ends it and everything it started, and it removes what it half-built.
 */
export async function buildLabGuest(options: EnsureGuestOptions = {}): Promise<Required<EnsuredGuest>> {
  const release = options.release ?? 'bookworm';
  const cacheRoot = options.cacheRoot ?? labCacheRoot();
  const hash = await labRecipeHash();
  const started = performance.now();
  const logFile = join(tmpdir(), `oomlab-lab-build-${release}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const failed = (what: string, cause?: unknown) =>
    new OomlabError('LAB_BUILD_FAILED', `building the lab guest (${release}) from lab/guest/ failed: ${what} — build log: ${logFile}`, cause ? { cause } : undefined);
  await mkdir(cacheRoot, { recursive: true });
  await removeAbandonedGuestBuilds(cacheRoot);
  await ensureQemu(options.onProgress);
  const mirror = options.mirror ?? (await hostDebianMirror());
  const candidate = join(cacheRoot, `${release}-${hash}.building-${process.pid}`);
  const log = createWriteStream(logFile);
  const note = (text: string) => log.write(`# ${new Date().toISOString()} ${text}\n`);
  // The folder exists from the start: another process that needs the guest sees this build under way and waits.
  await mkdir(candidate, { recursive: true });
  try {
    note(`build.sh ${candidate} (recipe hash ${hash}, mirror from the host's apt sources)`);
    options.onProgress?.(`building the lab guest: log ${logFile}`);
    const build = execa('setpriv', ['--pdeathsig', 'TERM', 'bash', join(LAB_DIR, GUEST_RECIPE, 'build.sh'), candidate, mirror, release], {
      all: true,
      buffer: false,
      reject: false,
      timeout: 1_200_000,
      detached: true,
    });
    const stopper = groupStopper(build);
    const stop = stopper.stop;
    options.signal?.addEventListener('abort', stop, { once: true });
    // Its own process group does not get the terminal's SIGINT: the run's signal stops it, so does this process's exit,
    // and its death (--pdeathsig).
    process.once('exit', stop);
    let step = 'starting';
    const lines = createInterface({ input: build.all });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      if (line.startsWith('step: ')) {
        step = line.slice('step: '.length);
        options.onProgress?.(`lab guest: ${step}`);
      }
    });
    // debootstrap is silent for minutes: say the build is alive.
    const heartbeat = setInterval(() => options.onProgress?.(`lab guest: still at "${step}" (${Math.round((performance.now() - started) / 1000)}s)`), 30_000);
    const result = await build.finally(() => {
      clearInterval(heartbeat);
      options.signal?.removeEventListener('abort', stop);
      process.off('exit', stop);
    });
    if (stopper.stopped || options.signal?.aborted) throw new CancelledError('the lab guest build was stopped');
    if (result.failed)
      throw failed(`build.sh exit ${result.exitCode ?? result.signal}${result.timedOut ? ' (timed out after 1200000ms)' : ''} at "${step}"; it needs root, debootstrap and the host's Debian mirror`);
    const buildMs = Math.round(performance.now() - started);
    const kernelRelease = (await readFile(join(candidate, 'kernel-release'), 'utf8')).trim();
    const builtAt = new Date().toISOString();
    const label: GuestLabel = { recipeHash: hash, release, kernelRelease, builtAt, buildMs, logFile };
    await writeFile(join(candidate, 'label.json'), `${JSON.stringify(label, null, 2)}\n`);
    const dir = join(cacheRoot, `${release}-${hash}`);
    await rm(dir, { recursive: true, force: true });
    await rename(candidate, dir);
    note(`built in ${buildMs}ms; the first boot that uses it checks it`);
    options.onProgress?.(`lab guest built in ${Math.round(buildMs / 1000)}s; the first boot checks it`);
    // Older guests of this release are stale now: each is several hundred megabytes.
    for (const name of await readdir(cacheRoot)) {
      if (name.startsWith(`${release}-`) && name !== `${release}-${hash}` && !name.includes('.building-')) await rm(join(cacheRoot, name), { recursive: true, force: true });
    }
    return { guest: { ...guestFiles(dir), dir, release, recipeHash: hash, kernelRelease, checked: false, builtAt }, built: { buildMs, logFile } };
  } finally {
    await rm(candidate, { recursive: true, force: true });
    log.end();
  }
}

/**
 * Boots a guest (its disk, or `disk`: an image disk over it). A guest no boot has checked yet is checked by this
 * one: its engine and agent answer and the kernel is the one built, then its label says so; if it does not boot,
 * the error says the new guest did not boot and how to rebuild it.
 */
export async function bootLabGuest(guest: LabGuest, options: Omit<BootOptions, 'guest'> & { disk?: string }): Promise<LabVm> {
  const { disk, ...boot } = options;
  const files = { kernel: guest.kernel, initrd: guest.initrd, disk: disk ?? guest.disk };
  if (guest.checked) return bootLab({ ...boot, guest: files });
  boot.onProgress?.(`the lab guest built ${guest.builtAt ?? 'just now'} has not booted yet: this boot checks it`);
  let vm: LabVm | undefined;
  try {
    vm = await bootLab({ ...boot, guest: files });
    const version = await vm.node.readFile('/proc/version');
    if (!version?.includes(guest.kernelRelease)) throw new Error(`the agent's /proc/version does not name ${guest.kernelRelease}: ${version?.trim() ?? 'none'}`);
  } catch (error) {
    await vm?.stop();
    if (error instanceof OomlabError && error.code === 'CANCELLED') throw error;
    const label = await readLabel(guest.dir);
    throw new OomlabError(
      'LAB_BUILD_FAILED',
      `the newly built lab guest (${guest.release}, ${guest.dir}) did not boot: ${describeError(error).split('\n')[0]} — rebuild it: remove ${guest.dir} and run again${label?.logFile ? ` (build log: ${label.logFile})` : ''}`,
      { cause: error },
    );
  }
  await markChecked(guest, vm.bootMs, boot.accel);
  guest.checked = true;
  return vm;
}

/** Adds the check's figures to the guest's label (written whole, then renamed over it: readers never see half). */
async function markChecked(guest: LabGuest, bootMs: number, accel: string): Promise<void> {
  const label = await readLabel(guest.dir);
  if (!label || label.checkedAt) return;
  const next: GuestLabel = { ...label, checkBootMs: bootMs, checkAccel: accel, checkedAt: new Date().toISOString() };
  const temporary = join(guest.dir, `label.json.${process.pid}`);
  await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`);
  await rename(temporary, join(guest.dir, 'label.json'));
}

/** Candidate folders of builds whose builder died (`oomlab clean`, and before each build). */
export async function removeAbandonedGuestBuilds(cacheRoot = labCacheRoot()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(cacheRoot).catch(() => [] as string[])) {
    const builder = Number(/\.building-(\d+)$/.exec(name)?.[1]);
    if (!builder || (builder !== process.pid && ownerAlive(builder))) continue;
    await rm(join(cacheRoot, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
