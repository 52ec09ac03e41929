import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

/** The host's own binaries, with the libraries ldd names, so a rootfs can run them without any image. */
export async function copyHostBinaries(rootfs: string, binaries: readonly string[]): Promise<void> {
  const wanted = new Set<string>();
  for (const binary of binaries) {
    const path = (await execa('sh', ['-c', 'command -v "$1"', 'sh', binary])).stdout.trim();
    wanted.add(path);
    const ldd = await execa('ldd', [path], { reject: false });
    for (const match of ldd.stdout.matchAll(/(\/\S+) \(0x/g)) wanted.add(match[1]!);
  }
  for (const file of wanted) {
    await mkdir(join(rootfs, dirname(file)), { recursive: true });
    await copyFile(file, join(rootfs, file));
    await chmod(join(rootfs, file), 0o755);
  }
  // The image runs /bin/sh whatever the host calls it (merged /usr or not).
  const sh = (await execa('sh', ['-c', 'command -v sh'])).stdout.trim();
  if (sh !== '/bin/sh') {
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await symlink(sh, join(rootfs, 'bin/sh'));
  }
}

/** Sizes around every block edge tar and a pipe have: 512-byte records, 10 KiB blocks, 64 KiB pipe buffers. */
export const SYNTHETIC_SIZES = [0, 1, 511, 512, 513, 10_239, 10_240, 10_241, 65_535, 65_536, 65_537, 200_000, 1_048_583];

export interface SyntheticRootfs {
  files: number;
  bytes: number;
  /** Path of the sha256sum manifest inside the rootfs, relative to /. */
  manifest: string;
}

/**
 * A root filesystem of random bytes in files of many sizes (a few MiB), plus sh and sha256sum
 * from the host, and a manifest that `sha256sum -c` checks inside a container of the imported image.
 */
export async function writeSyntheticRootfs(rootfs: string): Promise<SyntheticRootfs> {
  await copyHostBinaries(rootfs, ['sh', 'sha256sum']);
  const lines: string[] = [];
  let bytes = 0;
  // Many small files first: tar's first output comes at once, where a hand-over race drops it.
  for (let dir = 0; dir < 40; dir++) {
    for (const size of dir === 0 ? SYNTHETIC_SIZES : SYNTHETIC_SIZES.slice(0, 9)) {
      const path = `data/d${dir}/f${size}`;
      const content = randomBytes(size);
      await mkdir(join(rootfs, dirname(path)), { recursive: true });
      await writeFile(join(rootfs, path), content);
      lines.push(`${createHash('sha256').update(content).digest('hex')}  /${path}`);
      bytes += size;
    }
  }
  const manifest = 'manifest.sha256';
  await writeFile(join(rootfs, manifest), `${lines.join('\n')}\n`);
  return { files: lines.length, bytes, manifest };
}
