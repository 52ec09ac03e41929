import { mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataRootBinds, dataRootOf, DEFAULT_DATA_ROOT, mountsUnder, shadowedBelowDataRoot } from '../../src/3-runtime/docker/engine-leftovers.ts';
import { parseMountInfo } from '../../src/3-runtime/docker/mount-holders.ts';

// Captured on this project's machine with a container running (see mount-holders.test.ts): dockerd's bind of
// /var/lib/docker over itself is mount 44, and the container's overlay (49) is mounted on it.
const host = parseMountInfo(readFileSync(join(import.meta.dirname, '../fixtures/mountinfo/host-with-container-running.txt'), 'utf8'));
const MERGED = '/var/lib/docker/overlay2/0d895535daf183542f6b604b8d88112dead07a7aeb3e9e4dead324034cb08d5d/merged';

describe("a dead engine's mounts under its data root", () => {
  it('lists what is mounted under the data root, and not the bind of the root itself', () => {
    expect(mountsUnder(host, '/var/lib/docker').map((m) => [m.mountId, m.mountPoint])).toEqual([[49, MERGED]]);
    expect(dataRootBinds(host, '/var/lib/docker').map((m) => m.mountId)).toEqual([44]);
    expect(mountsUnder(host, '/srv/docker')).toEqual([]);
  });

  it('a layer mounted on the topmost bind is within reach', () => {
    expect(shadowedBelowDataRoot(host, '/var/lib/docker', MERGED)).toBe(false);
  });

  it('a layer mounted on the filesystem beneath a bind a later engine made is out of reach', () => {
    // The same host after a new engine bound the data root again (mount 300 over 44): 49 now lies beneath it.
    const rebound = [...host, { ...dataRootBinds(host, '/var/lib/docker')[0]!, mountId: 300, parentId: 44 }];
    expect(shadowedBelowDataRoot(rebound, '/var/lib/docker', MERGED)).toBe(true);
    // With no bind at all, the path reaches whatever is mounted there.
    expect(
      shadowedBelowDataRoot(
        host.filter((m) => m.mountId !== 44),
        '/var/lib/docker',
        MERGED,
      ),
    ).toBe(false);
  });

  it("reads daemon.json's data-root, else Docker's default", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oomlab-daemon-json-'));
    await writeFile(join(dir, 'set.json'), '{ "data-root": "/srv/docker/" }');
    await writeFile(join(dir, 'broken.json'), '{ "data-root": ');
    expect(await dataRootOf(join(dir, 'set.json'))).toBe('/srv/docker');
    expect(await dataRootOf(join(dir, 'broken.json'))).toBe(DEFAULT_DATA_ROOT);
    expect(await dataRootOf(join(dir, 'missing.json'))).toBe(DEFAULT_DATA_ROOT);
  });
});
