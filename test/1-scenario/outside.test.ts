import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const OOMLAB = join(import.meta.dirname, '../../oomlab');
const dir = mkdtempSync(join(tmpdir(), 'oomlab-outside-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a scenario outside the checkout', () => {
  it("imports 'oomlab' and its own relative files, and loads (`oomlab list FILE`)", async () => {
    writeFileSync(join(dir, 'limit.ts'), "export const LIMIT = '1g';\n");
    writeFileSync(
      join(dir, 'mine.ts'),
      `import { defineScenario } from 'oomlab';
import { LIMIT } from './limit.ts';

export default defineScenario({
  name: 'outside',
  incident: 'a scenario kept outside the checkout',
  matrix: { memory: [LIMIT] },
  instances: (c) => ({ db: { image: 'oomlab/mariadb:10.11', memory: c.memory } }),
  expect: () => ({ db: { outcome: 'survived' } }),
});
`,
    );
    // The real launcher (node + tsx), run from the temp folder: Node's own lookup of 'oomlab' would fail there.
    const { stdout } = await promisify(execFile)(OOMLAB, ['list', join(dir, 'mine.ts')], { cwd: dir });
    expect(stdout).toContain('outside');
    expect(stdout).toContain('memory');
  }, 60_000);
});
