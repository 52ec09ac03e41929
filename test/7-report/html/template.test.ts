import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { html, join as joinHtml, trusted } from '../../../src/7-report/html/template.ts';
import { pageAssets } from '../../../src/7-report/html/assets.ts';

const HTML_DIR = join(import.meta.dirname, '../../../src/7-report/html');

describe('the html template tag', () => {
  it('escapes every interpolated text and number, in text and in attributes', () => {
    const name = `<img src=x onerror="alert('x')"> & co`;
    expect(html`<p title="${name}">${name}</p>`.toString()).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; co">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; co</p>',
    );
    expect(html`<td>${1_048_576}</td>`.toString()).toBe('<td>1048576</td>');
  });

  it('writes fragments it made, and trusted ones, as they are; arrays joined; nothing for undefined, null and false', () => {
    const inner = html`<b>${'a<b'}</b>`;
    expect(html`<p>${inner}${[html`<i>1</i>`, '<2>']}${undefined}${null}${false}</p>`.toString()).toBe('<p><b>a&lt;b</b><i>1</i>&lt;2&gt;</p>');
    expect(html`<style>${trusted('a > b {}')}</style>`.toString()).toBe('<style>a > b {}</style>');
  });

  it('joins with a separator that is markup when made by the tag, text otherwise', () => {
    expect(joinHtml(['<a>', 'b'], html`<br>`).toString()).toBe('&lt;a&gt;<br>b');
    expect(joinHtml(['a', 'b'], ' & ').toString()).toBe('a &amp; b');
  });
});

describe('the html report folder', () => {
  const sources = readdirSync(HTML_DIR).filter((name) => name.endsWith('.ts'));

  it('reads only the result model: every import is 0-model, a sibling file, node: or a package', () => {
    for (const name of sources) {
      const specifiers = [...readFileSync(join(HTML_DIR, name), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const specifier of specifiers) expect(`${name}: ${specifier}`).toMatch(/: (\.\.\/\.\.\/0-model\/[\w-]+\.ts|\.\/[\w-]+\.ts|node:\w+|esbuild|uplot)$/);
    }
  });

  it('escapes only through the tag: no hand-written escapeHtml call outside template.ts', () => {
    for (const name of sources.filter((n) => n !== 'template.ts')) expect(readFileSync(join(HTML_DIR, name), 'utf8'), name).not.toContain('escapeHtml(');
  });

  it('keeps every file under 400 lines', () => {
    for (const name of readdirSync(HTML_DIR)) expect(readFileSync(join(HTML_DIR, name), 'utf8').split('\n').length, name).toBeLessThan(400);
  });

  it("bundles the page script with 0-model's formatBytes: one byte formatter, no copy of its units", () => {
    const script = pageAssets().pageScript.toString();
    expect(script).toContain('function formatBytes(bytes)');
    expect(script.match(/"KiB"/g)).toHaveLength(1);
    expect(script).not.toContain('fmtBytes');
    // esbuild's path comments are relative to the folder, so the bytes do not depend on where oomlab runs.
    expect(script).toContain('// ../../0-model/units.ts');
    expect(script).not.toContain(HTML_DIR);
  });
});
