// Images in the guest without copying them at every boot: a qcow2 overlay of the guest's disk, filled once by a
// boot that loads the images (docker save here → load there) and syncs, named by the images' ids. Later boots
// start from it with a throw-away snapshot, as from the bare disk. Under TCG loading MariaDB's 443 MB took 267 s.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describeError, OomlabError } from '../../0-model/errors.ts';
import { onPath } from '../../0-model/host.ts';
import { engineClients, type Engine } from '../docker/engine.ts';
import { ownerAlive } from '../docker/labels.ts';
import { bootLabGuest, type LabGuest } from './guest.ts';
import { LAB_SHAPES, type LabAccel } from './shape.ts';
import { LAB_SEED_IMAGE } from './vm.ts';

/** Image disks kept per guest: each holds its images unpacked (about 1 GB for MariaDB). */
const KEEP_IMAGE_DISKS = 3;

export function imageDiskPath(guest: Pick<LabGuest, 'dir' | 'recipeHash'>, imageIds: readonly string[]): string {
  const key = createHash('sha256')
    .update([guest.recipeHash, ...[...imageIds].sort()].join('\n'))
    .digest('hex')
    .slice(0, 16);
  return join(guest.dir, `images-${key}.qcow2`);
}

/** Whether image disks can be made here: qemu-img (Debian's qemu-utils) creates the overlay. */
export function canMakeImageDisks(): Promise<boolean> {
  return onPath('qemu-img');
}

export interface FillImageDiskOptions {
  guest: LabGuest;
  accel: LabAccel;
  /** The images to load, by name, with their id on this host's engine. */
  images: readonly { name: string; id: string }[];
  /** This host's engine, which holds the images. */
  host: Engine;
  /** Copies one image from this host's engine into the guest's; returns how long it took. */
  copy: (host: Engine, guest: Engine, name: string) => Promise<number>;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

/** Boots the guest writing a new overlay, loads the images, syncs, stops, and only then names the overlay. */
export async function fillImageDisk(options: FillImageDiskOptions): Promise<{ path: string; copiedInMs: Map<string, number> }> {
  const path = imageDiskPath(
    options.guest,
    options.images.map((image) => image.id),
  );
  const candidate = path.replace(/\.qcow2$/, `.building-${process.pid}.qcow2`);
  const copiedInMs = new Map<string, number>();
  // Half-filled disks of fillers that died.
  for (const name of await readdir(options.guest.dir)) {
    const filler = Number(/^images-[0-9a-f]{16}\.building-(\d+)\.qcow2$/.exec(name)?.[1]);
    if (filler && filler !== process.pid && !ownerAlive(filler)) await rm(join(options.guest.dir, name), { force: true });
  }
  try {
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', options.guest.disk, candidate], { timeout: 30_000 });
    {
      await using vm = await bootLabGuest(options.guest, {
        runId: `image-disk-${process.pid}`,
        shape: LAB_SHAPES.default,
        disk: candidate,
        accel: options.accel,
        writable: true,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const port = Number(vm.dockerHost.split(':').at(-1));
      const guest = engineClients({ host: '127.0.0.1', port, protocol: 'http' }, vm.dockerHost);
      for (const { name } of options.images) {
        options.onProgress?.(`loading ${name} into the lab's image disk (docker save here → load there), once per image set`);
        copiedInMs.set(name, await options.copy(options.host, guest, name));
        options.onProgress?.(`loaded ${name} in ${((copiedInMs.get(name) ?? 0) / 1000).toFixed(1)}s`);
      }
      // sync(2) is not namespaced: any container flushes the guest's page cache to the overlay before qemu stops.
      const syncer = await guest.api.createContainer({ Image: LAB_SEED_IMAGE, Cmd: ['busybox', 'sync'] });
      try {
        await syncer.start();
        await guest.streams.getContainer(syncer.id).wait();
      } finally {
        await syncer.remove({ force: true }).catch(() => {});
      }
      const info = await guest.api.info();
      if (!(info as { Images?: number }).Images) throw new Error('the guest engine lists no image after loading');
    }
    await rename(candidate, path);
  } catch (error) {
    await rm(candidate, { force: true });
    if (error instanceof OomlabError) throw error;
    throw new OomlabError('IMAGE_LOAD_FAILED', `filling the lab's image disk failed: ${describeError(error).split('\n')[0]}`, { cause: error });
  }
  await pruneImageDisks(options.guest.dir);
  return { path, copiedInMs };
}

/** The newest image disks stay; older ones go (a running VM keeps its open file). */
async function pruneImageDisks(dir: string): Promise<void> {
  const disks = (await readdir(dir)).filter((name) => /^images-[0-9a-f]{16}\.qcow2$/.test(name));
  const dated = await Promise.all(disks.map(async (name) => ({ name, mtimeMs: (await stat(join(dir, name))).mtimeMs })));
  for (const { name } of dated.sort((a, b) => b.mtimeMs - a.mtimeMs).slice(KEEP_IMAGE_DISKS)) await rm(join(dir, name), { force: true });
}

/** The image disk for these images, when one was filled. */
export function foundImageDisk(guest: Pick<LabGuest, 'dir' | 'recipeHash'>, imageIds: readonly string[]): string | undefined {
  const path = imageDiskPath(guest, imageIds);
  return existsSync(path) ? path : undefined;
}
