// What report.html carries inline so it opens from file:// with no network: uPlot, the page's own script
// (page.ts, bundled here with the one formatBytes it imports) and its stylesheet. Read once per process.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { trusted, type SafeHtml } from './template.ts';

export interface PageAssets {
  uplotScript: SafeHtml;
  uplotStyle: SafeHtml;
  pageScript: SafeHtml;
  pageStyle: SafeHtml;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** Inline text must not end its own <script> or <style> early, nor open a comment the parser would honour. */
function inlinable(name: string, text: string, closing: 'script' | 'style'): SafeHtml {
  if (new RegExp(`</${closing}|<!--`, 'i').test(text)) throw new Error(`${name} contains </${closing} or <!-- and cannot be inlined as it is`);
  return trusted(text);
}

function bundlePage(): string {
  // absWorkingDir fixes the path comments esbuild writes, so the page's bytes do not depend on where oomlab runs from.
  const result = buildSync({
    entryPoints: ['page.ts'],
    absWorkingDir: HERE,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

let assets: PageAssets | undefined;

export function pageAssets(): PageAssets {
  if (!assets) {
    const require = createRequire(import.meta.url);
    assets = {
      uplotScript: inlinable('uPlot', readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'), 'script'),
      uplotStyle: inlinable("uPlot's stylesheet", readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'), 'style'),
      pageScript: inlinable('page.ts', bundlePage(), 'script'),
      pageStyle: inlinable('page.css', readFileSync(`${HERE}/page.css`, 'utf8'), 'style'),
    };
  }
  return assets;
}
