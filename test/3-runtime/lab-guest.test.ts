import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ensureLabGuest, labGuestState, labRecipeHash } from '../../src/3-runtime/lab/index.ts';

/** A guest folder as buildLabGuest leaves it: the three files and a label, checked or not. */
async function guestFolder(dir: string, hash: string, checked: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of ['vmlinuz', 'initrd.img', 'disk.img']) await writeFile(join(dir, file), '');
  const label = { recipeHash: hash, release: 'bookworm', kernelRelease: '6.1.0-test-amd64', builtAt: '2026-12-07T03:00:00.000Z', buildMs: 1 };
  await writeFile(join(dir, 'label.json'), JSON.stringify(checked ? { ...label, checkBootMs: 50_000, checkAccel: 'tcg', checkedAt: '2026-12-07T03:05:00.000Z' } : label));
}

describe('the lab guest in its cache', () => {
  it('is good once built, and says whether a boot has checked it yet', async () => {
    const root = await mkdtemp(join(tmpdir(), 'oomlab-lab-guest-'));
    const hash = await labRecipeHash();
    await guestFolder(join(root, `bookworm-${hash}`), hash, false);
    expect(await labGuestState('bookworm', root)).toMatchObject({ state: 'good', guest: { checked: false, kernelRelease: '6.1.0-test-amd64' } });
    await guestFolder(join(root, `bookworm-${hash}`), hash, true);
    expect(await labGuestState('bookworm', root)).toMatchObject({ state: 'good', guest: { checked: true } });
    await rm(root, { recursive: true, force: true });
  });

  it('waits for the build another live process has under way instead of starting a second one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'oomlab-lab-guest-'));
    const hash = await labRecipeHash();
    // A live builder: a process of ours whose pid names the candidate folder, as buildLabGuest names it.
    const builder = spawn('sleep', ['30']);
    const candidate = join(root, `bookworm-${hash}.building-${builder.pid}`);
    await mkdir(candidate);
    const said: string[] = [];
    const ensured = ensureLabGuest({ cacheRoot: root, onProgress: (text) => said.push(text) });
    await sleep(1_500);
    await guestFolder(candidate, hash, false);
    await rename(candidate, join(root, `bookworm-${hash}`));
    const { guest, built } = await ensured;
    builder.kill();
    expect(built).toBeUndefined();
    expect(guest).toMatchObject({ dir: join(root, `bookworm-${hash}`), checked: false });
    expect(said).toEqual([`lab guest (bookworm) is being built by process ${builder.pid} — waiting for it`]);
    expect(JSON.parse(await readFile(join(guest.dir, 'label.json'), 'utf8')).checkedAt).toBeUndefined();
    await rm(root, { recursive: true, force: true });
  });
});
