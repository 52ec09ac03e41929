// Keeps docs/scenarios.md honest: every field a scenario may write is in the guide, every action it names
// is real, and its whole scenarios and step examples type-check against the real types.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ALLOWED_FIELDS } from '../../src/1-scenario/schema.ts';
import { STEP_ACTIONS, stepActionSchemas, TRIGGER_FIELDS } from '../../src/1-scenario/steps.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const GUIDE = readFileSync(join(ROOT, 'docs/scenarios.md'), 'utf8');
const BLOCKS = [...GUIDE.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

const mentions = (field: string) => GUIDE.includes(`\`${field}\``) || new RegExp(`\\b${field}:`).test(GUIDE);

describe('docs/scenarios.md', () => {
  const dir = join(ROOT, 'test-output', `guide-${process.pid}`);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(Object.entries(ALLOWED_FIELDS))('documents every field of %s', (_kind, fields) => {
    expect(fields.filter((field) => !mentions(field))).toEqual([]);
  });

  it('documents every trigger field and every field of every step action, each action under its own heading', () => {
    expect(TRIGGER_FIELDS.filter((field) => !mentions(field))).toEqual([]);
    for (const action of STEP_ACTIONS) {
      expect(GUIDE, action).toContain(`\n#### ${action}\n`);
      expect(GUIDE, action).toContain(`action: '${action}'`);
      const fields = Object.keys(stepActionSchemas[action].shape);
      expect(
        fields.filter((field) => !mentions(field)),
        action,
      ).toEqual([]);
    }
  });

  it('names only real actions', () => {
    const named = [...GUIDE.matchAll(/action: '([^']+)'/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThanOrEqual(STEP_ACTIONS.length);
    expect(named.filter((action) => !(STEP_ACTIONS as readonly string[]).includes(action))).toEqual([]);
  });

  it('has whole scenarios and step examples that type-check', async () => {
    const scenarios = BLOCKS.filter((b) => b.startsWith("import { defineScenario } from 'oomlab';") && b.includes('export default defineScenario('));
    // A step example is one object literal (or several, one a line) starting with `{ name:`; a zx step spans lines and is taken whole.
    const steps = BLOCKS.filter((b) => /^\{\s*name:/.test(b.trim())).flatMap((b) => (b.includes("action: 'run'") ? [b.trim()] : b.trim().split('\n')));
    expect(scenarios.length).toBeGreaterThanOrEqual(2);
    expect(steps.length).toBeGreaterThanOrEqual(STEP_ACTIONS.length);
    await mkdir(dir, { recursive: true });
    await Promise.all(scenarios.map((code, i) => writeFile(join(dir, `scenario-${i + 1}.ts`), code)));
    await writeFile(join(dir, 'steps.ts'), `import type { StepInput } from '../../src/1-scenario/steps.ts';\n\nexport const steps: StepInput[] = [\n${steps.map((s) => `  ${s},`).join('\n')}\n];\n`);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'] }));
    const tsc = await execa('npx', ['tsc', '--noEmit', '-p', dir], { cwd: ROOT, reject: false, timeout: 120_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.exitCode).toBe(0);
  }, 150_000);
});
