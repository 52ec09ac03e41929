import { resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

// CI runs `npm test` only: the formatter and the linter run here, so an unformatted or lint-failing file fails CI.
describe('the code as biome.json wants it', () => {
  it('is formatted and passes the linter (biome ci)', async () => {
    const result = await execa('npx', ['biome', 'ci', '--colors=off', '.'], { cwd: ROOT, reject: false, timeout: 60_000 });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(0, 40).join('\n')).toBe(0);
  }, 90_000);
});
