import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describeError, OomlabError } from '../../0-model/errors.ts';
import { hostDebianMirror } from './apt-mirror.ts';
import { groupStopper } from '../process-group.ts';
import type { Engine } from './engine.ts';
import type { ImageResolution, ResolveOptions } from '../runtime.ts';
import { buildStepTeller, secondsLeft, stepBegunBy, type BuildStep } from './image-build-steps.ts';
import { checkImage } from './image-check.ts';
import { ownerAlive } from './labels.ts';
import { importRootfs, splitName } from './image-import.ts';
import { DOCKER_DIR, LABEL_RECIPE, LABEL_RECIPE_HASH, OFFLINE_RECIPES, recipeHash, type OfflineRecipe } from './image-recipes.ts';

export * from './image-recipes.ts';
export { checkImage, type ImageCheckResult } from './image-check.ts';
export { importRootfs, type ImportResult } from './image-import.ts';

export async function imageExists(engine: Engine, name: string): Promise<boolean> {
  try {
    await engine.api.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

/** An offline image as found on the engine: usable only when `good`. */
export type OfflineImageState =
  | { state: 'good'; imageId: string; recipeHash: string }
  | { state: 'missing' }
  | { state: 'stale'; imageId: string; why: string }
  | { state: 'broken'; imageId: string; missing: string[] };

/** Good means: labelled with the hash of today's docker/<recipe>/, and its checks pass in a container. */
export async function offlineImageState(engine: Engine, name: string, recipe = OFFLINE_RECIPES[name], dockerDir = DOCKER_DIR): Promise<OfflineImageState> {
  if (!recipe) throw new OomlabError('IMAGE_MISSING', `no offline recipe for ${name}; recipes: ${Object.keys(OFFLINE_RECIPES).join(', ')}`);
  let info: Awaited<ReturnType<ReturnType<Engine['api']['getImage']>['inspect']>>;
  try {
    info = await engine.api.getImage(name).inspect();
  } catch {
    return { state: 'missing' };
  }
  const wanted = await recipeHash(recipe.recipe, dockerDir);
  const labelled = info.Config?.Labels?.[LABEL_RECIPE_HASH];
  if (labelled !== wanted) {
    return {
      state: 'stale',
      imageId: info.Id,
      why: labelled ? `built from docker/${recipe.recipe}/ at ${labelled}, which is now ${wanted}` : `no ${LABEL_RECIPE_HASH} label (built before images were labelled)`,
    };
  }
  const check = await checkImage(engine, name, recipe.checks);
  if (!check.ok) return { state: 'broken', imageId: info.Id, missing: check.missing };
  return { state: 'good', imageId: info.Id, recipeHash: wanted };
}

/**
 * local (checked, for offline recipes) → offline recipe from docker/ → pull (when allowed) → unavailable with the way to get it.
 * `early`: this image's build.sh, started before the engine answered (image-early.ts); taken up, or stopped when the image is good.
 */
export async function resolveImage(engine: Engine, name: string, options: ResolveOptions = {}, early?: RootfsBuild): Promise<ImageResolution> {
  if (OFFLINE_RECIPES[name]) {
    const found = await offlineImageState(engine, name);
    if (found.state === 'good') {
      if (early) {
        early.stop();
        await early.ended;
        await early.dispose();
      }
      return { name, available: true, source: 'local' };
    }
    const why = found.state === 'missing' ? 'not built yet' : found.state === 'stale' ? `stale: ${found.why}` : `broken: missing ${found.missing.join(', ')}`;
    options.onProgress?.(`image ${name} ${why} — ${early ? 'its build began while the engine started' : found.state === 'missing' ? 'building it' : 'rebuilding it'}`);
    const built = await buildOfflineImage(engine, name, options, early);
    return { name, available: true, source: 'built', builtInMs: built.durationMs };
  }
  if (await imageExists(engine, name)) return { name, available: true, source: 'local' };
  if (options.pull) {
    try {
      options.onProgress?.(`pulling ${name}`);
      await pullImage(engine, name);
      return { name, available: true, source: 'pulled' };
    } catch (error) {
      return {
        name,
        available: false,
        reason: `image ${name} is not here and the pull failed (${String(error).split('\n')[0]}) — \`docker pull ${name}\` and \`docker save\` it on a host with registry access, then \`oomlab images load\` it here`,
      };
    }
  }
  return { name, available: false, reason: imageMissingReason(name) };
}

/** The pid that built an image: an unchecked candidate whose builder is gone was left by a killed build. */
const LABEL_BUILDER_PID = 'oomlab.builder-pid';
const UNCHECKED_TAG = /-unchecked-[0-9a-f]{6}$/;

/** Removes unchecked candidates of builds that were killed before their own cleanup ran (`oomlab clean`). */
export async function removeAbandonedBuilds(engine: Engine): Promise<string[]> {
  const removed: string[] = [];
  for (const image of await engine.api.listImages({ filters: { label: [LABEL_BUILDER_PID] } })) {
    const builder = Number(image.Labels?.[LABEL_BUILDER_PID]);
    const alive = builder !== process.pid && ownerAlive(builder);
    if (alive) continue;
    for (const tag of (image.RepoTags ?? []).filter((t) => UNCHECKED_TAG.test(t))) {
      await engine.api
        .getImage(tag)
        .remove({ force: true })
        .then(
          () => removed.push(tag),
          () => {},
        );
    }
  }
  return removed;
}

/** The one wording of a missing image, shared by run reports and `oomlab doctor`. */
export function imageMissingReason(name: string): string {
  return `image ${name} is not here and no registry is used — \`oomlab images load FILE\` a \`docker save\` of it, or \`docker pull ${name}\` where a registry is reachable, or rerun with --pull`;
}

async function pullImage(engine: Engine, name: string): Promise<void> {
  const stream = await engine.streams.pull(name);
  await new Promise<void>((resolvePull, reject) => engine.streams.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolvePull())));
}

export interface BuildOptions extends ResolveOptions {
  /** Build under this name instead of the recipe's own (a throwaway tag proves a cold build). */
  as?: string;
  /** Debian archive for debootstrap. @default the one the host's apt sources name */
  mirror?: string;
  /** Where recipes live. @default the project's docker/ */
  dockerDir?: string;
}

export interface BuildResult {
  name: string;
  imageId: string;
  recipeHash: string;
  durationMs: number;
  logFile: string;
}

/**
 * Builds an offline image: the recipe's build.sh fills a root filesystem from Debian packages, which
 * is imported under a temporary tag, checked in a container, and only then tagged. A build that
 * fails its check is removed and ends with what was missing and where the log is.
 */
export async function buildOfflineImage(engine: Engine, name: string, options: BuildOptions = {}, started?: RootfsBuild): Promise<BuildResult> {
  const recipe = OFFLINE_RECIPES[name];
  if (!recipe) throw new OomlabError('IMAGE_BUILD_FAILED', `no offline recipe for ${name}; recipes: ${Object.keys(OFFLINE_RECIPES).join(', ')}`);
  return buildImageFromRecipe(engine, options.as ?? name, recipe, options, started);
}

/**
 * A recipe's build.sh filling a root filesystem from Debian packages: it needs no engine, so a run starts
 * it beside the engine's own start (image-early.ts); `buildImageFromRecipe` imports what it filled.
 */
export interface RootfsBuild {
  target: string;
  recipe: OfflineRecipe;
  hash: string;
  rootfs: string;
  logFile: string;
  startedMs: number;
  /** Ends when build.sh does; never rejects. */
  ended: Promise<{ ok: true } | { ok: false; cancelled: boolean; what: string }>;
  note(text: string): void;
  tell(step: BuildStep): void;
  /** Stops build.sh and everything it started (debootstrap, dpkg in the chroot). */
  stop(): void;
  /** Removes the root filesystem and closes the log; after `ended`. */
  dispose(): Promise<void>;
}

/** Starts build.sh of `recipe` into a fresh temporary root filesystem; progress and the log as a build has them. */
export async function startRootfsBuild(target: string, recipe: OfflineRecipe, options: BuildOptions = {}): Promise<RootfsBuild> {
  const dockerDir = options.dockerDir ?? DOCKER_DIR;
  const startedMs = Date.now();
  const hash = await recipeHash(recipe.recipe, dockerDir);
  const logFile = join(tmpdir(), `oomlab-build-${recipe.recipe}-${new Date(startedMs).toISOString().replace(/[:.]/g, '-')}.log`);
  const log = createWriteStream(logFile);
  const note = (text: string) => log.write(`# ${new Date().toISOString()} ${text}\n`);
  const mirror = options.mirror ?? (await hostDebianMirror());
  const rootfs = await mkdtemp(join(tmpdir(), 'oomlab-rootfs-'));
  const say = options.onProgress ?? (() => {});
  const tell = buildStepTeller(
    target,
    (line) => {
      note(line);
      say(line);
    },
    startedMs,
  );
  say(`building ${target} offline from Debian packages (about ${secondsLeft(0, 0)} s here, once): ${recipe.description}; log ${logFile}`);
  note(`build.sh ${rootfs} (recipe hash ${hash}, mirror from the host's apt sources)`);
  tell(0);
  // Its own process group: stopping the build stops debootstrap and the chroot's dpkg with it.
  const build = execa('bash', [join(dockerDir, recipe.recipe, 'build.sh'), rootfs, mirror], { all: true, buffer: false, reject: false, timeout: 900_000, detached: true });
  const stopper = groupStopper(build);
  const stop = stopper.stop;
  options.signal?.addEventListener('abort', stop, { once: true });
  build.all.pipe(log, { end: false });
  createInterface({ input: build.all, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
    const step = stepBegunBy(line);
    if (step !== undefined) tell(step);
  });
  const ended = build.then((result): Awaited<RootfsBuild['ended']> => {
    options.signal?.removeEventListener('abort', stop);
    if (stopper.stopped || options.signal?.aborted) return { ok: false, cancelled: true, what: 'cancelled' };
    if (result.failed)
      return {
        ok: false,
        cancelled: false,
        what: `build.sh exit ${result.exitCode ?? result.signal}${result.timedOut ? ' (timed out after 900000ms)' : ''}; it needs root, debootstrap and the host's Debian mirror`,
      };
    return { ok: true };
  });
  return {
    target,
    recipe,
    hash,
    rootfs,
    logFile,
    startedMs,
    ended,
    note,
    tell,
    stop,
    async dispose() {
      // --one-file-system: a build cut short can leave the chroot's /proc mounted inside the rootfs.
      await execa('rm', ['-rf', '--one-file-system', rootfs], { reject: false, timeout: 120_000 });
      await new Promise<void>((done) => log.end(done));
    },
  };
}

/** The build of one recipe folder under `target`: build.sh (or the one already `started`), import under a temporary tag, check, tag. */
export async function buildImageFromRecipe(engine: Engine, target: string, recipe: OfflineRecipe, options: BuildOptions = {}, started?: RootfsBuild): Promise<BuildResult> {
  const build = started ?? (await startRootfsBuild(target, recipe, options));
  const { hash, logFile, rootfs } = build;
  const failed = (what: string, cause?: unknown) =>
    new OomlabError('IMAGE_BUILD_FAILED', `building ${target} from docker/${recipe.recipe}/ failed: ${what} — build log: ${logFile}`, cause ? { cause } : undefined);
  const [repo, tag] = splitName(target);
  const candidate = `${repo}:${tag}-unchecked-${randomBytes(3).toString('hex')}`;
  try {
    const built = await build.ended;
    if (!built.ok && built.cancelled) throw new OomlabError('CANCELLED', `building ${target} was cancelled`);
    if (!built.ok) throw failed(built.what);
    build.tell(3);
    build.note(`importing as ${candidate}`);
    const imported = await importRootfs(engine, rootfs, {
      name: candidate,
      changes: [...recipe.changes, `LABEL ${LABEL_RECIPE}=${recipe.recipe}`, `LABEL ${LABEL_RECIPE_HASH}=${hash}`, `LABEL ${LABEL_BUILDER_PID}=${process.pid}`],
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch((error: unknown) => {
      throw error instanceof OomlabError && error.code === 'CANCELLED' ? error : failed(describeError(error), error);
    });
    build.note(`imported ${imported.imageId} from ${imported.tarBytes} tar bytes`);
    build.tell(4);
    const check = await checkImage(engine, candidate, recipe.checks);
    build.note(check.output.trimEnd());
    if (!check.ok) throw failed(`the built image lacks ${check.missing.join(', ')}`);
    const previous = await engine.api
      .getImage(target)
      .inspect()
      .then(
        (i) => i.Id,
        () => undefined,
      );
    await engine.api.getImage(candidate).tag({ repo, tag });
    await engine.api.getImage(candidate).remove();
    // The stale or broken image the new one replaces; one still in use by a container stays.
    if (previous && previous !== imported.imageId)
      await engine.api
        .getImage(previous)
        .remove()
        .catch(() => {});
    const durationMs = Date.now() - build.startedMs;
    build.note(`tagged ${target} in ${durationMs}ms`);
    options.onProgress?.(`built ${target} in ${Math.round(durationMs / 1000)}s (checked: ${recipe.checks.map((c) => c.what).join('; ')})`);
    return { name: target, imageId: imported.imageId, recipeHash: hash, durationMs, logFile };
  } finally {
    build.stop();
    await build.ended;
    await engine.api
      .getImage(candidate)
      .remove({ force: true })
      .catch(() => {});
    await build.dispose();
  }
}
