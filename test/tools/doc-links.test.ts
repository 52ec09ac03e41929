import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORTERS } from '../../src/7-report/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function markdownUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownUnder(path) : name.endsWith('.md') ? [path] : [];
  });
}

/** `[text](target)` and `![alt](target)` outside code blocks, with their line numbers. */
function relativeLinks(markdown: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  let inCode = false;
  markdown.split('\n').forEach((text, i) => {
    if (text.trimStart().startsWith('```')) inCode = !inCode;
    if (inCode) return;
    for (const m of text.replace(/`[^`]*`/g, '').matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      links.push({ line: i + 1, target });
    }
  });
  return links;
}

const PAGES = ['README.md', 'bench/README.md', 'reports/README.md', ...markdownUnder(join(ROOT, 'docs')).map((p) => relative(ROOT, p))];

describe('the documentation', () => {
  it('finds links the way a reader follows them, not inside code', () => {
    expect(relativeLinks('[a](docs/a.md) `[b](b.md)` [c](https://x.test) [d](#top)\n```\n[e](e.md)\n```\n![f](img/f.png)')).toEqual([
      { line: 1, target: 'docs/a.md' },
      { line: 5, target: 'img/f.png' },
    ]);
  });

  it.each(PAGES)('%s: every relative link resolves', (page) => {
    const broken = relativeLinks(readFileSync(join(ROOT, page), 'utf8'))
      .map(({ line, target }) => ({ line, target, path: relative(ROOT, resolve(ROOT, dirname(page), target.split('#')[0]!)) }))
      .filter(({ path }) => !existsSync(join(ROOT, path)))
      .map(({ line, target }) => `${page}:${line} ${target}`);
    expect(broken).toEqual([]);
  });

  it("README.md is at most 150 lines: a newcomer's door, not the lab notebook", () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(150);
  });

  it('no page calls the storm a mysql2 storm: it speaks the wire protocol itself (src/5-workload/wire/mysql-wire.ts)', () => {
    for (const page of PAGES) expect(readFileSync(join(ROOT, page), 'utf8'), page).not.toMatch(/mysql2 connection storm/i);
  });

  it('reports/README.md names every file a run writes', () => {
    const text = readFileSync(join(ROOT, 'reports/README.md'), 'utf8');
    for (const { file } of Object.values(REPORTERS)) expect(text, file).toContain(file);
  });
});
