// The lab guest, built once like the offline images: lab/guest/build.sh makes a kernel, its initramfs
// and a disk image from Debian packages; one boot checks it (engine and agent answer); only then is its
// folder labelled with the recipe hash. A guest whose recipe changed is stale and rebuilt.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { CancelledError, describeError, OomlabError } from '../../0-model/errors.ts';
import { hostDebianMirror } from '../docker/apt-mirror.ts';
import { PROJECT_ROOT, recipeHash } from '../docker/image-recipes.ts';
import { ownerAlive } from '../docker/labels.ts';
import { chooseAccel, type AccelDecision } from './accel.ts';
import { LAB_SHAPES, type LabShape } from './shape.ts';
import { bootLab, ensureQemu, type LabGuestFiles } from './vm.ts';

/** The recipe folders: lab/guest/ (build.sh and the files it installs) is the guest's recipe. */
export const LAB_DIR = join(PROJECT_ROOT, 'lab');
const GUEST_RECIPE = 'guest';

export function labCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.OOMLAB_LAB_CACHE ?? '/var/cache/oomlab/lab';
}

export type LabRelease = LabShape['release'];

/** A checked guest: the files a boot needs and what it was built from. */
export interface LabGuest extends LabGuestFiles {
  dir: string;
  release: LabRelease;
  recipeHash: string;
  kernelRelease: string;
}

/** The label written once a guest passed its check boot. */
interface GuestLabel {
  recipeHash: string;
  release: LabRelease;
  kernelRelease: string;
  builtAt: string;
  buildMs: number;
  checkBootMs: number;
  checkAccel: string;
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
    return { state: 'good', guest: { ...files, dir, release, recipeHash: hash, kernelRelease: label.kernelRelease } };
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
  built?: { buildMs: number; checkBootMs: number; logFile: string };
}

/** The checked guest: found in the cache, else built (and checked) now. */
export async function ensureLabGuest(options: EnsureGuestOptions = {}): Promise<EnsuredGuest> {
  const release = options.release ?? 'bookworm';
  const found = await labGuestState(release, options.cacheRoot);
  if (found.state === 'good') return { guest: found.guest };
  options.onProgress?.(`lab guest (${release}) ${found.state === 'missing' ? 'not built yet' : `stale: ${found.why}`} — building it (about 4 minutes, once)`);
  return buildLabGuest(options);
}

/** The accel decision for this host, probed with the guest's own kernel and kept in the lab cache. */
export function labAccel(guest: Pick<LabGuest, 'kernel' | 'kernelRelease'>, cacheRoot = labCacheRoot()): Promise<AccelDecision> {
  return chooseAccel(guest, join(cacheRoot, 'accel.json'));
}

/** Runs build.sh into a candidate folder, boots it once, and labels and renames it only when it answered. */
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
  try {
    note(`build.sh ${candidate} (recipe hash ${hash}, mirror from the host's apt sources)`);
    options.onProgress?.(`building the lab guest: log ${logFile}`);
    const build = execa('bash', [join(LAB_DIR, GUEST_RECIPE, 'build.sh'), candidate, mirror, release], {
      all: true,
      buffer: false,
      reject: false,
      timeout: 1_200_000,
      ...(options.signal ? { cancelSignal: options.signal } : {}),
    });
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
    const result = await build.finally(() => clearInterval(heartbeat));
    if (result.isCanceled) throw new CancelledError('the lab guest build was stopped');
    if (result.failed)
      throw failed(`build.sh exit ${result.exitCode ?? result.signal}${result.timedOut ? ' (timed out after 1200000ms)' : ''} at "${step}"; it needs root, debootstrap and the host's Debian mirror`);
    const buildMs = Math.round(performance.now() - started);
    const kernelRelease = (await readFile(join(candidate, 'kernel-release'), 'utf8')).trim();
    const files = guestFiles(candidate);
    const accel = await labAccel({ kernel: files.kernel, kernelRelease }, cacheRoot);
    options.onProgress?.(`lab guest built in ${Math.round(buildMs / 1000)}s; checking it with one boot under ${accel.accel} (${accel.why})`);
    note(`check boot under ${accel.accel}: ${accel.why}`);
    let checkBootMs: number;
    try {
      await using vm = await bootLab({
        runId: `guest-check-${process.pid}`,
        shape: LAB_SHAPES.default,
        guest: files,
        accel: accel.accel,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const version = await vm.node.readFile('/proc/version');
      if (!version?.includes(kernelRelease)) throw new Error(`the agent's /proc/version does not name ${kernelRelease}: ${version?.trim() ?? 'none'}`);
      checkBootMs = vm.bootMs;
    } catch (error) {
      if (error instanceof OomlabError && error.code === 'CANCELLED') throw error;
      throw failed(`its check boot failed: ${describeError(error)}`, error);
    }
    note(`checked: engine and agent answered after ${checkBootMs}ms`);
    const label: GuestLabel = { recipeHash: hash, release, kernelRelease, builtAt: new Date().toISOString(), buildMs, checkBootMs, checkAccel: accel.accel };
    await writeFile(join(candidate, 'label.json'), `${JSON.stringify(label, null, 2)}\n`);
    const dir = join(cacheRoot, `${release}-${hash}`);
    await rm(dir, { recursive: true, force: true });
    await rename(candidate, dir);
    // Older guests of this release are stale now: each is several hundred megabytes.
    for (const name of await readdir(cacheRoot)) {
      if (name.startsWith(`${release}-`) && name !== `${release}-${hash}` && !name.includes('.building-')) await rm(join(cacheRoot, name), { recursive: true, force: true });
    }
    return { guest: { ...guestFiles(dir), dir, release, recipeHash: hash, kernelRelease }, built: { buildMs, checkBootMs, logFile } };
  } finally {
    await rm(candidate, { recursive: true, force: true });
    log.end();
  }
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
