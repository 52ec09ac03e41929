import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_STEPS, buildStepTeller, secondsLeft, stepBegunBy } from '../../src/3-runtime/docker/image-build-steps.ts';
import { storedImageNames } from '../../src/3-runtime/docker/image-early.ts';

describe('an offline build, told step by step', () => {
  it('finds the steps in debootstrap output', () => {
    expect(stepBegunBy('I: Retrieving InRelease ')).toBeUndefined();
    expect(stepBegunBy('I: Extracting adduser...')).toBe(1);
    expect(stepBegunBy('I: Base system installed successfully.')).toBe(2);
  });

  it('says how long is left: the typical rest at first, then scaled by how the build has gone', () => {
    const total = BUILD_STEPS.reduce((s, x) => s + x.typicalS, 0);
    expect(secondsLeft(0, 0)).toBe(Math.round(total / 5) * 5);
    const rest = BUILD_STEPS.slice(2).reduce((s, x) => s + x.typicalS, 0);
    const typicalBefore = BUILD_STEPS[0].typicalS + BUILD_STEPS[1].typicalS;
    // Twice as slow as typical so far: twice the typical rest.
    expect(secondsLeft(2, typicalBefore * 2_000)).toBe(Math.round((rest * 2) / 5) * 5);
    // Never less than a second, never scaled past 3×.
    expect(secondsLeft(4, 1_000_000)).toBe(BUILD_STEPS[4].typicalS * 3);
  });

  it('tells each step once, in order, with its number', () => {
    const lines: string[] = [];
    let now = 0;
    const tell = buildStepTeller(
      'oomlab/mariadb:10.11',
      (line) => lines.push(line),
      0,
      () => now,
    );
    tell(0);
    now = 18_000;
    tell(1);
    tell(1);
    tell(0);
    now = 54_000;
    tell(3);
    expect(lines).toEqual([
      `building oomlab/mariadb:10.11, step 1 of 5 (downloading the Debian packages), about ${secondsLeft(0, 0)} s left`,
      `building oomlab/mariadb:10.11, step 2 of 5 (installing the packages), about ${secondsLeft(1, 18_000)} s left`,
      `building oomlab/mariadb:10.11, step 4 of 5 (importing the root filesystem into the engine), about ${secondsLeft(3, 54_000)} s left`,
    ]);
  });
});

describe("a stopped engine's image store", () => {
  it('lists the repo:tag names of every storage driver, and nothing where there is no store', async () => {
    const root = await mkdtemp(join(tmpdir(), 'oomlab-store-'));
    try {
      expect(await storedImageNames(join(root, 'none'))).toEqual(new Set());
      await mkdir(join(root, 'image', 'overlay2'), { recursive: true });
      await writeFile(
        join(root, 'image', 'overlay2', 'repositories.json'),
        JSON.stringify({ Repositories: { 'oomlab/mariadb': { 'oomlab/mariadb:10.11': 'sha256:35', 'oomlab/mariadb@sha256:aa': 'sha256:35' }, mysql: { 'mysql:5.7': 'sha256:11' } } }),
      );
      await mkdir(join(root, 'image', 'vfs'), { recursive: true });
      await writeFile(join(root, 'image', 'vfs', 'repositories.json'), 'not json');
      expect([...(await storedImageNames(root))].sort()).toEqual(['mysql:5.7', 'oomlab/mariadb:10.11', 'oomlab/mariadb@sha256:aa']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
