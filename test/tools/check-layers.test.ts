import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers, importsOf } from '../../tools/check-layers.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'oomlab-layers-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
  return root;
}

describe('the import rule of src/', () => {
  it('holds on the project itself: every import goes down or sideways, and no circle', () => {
    expect(checkLayers(resolve(import.meta.dirname, '../../src'))).toEqual([]);
  });

  it('catches an upward import, a circle and a file outside a stage folder', async () => {
    const root = await tree({
      '0-model/report.ts': "import type { Plan } from '../2-plan/index.ts';\nexport type Report = { plan: Plan };\n",
      '2-plan/index.ts': "import { b } from './b.ts';\nexport type Plan = string;\nexport const a = 1;\n",
      '2-plan/b.ts': "export { a as b } from './index.ts';\n",
      'helpers.ts': 'export const x = 1;\n',
    });
    expect(checkLayers(root).map((v) => `${v.kind}: ${v.text}`)).toEqual([
      'unnumbered: src/helpers.ts is outside a numbered stage folder',
      'upward: src/0-model/report.ts imports src/2-plan/index.ts: 0-model may import only from stages numbered 0 or lower',
      'circle: import circle: src/2-plan/index.ts → src/2-plan/b.ts → src/2-plan/index.ts',
    ]);
  });

  it("catches dockerode imported outside src/3-runtime/docker/, and lets Docker's own folder import it", async () => {
    const root = await tree({
      '3-runtime/docker/engine.ts': "import Docker from 'dockerode';\nexport const engine = new Docker();\n",
      '3-runtime/docker/events.ts': "import type { ContainerInfo } from 'dockerode';\nexport type Info = ContainerInfo;\n",
      '3-runtime/images.ts': "import type Docker from 'dockerode';\nexport type D = Docker;\n",
      '9-cli/doctor.ts': "import Docker from 'dockerode';\nexport const d = new Docker({ timeout: 3_000 });\n",
      '4-observe/paths.ts': "const lib = await import('dockerode');\nexport default lib;\n",
    });
    expect(checkLayers(root).map((v) => `${v.kind}: ${v.text}`)).toEqual([
      'engine: src/3-runtime/images.ts imports dockerode: only src/3-runtime/docker/ may; go through the seam (src/3-runtime/index.ts)',
      'engine: src/4-observe/paths.ts imports dockerode: only src/3-runtime/docker/ may; go through the seam (src/3-runtime/index.ts)',
      'engine: src/9-cli/doctor.ts imports dockerode: only src/3-runtime/docker/ may; go through the seam (src/3-runtime/index.ts)',
    ]);
  });

  it('reads static, re-exporting, side-effect and dynamic imports', () => {
    const source = "import a from 'x';\nimport type { B } from './b.ts';\nexport * from './c.ts';\nimport './d.ts';\nconst e = await import('./e.ts');\n";
    expect(importsOf(source)).toEqual(['x', './b.ts', './c.ts', './d.ts', './e.ts']);
  });
});
