import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderCompareHtml } from './html.ts';
import { renderCompareMarkdown } from './markdown.ts';
import type { RunComparison } from './pair.ts';

export * from './pair.ts';
export { summaryLine } from './cells.ts';
export { renderCompareHtml, renderCompareMarkdown };

/** Writes compare.md and compare.html into `dir`; each file appears whole or not at all. */
export async function writeComparison(comparison: RunComparison, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, text] of [
    ['compare.md', renderCompareMarkdown(comparison)],
    ['compare.html', renderCompareHtml(comparison)],
  ] as const) {
    const path = join(dir, file);
    await writeFile(`${path}.partial`, text);
    await rename(`${path}.partial`, path);
    written.push(path);
  }
  return written;
}
