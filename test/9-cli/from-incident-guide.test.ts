// docs/reproduce-your-incident.md runs as written: its files are written out, its from-incident commands
// run through the real CLI, and what they print must be what the page shows.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = join(ROOT, 'test-output', `from-incident-guide-${process.pid}`);
afterAll(() => rm(DIR, { recursive: true, force: true }));

const page = await readFile(join(ROOT, 'docs', 'reproduce-your-incident.md'), 'utf8');
const FENCE = /```[a-z]*\n([\s\S]*?)```/y;

/** The block right after each `<!-- marker -->` comment. */
function blocksAfter(marker: string): { name: string; text: string }[] {
  return [...page.matchAll(new RegExp(`<!-- ${marker}(?:: ([^ ]+))? -->\\n`, 'g'))].map((m) => {
    FENCE.lastIndex = m.index + m[0].length;
    const block = FENCE.exec(page);
    if (!block) throw new Error(`no code block after ${m[0]}`);
    return { name: m[1] ?? '', text: block[1]! };
  });
}

describe('docs/reproduce-your-incident.md', { timeout: 60_000 }, () => {
  const files = blocksAfter('file');
  const runs = blocksAfter('run');
  const outputs = blocksAfter('output');

  it('has its files, and an output after every command', () => {
    expect(files.map((f) => f.name)).toEqual(['oom.txt', 'my.cnf', 'global-oom.txt']);
    expect(runs.length).toBe(outputs.length);
    expect(runs.length).toBeGreaterThanOrEqual(2);
  });

  it.each(runs.map((run, i) => [run.text.trim(), i] as const))('`%s` prints what the page shows', async (command, i) => {
    await mkdir(DIR, { recursive: true });
    for (const file of files) await writeFile(join(DIR, file.name), file.text);
    const args = command.split(/\s+/);
    expect(args[0]).toBe('./oomlab');
    const result = await execa(process.execPath, ['--import', 'tsx', join(ROOT, 'src/9-cli/main.ts'), ...args.slice(1)], { cwd: DIR, reject: false, stdin: 'ignore' });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(`${result.stdout}\n`).toBe(outputs[i]!.text);
  });
});
