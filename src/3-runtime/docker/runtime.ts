// Docker behind the seam: every member of `Runtime` and `RuntimeConnection` delegates to a file of this folder.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { ConnectOptions, NodeAccess, NodeSettings, Runtime, RuntimeConnection } from '../runtime.ts';
import { cleanLeftovers, removeRunContainers } from './cleanup.ts';
import { connectEngine, engineAnswers, engineStartsHere, watchEngine, type Engine } from './engine.ts';
import { NO_EARLY_BUILDS, startEarlyBuilds, type EarlyBuilds } from './image-early.ts';
import { watchRunEvents } from './events.ts';
import { applyFault } from './faults/index.ts';
import { acquireHostLease } from './host-lease.ts';
import { restoreAbandonedHostSettings, switchHostSetting, THP_ENABLED_PATH, thpUnswitchableReason } from './host-switches.ts';
import { archiveSize } from './image-archive.ts';
import { dockerImages } from './image-store.ts';
import { removeAbandonedBuilds, resolveImage } from './images.ts';
import { startInstance } from './instance.ts';
import { createSideBudget, leftoverSideCgroups, removeSideCgroup } from './side-budget.ts';
import { surveyDocker } from './survey.ts';

/** Docker's node is this host. */
const localNode: NodeAccess = {
  readFile: (path) => readFile(path, 'utf8').catch(() => undefined),
  kernelLog: async (signal) => (await execa('dmesg', [], { timeout: 5_000, ...(signal ? { cancelSignal: signal } : {}) })).stdout,
};

const localSettings: NodeSettings = {
  thpUnswitchableReason: () => thpUnswitchableReason(),
  switchThp: (mode) => switchHostSetting(THP_ENABLED_PATH, mode),
  restoreAbandoned: (options) => restoreAbandonedHostSettings(options),
  acquireLease: (options) => acquireHostLease(options),
};

/** Docker's connection around a connected engine; nothing is called until a method is. `early`: image builds begun while it started. */
export function dockerConnection(engine: Engine, early: EarlyBuilds = NO_EARLY_BUILDS): RuntimeConnection {
  return {
    where: engine.where,
    answers: engineAnswers,
    watch: (onLost) => watchEngine(engine, onLost),
    resolveImage: (name, options) => resolveImage(engine, name, options, early.take(name)),
    startInstance: (spec, context) => startInstance(spec, { ...context, engine }),
    watchRunEvents: (runId, onEvent) => watchRunEvents(engine, runId, onEvent),
    removeRun: (runId) => removeRunContainers(engine, runId),
    async clean(options) {
      const containers = await cleanLeftovers(engine, options);
      const images = await removeAbandonedBuilds(engine);
      // A side cgroup can only be removed once empty, so live runs' budgets stay (rmdir refuses them).
      const sideCgroups: string[] = [];
      for (const name of await leftoverSideCgroups()) {
        await removeSideCgroup(name).then(
          () => sideCgroups.push(name),
          () => {},
        );
      }
      return { ...containers, images, sideCgroups };
    },
    createSideBudget,
    applyFault: (action, target) => applyFault(action, { ...target, engine }),
    images: dockerImages(engine),
    node: localNode,
    nodeSettings: localSettings,
  };
}

/**
 * Connects, starting the engine when none answers; meanwhile the offline images the run will ask for and
 * the stopped engine does not hold start building (build.sh needs no engine), so the two overlap.
 */
async function connectDocker(options: ConnectOptions = {}): Promise<RuntimeConnection> {
  if (!options.images?.length || (await engineAnswers()) || !engineStartsHere(options)) return dockerConnection(await connectEngine(options));
  const images = options.images;
  let early = NO_EARLY_BUILDS;
  const beforeStart = async () => {
    early = await startEarlyBuilds(images, { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  };
  try {
    return dockerConnection(await connectEngine(options, { beforeStart }), early);
  } catch (error) {
    await early.dispose();
    throw error;
  }
}

/** The Docker engine through dockerode: the only runtime today, and the behaviour of every run so far. */
export const dockerRuntime = {
  name: 'docker',
  answers: engineAnswers,
  connect: connectDocker,
  survey: surveyDocker,
  checkArchive: archiveSize,
  nodeSettings: localSettings,
} satisfies Runtime as Runtime;
