import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/9-cli/doctor.ts';
import { FakeRuntime } from '../8-run/fake-runtime.ts';

describe('oomlab doctor, through the seam', () => {
  it("takes the engine's lines, the images' states and THP from the runtime it is given", async () => {
    const { checks } = await runDoctor({ runtime: new FakeRuntime(), scenariosDir: 'scenarios' });
    // The fake engine says nothing of itself: no Docker line comes from anywhere else.
    expect(checks.filter((c) => /docker|registry|port publishing/.test(c.name))).toEqual([]);
    const images = checks.filter((c) => c.name.startsWith('image '));
    expect(images.length).toBeGreaterThan(0);
    expect(images.every((c) => c.status === 'ok' && c.detail === 'present')).toBe(true);
    expect(checks.find((c) => c.name === 'THP')?.detail).toMatch(/; the fake engine switches nothing on the host — configurations that set it are skipped$/);
  });
});
