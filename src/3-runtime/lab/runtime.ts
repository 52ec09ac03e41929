// The lab VM behind the seam: one boot per run serves its configurations, and Docker's implementation drives
// the guest's engine through its forwarded TCP socket. Images come from this host's engine (docker save → load),
// never from a registry; files and the kernel log come through the guest's agent.
import { randomBytes } from 'node:crypto';
import { describeError, EngineLostError, FaultFailedError, OomlabError } from '../../0-model/errors.ts';
import type { LabHostFacts } from '../../0-model/host.ts';
import type { HostLease, NodeSettings, Runtime, RuntimeConnection } from '../runtime.ts';
import { archiveSize, parseLoadResponse } from '../docker/image-archive.ts';
import { connectEngine, engineAnswersAt, engineClients, watchEngine, type Engine } from '../docker/engine.ts';
import { imageExists, resolveImage } from '../docker/images.ts';
import { dockerConnection } from '../docker/runtime.ts';
import { bootLabGuest, ensureLabGuest, labAccel } from './guest.ts';
import { canMakeImageDisks, fillImageDisk, foundImageDisk } from './image-disk.ts';
import { holdRoom } from './room.ts';
import { labShapeOf } from './shape.ts';
import { labSurvey } from './survey.ts';
import { LAB_SEED_IMAGE, removeAbandonedLabs } from './vm.ts';

/** How much longer a server may take to be ready under TCG: the guest measured 4–10× slower than this host. */
const TCG_TIME_SCALE = 4;

/** How long the guest's engine may not answer before the run counts it lost, at native speed. */
const LAB_ENGINE_LOST_AFTER_MS = 30_000;

/** The guest's ports for servers: above the engine's 2375 and the agent's 9100, below the ephemeral range. */
const FIRST_GUEST_PORT = 13_306;

/** The faults that act only through the engine's API, so they act in the guest as they do here. */
const ENGINE_FAULTS = new Set(['pause', 'unpause', 'kill', 'restart', 'limit', 'neighbour', 'cpu-hog']);

/** A lab's node settings are its shape's, fixed at boot; the VM is the run's own, so there is no lease to share. */
const labSettings: NodeSettings = {
  thpUnswitchableReason: async () => "a lab host's THP is its shape's, set at boot (LabShape.thp)",
  switchThp: async () => {
    throw new OomlabError('LAB_SHAPE_INVALID', "a lab host's THP is set at boot by its shape — pick a shape with that THP mode instead of switching it");
  },
  restoreAbandoned: async () => [],
  acquireLease: async (options): Promise<HostLease> => ({
    holder: { pid: process.pid, runId: options.runId, scenario: options.scenario, since: new Date().toISOString() },
    release: async () => {},
  }),
};

/** Copies an image from this host's engine into the guest's: `docker save` streamed into `docker load`. */
export async function copyImage(host: Engine, guest: Engine, name: string): Promise<number> {
  const started = performance.now();
  let body = '';
  try {
    const archive = (await host.streams.getImage(name).get()) as NodeJS.ReadableStream;
    const response = await guest.streams.loadImage(archive);
    for await (const chunk of response as AsyncIterable<Buffer>) body += chunk.toString('utf8');
  } catch (error) {
    throw new OomlabError('IMAGE_LOAD_FAILED', `copying ${name} into the lab VM failed: ${describeError(error).split('\n')[0]} — is there room on the guest's disk?`, { cause: error });
  }
  const loaded = parseLoadResponse(body);
  if (loaded.error !== undefined) throw new OomlabError('IMAGE_LOAD_FAILED', `the lab VM's engine did not load ${name}: ${loaded.error}`);
  return Math.round(performance.now() - started);
}

/**
 * `--host lab[:SHAPE]`: a Runtime whose `connect` builds the guest if needed, boots it with the shape, and
 * returns Docker's connection to the guest's engine with the lab's node, settings and images; `close` removes the VM.
 */
export function labRuntime(host = 'lab'): Runtime {
  const { name: shapeName, shape } = labShapeOf(host);
  return {
    name: host,
    answers: async () => false,
    async connect(options = {}) {
      const progress = options.onProgress ?? (() => {});
      const { guest } = await ensureLabGuest({ onProgress: progress, ...(options.signal ? { signal: options.signal } : {}) });
      const accel = await labAccel(guest);
      let hostEngine: Promise<Engine> | undefined;
      const hostEngineOnce = () => (hostEngine ??= connectEngine({ onProgress: progress }));
      // The run's images, resolved on this host's engine (built offline when missing), then found on (or loaded
      // once into) an image disk the VM boots from: copying them at every boot costs minutes under TCG.
      let disk = guest.disk;
      const filled = new Map<string, number>();
      // The seed image is in every guest already: a run of it alone needs neither this host's engine nor an image disk.
      const toCopy = (options.images ?? []).filter((name) => name !== LAB_SEED_IMAGE);
      if (toCopy.length > 0 && (await canMakeImageDisks())) {
        const here = await hostEngineOnce();
        const images: { name: string; id: string }[] = [];
        for (const name of toCopy) {
          const found = await resolveImage(here, name, { onProgress: progress, ...(options.signal ? { signal: options.signal } : {}) });
          if (found.available) images.push({ name, id: (await here.api.getImage(name).inspect()).Id });
        }
        const ids = images.map((image) => image.id);
        const existing = images.length > 0 ? foundImageDisk(guest, ids) : undefined;
        if (existing) {
          disk = existing;
          progress(`lab image disk holds ${images.map((image) => image.name).join(', ')}`);
        } else if (images.length > 0) {
          const made = await fillImageDisk({ guest, accel: accel.accel, images, host: here, copy: copyImage, onProgress: progress, ...(options.signal ? { signal: options.signal } : {}) });
          disk = made.path;
          for (const [name, ms] of made.copiedInMs) filled.set(name, ms);
        }
      }
      // A guest built a moment ago is checked by this boot (or by the image disk's).
      const vm = await bootLabGuest(guest, {
        runId: `run-${process.pid}-${randomBytes(3).toString('hex')}`,
        shape,
        disk,
        accel: accel.accel,
        onProgress: progress,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      try {
        progress(`lab VM ${host} answered ${(vm.bootMs / 1000).toFixed(1)}s after qemu started (${accel.accel})`);
        const port = Number(vm.dockerHost.split(':').at(-1));
        // Servers listen on the guest's own network, each on its own port; a forward on 127.0.0.1 here leads to each.
        let nextGuestPort = FIRST_GUEST_PORT;
        const engine = engineClients({ host: '127.0.0.1', port, protocol: 'http' }, `${vm.dockerHost} (lab VM ${host})`, {
          nextPort: () => nextGuestPort++,
          reach: (guestPort) => vm.forward(guestPort),
          node: vm.node,
          timeScale: accel.accel === 'tcg' ? TCG_TIME_SCALE : 1,
        });
        const nrOpen = Number((await vm.node.readFile('/proc/sys/fs/nr_open'))?.trim()) || undefined;
        // What the guest's kernel took, not what was asked: a kernel without the multi-gen LRU has no such file.
        const minTtlMs = shape.minTtlMs !== undefined ? Number((await vm.node.readFile('/sys/kernel/mm/lru_gen/min_ttl_ms'))?.trim()) : undefined;
        if (shape.minTtlMs !== undefined && minTtlMs !== shape.minTtlMs)
          throw new OomlabError(
            'LAB_BOOT_FAILED',
            `the lab guest's /sys/kernel/mm/lru_gen/min_ttl_ms reads ${Number.isNaN(minTtlMs) ? 'nothing' : minTtlMs}, not the ${shape.minTtlMs} its shape asked: its kernel lacks the multi-gen LRU — run without min_ttl_ms`,
          );

        const lab: LabHostFacts = {
          host,
          shape: shapeName,
          accel: accel.accel,
          accelWhy: accel.why,
          bootMs: vm.bootMs,
          timeScale: accel.accel === 'tcg' ? TCG_TIME_SCALE : 1,
          vcpus: shape.vcpus,
          memoryMiB: shape.memoryMiB,
          cgroup: shape.cgroup,
          ...(shape.runtimeNofile !== undefined ? { runtimeNofile: shape.runtimeNofile } : {}),
          ...(nrOpen ? { nrOpen } : {}),
          overcommitMemory: shape.overcommitMemory,
          ...(minTtlMs !== undefined ? { minTtlMs } : {}),
          ...(shape.numaNodes ? { numaNodes: shape.numaNodes.map((node) => ({ memoryMiB: node.memoryMiB, cpus: [...node.cpus] })) } : {}),
        };
        const docker = dockerConnection(engine);
        const connection: RuntimeConnection = {
          ...docker,
          answers: () => engineAnswersAt(engine),
          watch(onLost) {
            let stopped = false;
            const once = (error: EngineLostError) => {
              if (stopped) return;
              stopped = true;
              onLost(error);
            };
            // A global OOM in the guest stalls its engine while the kernel reclaims (minikube-5751 in 6000 MiB under TCG: no answer for 10 s before any kill).
            const watcher = watchEngine(engine, once, LAB_ENGINE_LOST_AFTER_MS * (accel.accel === 'tcg' ? TCG_TIME_SCALE : 1));
            // qemu gone is the engine gone, at once rather than after the ping watchdog's 10 s.
            void vm.exited.then(() => once(new EngineLostError('lab', `${engine.where} (qemu exited)`, { inVm: true })));
            return {
              stop() {
                stopped = true;
                watcher.stop();
              },
            };
          },
          async resolveImage(name, resolveOptions = {}) {
            if (await imageExists(engine, name)) {
              const copiedInMs = filled.get(name);
              return copiedInMs !== undefined ? { name, available: true, source: 'copied', copiedInMs } : { name, available: true, source: 'local' };
            }
            // This host's engine holds (or builds) the image; only then is it copied in.
            const here = await hostEngineOnce();
            const found = await resolveImage(here, name, resolveOptions);
            if (!found.available) return found;
            resolveOptions.onProgress?.(`copying ${name} into the lab VM (docker save here → load there)`);
            const copiedInMs = await copyImage(here, engine, name);
            resolveOptions.onProgress?.(`copied ${name} into the lab VM in ${(copiedInMs / 1000).toFixed(1)}s`);
            return { name, available: true, source: 'copied', copiedInMs, ...(found.builtInMs !== undefined ? { builtInMs: found.builtInMs } : {}) };
          },
          async createSideBudget() {
            throw new OomlabError('LAB_SHAPE_INVALID', "a scenario's host.sides budgets are cgroups of this host; a lab host does not have them yet — run it without --host lab");
          },
          async applyFault(action, target) {
            if (!ENGINE_FAULTS.has(action.action)) throw new FaultFailedError(`the \`${action.action}\` step acts on this host's kernel or shell, not on a lab VM's — run it without --host lab`);
            return docker.applyFault(action, target);
          },
          async clean(cleanOptions) {
            const vms = await removeAbandonedLabs(cleanOptions);
            return { removed: [], stuck: [], keptLive: 0, images: [], sideCgroups: vms.map((left) => `lab VM ${left.vmId}`) };
          },
          node: vm.node,
          nodeSettings: labSettings,
          lab,
          // Before any configuration, once the images are in: the room is the machine's shape, the same for production and every fix.
          holdRoom: async (onProgress) => (shape.roomMiB !== undefined ? await holdRoom(vm.node, shape.roomMiB, onProgress) : undefined),
          close: () => vm.stop(),
        };
        return connection;
      } catch (error) {
        await vm.stop();
        throw error;
      }
    },
    async survey() {
      const lines = await labSurvey();
      return { lines, answers: false, images: dockerConnection(engineClients()).images };
    },
    checkArchive: archiveSize,
    nodeSettings: labSettings,
  };
}
