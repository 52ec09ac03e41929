import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../../src/4-observe/index.ts';
import { renderHtml } from '../../src/7-report/index.ts';
import type { RunReport } from '../../src/0-model/report.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-output');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const APT_TIMEOUT_MS = 300_000;

/** Debian's chromium, installed when missing and we may; otherwise the reason the tests skip. */
async function chromiumOrWhyNot(): Promise<string | undefined> {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.getuid?.() !== 0) return `${CHROMIUM} is missing and installing it needs root — run: apt-get install -y chromium`;
  if (!(await onPath('apt-get'))) return `${CHROMIUM} is missing and there is no apt-get to install it with`;
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await execa('apt-get', ['update', '-qq'], { env, timeout: APT_TIMEOUT_MS });
  await execa('apt-get', ['install', '-y', '-qq', 'chromium'], { env, timeout: APT_TIMEOUT_MS });
  return existsSync(CHROMIUM) ? undefined : `apt-get installed chromium but ${CHROMIUM} is still missing`;
}

function fixture(name: string): RunReport {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures', `report-${name}.json`), 'utf8')) as RunReport;
}

interface OpenedReport {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  /** Every request whose URL is not the page's own file, data: or blob: — each one aborted. */
  leaving: string[];
  close(): Promise<void>;
}

const LOCAL = /^(file|data|blob):/;

async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, serviceWorkers: 'block' });
  const opened: Omit<OpenedReport, 'page' | 'close'> = { consoleErrors: [], pageErrors: [], dialogs: [], leaving: [] };
  const leaves = (url: string) => {
    if (LOCAL.test(url)) return false;
    if (!opened.leaving.includes(url)) opened.leaving.push(url);
    return true;
  };
  // Route everything: a request that would leave the page is recorded and never sent.
  await context.route('**/*', (route) => (leaves(route.request().url()) ? route.abort('blockedbyclient') : route.continue()));
  context.on('request', (request) => void leaves(request.url()));
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') opened.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => opened.pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    opened.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { ...opened, page, close: () => context.close() };
}

interface CanvasInk {
  id: string;
  width: number;
  height: number;
  inkedPixels: number;
  /** Distinct opaque colours, as #rrggbb. */
  colours: string[];
  dataUrlLength: number;
  blankDataUrlLength: number;
}

/** The few DOM members the page-side code uses: the project compiles without the DOM lib. */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray } } | null;
  toDataURL(): string;
  closest(selector: string): { id: string } | null;
}
interface PageDocument {
  querySelectorAll(selector: string): Iterable<PageCanvas>;
  createElement(tag: 'canvas'): PageCanvas;
  documentElement: { scrollWidth: number };
}

/** Reads back every chart canvas: how many pixels were drawn, in which colours, against a blank canvas of the same size. */
function inkOfCharts(page: Page): Promise<CanvasInk[]> {
  return page.evaluate(() => {
    const document = (globalThis as unknown as { document: PageDocument }).document;
    return [...document.querySelectorAll('figure.chart canvas')].map((canvas) => {
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let inkedPixels = 0;
      const colours = new Set<string>();
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3]! === 0) continue;
        inkedPixels++;
        if (pixels[i + 3]! === 255) colours.add(`#${[pixels[i]!, pixels[i + 1]!, pixels[i + 2]!].map((c) => c.toString(16).padStart(2, '0')).join('')}`);
      }
      const blank = document.createElement('canvas');
      blank.width = canvas.width;
      blank.height = canvas.height;
      return {
        id: canvas.closest('figure')!.id,
        width: canvas.width,
        height: canvas.height,
        inkedPixels,
        colours: [...colours],
        dataUrlLength: canvas.toDataURL().length,
        blankDataUrlLength: blank.toDataURL().length,
      };
    });
  });
}

interface ChartData {
  charts: { id: string; series: { color: string; width: number; show: boolean; points: unknown[] }[] }[];
  peaks: { color: string }[];
}

function chartDataOf(html: string): ChartData {
  return JSON.parse(/<script type="application\/json" id="oomlab-chart-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as ChartData;
}

const CASES = [
  { name: 'burst-oom', screenshot: 'report-html.png', minCharts: 4 },
  { name: 'nofile-oom', screenshot: 'report-html-nofile-oom.png', minCharts: 1 },
  { name: 'replicas-synthetic', screenshot: 'report-html-replicas-synthetic.png', minCharts: 6 },
] as const;

describe('report.html in headless Chromium', () => {
  let skipReason: string | undefined;
  let browser: Browser | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oomlab-report-html-'));
    skipReason = await chromiumOrWhyNot();
    if (skipReason) return;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  }, 2 * APT_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe.each(CASES)('$name', ({ name, screenshot, minCharts }) => {
    const report = fixture(name);
    const html = renderHtml(report);
    const data = chartDataOf(html);
    let opened: OpenedReport | undefined;

    beforeAll(async () => {
      if (!browser) return;
      const file = join(dir, `${name}.html`);
      await writeFile(file, html);
      opened = await openReport(browser, file);
    });

    afterAll(async () => {
      await opened?.close();
    });

    it('loads with no console error, no page error, no dialog and no request leaving the page', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      expect(opened.consoleErrors).toEqual([]);
      expect(opened.pageErrors).toEqual([]);
      expect(opened.dialogs).toEqual([]);
      expect(opened.leaving).toEqual([]);
    });

    it('has one verdict row per configuration, in order, with its verdict', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const rows = opened.page.locator('table.verdicts tbody tr');
      await expect.poll(() => rows.count()).toBe(report.configs.length);
      const cells = await rows.evaluateAll((trs) => trs.map((tr) => [tr.querySelector('td.tag')!.textContent, tr.querySelector('.badge')!.textContent]));
      expect(cells).toEqual(report.configs.map((config, i) => [`#${i + 1}`, config.verdict]));
    });

    it('draws every chart: inked pixels, the series colours, more than a blank canvas', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const inks = await inkOfCharts(opened.page);
      const expectedIds = [...(data.peaks.length > 0 ? ['chart-peaks'] : []), ...data.charts.map((c) => `chart-${c.id}`)];
      expect(inks.map((ink) => ink.id)).toEqual(expectedIds);
      expect(inks.length).toBeGreaterThanOrEqual(minCharts);
      for (const ink of inks) {
        expect(ink.width * ink.height, ink.id).toBeGreaterThan(0);
        expect(ink.inkedPixels, `${ink.id} inked pixels`).toBeGreaterThan(ink.width * ink.height * 0.005);
        expect(ink.dataUrlLength, `${ink.id} PNG size`).toBeGreaterThan(ink.blankDataUrlLength * 2);
      }
      const peaks = inks.find((ink) => ink.id === 'chart-peaks');
      if (peaks) for (const bar of data.peaks) expect(peaks.colours, `peak bar ${bar.color}`).toContain(bar.color);
      for (const chart of data.charts) {
        const ink = inks.find((i) => i.id === `chart-${chart.id}`)!;
        // Bold, shown lines of two or more points leave their exact colour somewhere along the stroke.
        const bold = chart.series.filter((s) => s.show && s.width >= 2 && s.points.length >= 2);
        for (const series of bold) expect(ink.colours, `${chart.id} line ${series.color}`).toContain(series.color);
      }
    });

    it(`saves a full-page screenshot to test-output/${screenshot} showing the verdict table and a chart`, async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      await expect.poll(() => opened!.page.locator('table.verdicts').isVisible()).toBe(true);
      await expect.poll(() => opened!.page.locator('figure.chart canvas').first().isVisible()).toBe(true);
      // Nothing wider than the window: the verdict table scrolls inside its own box if it must.
      expect(await opened.page.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(1440);
      const path = join(SCREENSHOT_DIR, screenshot);
      await opened.page.screenshot({ path, fullPage: true });
      expect((await stat(path)).size).toBeGreaterThan(50_000);
    });
  });

  it('the network guard catches a request that tries to leave the page', async ({ skip }) => {
    if (!browser) return skip(skipReason ?? 'the browser did not start');
    const file = join(dir, 'guard.html');
    await writeFile(file, renderHtml(fixture('nofile-oom')));
    const opened = await openReport(browser, file);
    try {
      // 192.0.2.0/24 is TEST-NET-1: nothing answers there, and the route aborts it before it is sent anyway.
      await opened.page.evaluate(() => fetch('http://192.0.2.1/leak').catch(() => undefined));
      expect(opened.leaving).toEqual(['http://192.0.2.1/leak']);
    } finally {
      await opened.close();
    }
  });
});
