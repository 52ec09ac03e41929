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
import { formatBytes } from '../../src/0-model/units.ts';
import { chaosReport } from '../7-report/chaos-fixture.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-output');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const APT_TIMEOUT_MS = 300_000;
/** The width a person reads the report at (issue 15): nothing may hide beyond it. */
const VIEWPORT = { width: 1400, height: 900 };

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

async function openReport(browser: Browser, file: string, viewport: { width: number; height: number } = VIEWPORT): Promise<OpenedReport> {
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
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
  /** The figure the canvas is in: a chart's small multiples share one. */
  figure: string;
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
interface PageElement {
  textContent: string | null;
  getBoundingClientRect(): { left: number; right: number; top: number; bottom: number; width: number; height: number };
  querySelectorAll(selector: string): Iterable<PageElement>;
  scrollWidth: number;
  clientWidth: number;
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
        // A time chart's canvas sits in its plot (one per small multiple); the peak bars' in their figure.
        id: (canvas.closest('.plot') ?? canvas.closest('figure'))!.id,
        figure: canvas.closest('figure')!.id,
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
  charts: {
    id: string;
    series: { key: string; color: string; width: number; show: boolean; limit?: boolean; points: [number, number][] }[];
    above?: string[];
    steps: { step: string; t: number; end?: number; config: string; color: string; label: string }[];
  }[];
  peaks: { color: string }[];
}

function chartDataOf(html: string): ChartData {
  return JSON.parse(/<script type="application\/json" id="oomlab-chart-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as ChartData;
}

const CASES = [
  { name: 'burst-oom', screenshot: 'report-html.png', minCharts: 4 },
  { name: 'nofile-oom', screenshot: 'report-html-nofile-oom.png', minCharts: 1 },
  { name: 'replicas-synthetic', screenshot: 'report-html-replicas-synthetic.png', minCharts: 6 },
  { name: 'scraping-burst', screenshot: 'report-html-scraping-burst.png', minCharts: 9 },
] as const;

/** A laptop's screen: the first screen must answer, and nothing may scroll sideways. */
const LAPTOP = { width: 1366, height: 768 };
const LAPTOP_CASES = [
  {
    name: 'nofile-oom-33',
    firstScreen: ['Reproduced:', 'Killed all the same with fix=tuned-my.cnf:', 'Survived with fix=ulimit-4096:', '18 configurations not run:'],
    // The README shows this one: the answer as a newcomer first meets it.
    screenshot: 'report-first-screen.png',
  },
  { name: 'scraping-burst', firstScreen: ['Reproduced:', 'Survived with headroom=roomy:'], screenshot: undefined },
  { name: 'burst-oom', firstScreen: ['Reproduced:', 'Not as expected with buffers=sized:'], screenshot: undefined },
  { name: 'upgrade-nofile', firstScreen: ['Reproduced:', 'Survived with fix=ulimit-4096:'], screenshot: undefined },
] as const;

describe('report.html in headless Chromium', () => {
  let skipReason: string | undefined;
  let browser: Browser | undefined;
  let dir: string;

  beforeAll(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'oomlab-report-html-'));
      skipReason = await chromiumOrWhyNot();
      if (skipReason) return;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      await mkdir(SCREENSHOT_DIR, { recursive: true });
    },
    2 * APT_TIMEOUT_MS + 60_000,
  );

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

    it('has one verdict row per configuration that ran, in order, with its verdict in words; one row per reason for those that did not', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      // Each configuration's deciding evidence is a second, full-width row: count the figures' rows.
      const rows = opened.page.locator('table.verdicts tbody tr:not(.evidence-row):not(.skipped-group)');
      const ran = report.configs.map((config, i) => ({ config, tag: `#${i + 1}` })).filter(({ config }) => config.verdict !== 'skipped');
      await expect.poll(() => rows.count()).toBe(ran.length);
      const cells = await rows.evaluateAll((trs) => trs.map((tr) => [tr.querySelector('td.tag a')!.textContent, tr.querySelector('.badge')!.className]));
      expect(cells).toEqual(ran.map(({ config, tag }) => [tag, `badge ${config.verdict}`]));
      const reasons = new Set(report.configs.filter((c) => c.verdict === 'skipped').map((c) => c.reason));
      expect(await opened.page.locator('table.verdicts tr.skipped-group').count()).toBe(reasons.size);
    });

    it('draws every chart: inked pixels, the series colours, more than a blank canvas', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const inks = await inkOfCharts(opened.page);
      const expectedIds = [...(data.peaks.length > 0 ? ['chart-peaks'] : []), ...data.charts.map((c) => `plot-${c.id}`)];
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
        const figure = inks.find((i) => i.id === `plot-${chart.id}`)!.figure;
        // Bold, shown lines of two or more points leave their exact colour somewhere along the stroke of their
        // figure (in one small multiple, a line another configuration's covers exactly may show only in another).
        const colours = inks.filter((i) => i.figure === figure).flatMap((i) => i.colours);
        const bold = chart.series.filter((s) => s.show && s.width >= 2 && s.points.length >= 2);
        for (const series of bold) expect(colours, `${chart.id} line ${series.color}`).toContain(series.color);
      }
    });

    it(`saves a full-page screenshot to test-output/${screenshot} showing the verdict table and a chart`, async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      await expect.poll(() => opened!.page.locator('table.verdicts').isVisible()).toBe(true);
      await expect.poll(() => opened!.page.locator('figure.chart canvas').first().isVisible()).toBe(true);
      // Nothing wider than the window: the verdict table scrolls inside its own box if it must.
      expect(await opened.page.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(VIEWPORT.width);
      const path = join(SCREENSHOT_DIR, screenshot);
      await opened.page.screenshot({ path, fullPage: true });
      expect((await stat(path)).size).toBeGreaterThan(50_000);
    });
  });

  // A laptop's screen (issue 24): the answer on the first screen, and nothing wider than the window.
  describe.each(LAPTOP_CASES)("$name at a laptop's 1366 × 768", ({ name, firstScreen, screenshot }) => {
    const file = join(PROJECT_ROOT, 'test/fixtures', `report-${name}.json`);
    let opened: OpenedReport | undefined;

    beforeAll(async () => {
      if (!browser || !existsSync(file)) return;
      const page = join(dir, `${name}-laptop.html`);
      await writeFile(page, renderHtml(fixture(name)));
      opened = await openReport(browser, page, LAPTOP);
    });

    afterAll(async () => {
      await opened?.close();
    });

    it('has no horizontal scroll, with every folded block closed and with every one open', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? `the browser did not start, or ${file} is missing`);
      const width = () => opened!.page.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.documentElement.scrollWidth);
      expect(await width()).toBeLessThanOrEqual(LAPTOP.width);
      await opened.page.evaluate(() => {
        for (const details of (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ open: boolean }> } }).document.querySelectorAll('details')) details.open = true;
      });
      expect(await width()).toBeLessThanOrEqual(LAPTOP.width);
      await opened.page.evaluate(() => {
        for (const details of (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ open: boolean }> } }).document.querySelectorAll('details')) details.open = false;
      });
    });

    it('says on its first screen whether the incident was reproduced and what each claim did', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? `the browser did not start, or ${file} is missing`);
      for (const lead of firstScreen) {
        const item = opened.page.locator('#answer ul.headlines li', { hasText: lead }).first();
        const box = await item.boundingBox();
        expect(box, lead).not.toBeNull();
        expect(box!.y + box!.height, `${lead} ends within the first ${LAPTOP.height} px`).toBeLessThanOrEqual(LAPTOP.height);
      }
      if (screenshot) {
        const path = join(SCREENSHOT_DIR, screenshot);
        await opened.page.screenshot({ path });
        expect((await stat(path)).size).toBeGreaterThan(30_000);
      }
    });
  });

  describe('scraping-burst, as a person reads it at 1400 px', () => {
    const report = fixture('scraping-burst');
    const html = renderHtml(report);
    const data = chartDataOf(html);
    let opened: OpenedReport | undefined;

    beforeAll(async () => {
      if (!browser) return;
      const file = join(dir, 'scraping-burst-layout.html');
      await writeFile(file, html);
      opened = await openReport(browser, file);
    });

    afterAll(async () => {
      await opened?.close();
    });

    it('fits the verdict table in the window: the B:A column is inside the viewport, nothing scrolls sideways', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const layout = await opened.page.evaluate(() => {
        const document = (globalThis as unknown as { document: { querySelector(s: string): PageElement | null; querySelectorAll(s: string): Iterable<PageElement> } }).document;
        const headers = [...document.querySelectorAll('table.verdicts thead th')];
        const column = headers.findIndex((th) => th.textContent === 'B:A connections');
        const cells = [...document.querySelectorAll('table.verdicts tbody tr:not(.evidence-row):not(.skipped-group)')].map((tr) => [...tr.querySelectorAll('td')][column]!);
        const wrap = document.querySelector('.table-wrap')!;
        // A DOMRect's fields are getters: copy them by name.
        const box = (e: PageElement) => {
          const { left, right, width } = e.getBoundingClientRect();
          return { left, right, width };
        };
        return {
          column,
          header: box(headers[column]!),
          cells: cells.map((td) => ({ text: td.textContent, ...box(td) })),
          wrap: { scrollWidth: wrap.scrollWidth, clientWidth: wrap.clientWidth },
        };
      });
      expect(layout.column).toBeGreaterThan(0);
      expect(layout.wrap.scrollWidth).toBeLessThanOrEqual(layout.wrap.clientWidth);
      for (const box of [layout.header, ...layout.cells]) {
        expect(box.left).toBeGreaterThanOrEqual(0);
        expect(box.right).toBeLessThanOrEqual(VIEWPORT.width);
        expect(box.width).toBeGreaterThan(30);
      }
      const ran = report.configs.filter((c) => c.verdict !== 'skipped');
      expect(layout.cells.map((c) => c.text)).toEqual(ran.map((c) => (c.metrics.connectionRatio !== undefined ? `${c.metrics.connectionRatio.toFixed(1)}:1` : '')));
    });

    it('draws one memory chart per instance role, each with its own limit line, and one connections chart per server', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const multiples = await opened.page.evaluate(() => {
        const document = (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<PageElement> } }).document;
        return ['memory', 'connections'].map((id) =>
          [...document.querySelectorAll(`#chart-${id} .multiple`)].map((m) => ({
            heading: [...m.querySelectorAll('h3')][0]!.textContent,
            canvases: [...m.querySelectorAll('canvas')].length,
            box: { top: m.getBoundingClientRect().top, right: m.getBoundingClientRect().right },
          })),
        );
      });
      const [memory, connections] = multiples;
      expect(memory!.map((m) => m.heading)).toEqual([
        'a limit 1.5 GiB (#1 #4 #5 #6) dashed · limit 9 GiB (#3) above this scale',
        'b limit 12 GiB dashed',
        'neighbour limit 1.5 GiB (#1 #4 #5 #6) dashed · limit 9 GiB (#3) above this scale',
      ]);
      expect(connections!.map((m) => m.heading)).toEqual(['a', 'b']);
      for (const m of [...memory!, ...connections!]) {
        expect(m.canvases).toBe(1);
        expect(m.box.right).toBeLessThanOrEqual(VIEWPORT.width);
      }
      // Side by side in one row: the three roles share a top edge.
      expect(new Set(memory!.map((m) => Math.round(m.box.top))).size).toBe(1);
      // Each role's limit line is drawn: its grey is on that role's canvas, and A's scale is A's, not B's 12 GiB.
      const inks = new Map((await inkOfCharts(opened.page)).map((ink) => [ink.id, ink]));
      for (const role of ['a', 'b', 'neighbour']) {
        const chart = data.charts.find((c) => c.id === `memory-${role}`)!;
        expect(chart.series.filter((s) => s.limit)).toHaveLength(1);
        expect(inks.get(`plot-memory-${role}`)!.colours, `memory-${role} limit line`).toContain('#444444');
      }
      // The control: a chart without a limit has no such grey.
      expect(inks.get('plot-connections-a')!.colours).not.toContain('#444444');
      const scaleOfA = Math.max(...data.charts.find((c) => c.id === 'memory-a')!.series.flatMap((s) => s.points.map(([, v]) => v)));
      expect(scaleOfA).toBeLessThan(2 * 1024 ** 3);
    });

    it('has one compact legend of toggles instead of a list under each chart, and hiding a configuration hides its lines', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const page = opened.page;
      expect(await page.locator('.u-legend').count()).toBe(0);
      const legend = (await page.locator('.config-legend').boundingBox())!;
      // One row of chips at 1400 px.
      expect(legend.height).toBeLessThan(40);
      expect(await page.locator('.config-legend button.config-chip').count()).toBe(5);
      const before = (await inkOfCharts(page)).find((ink) => ink.id === 'plot-memory-b')!;
      await page.locator('button.config-chip[data-config="#3"]').click();
      expect(await page.locator('button.config-chip[data-config="#3"]').getAttribute('aria-pressed')).toBe('false');
      const after = (await inkOfCharts(page)).find((ink) => ink.id === 'plot-memory-b')!;
      expect(before.colours).toContain('#2ca02c');
      expect(after.colours).not.toContain('#2ca02c');
      await page.locator('button.config-chip[data-config="#3"]').click();
      expect((await inkOfCharts(page)).find((ink) => ink.id === 'plot-memory-b')!.colours).toContain('#2ca02c');
    });

    it('reads values on hover with the same byte format as formatBytes, and keeps the OOM markers and the evidence panels', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const page = opened.page;
      const over = (await page.locator('#plot-memory-a .u-over').boundingBox())!;
      await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
      const readout = page.locator('#readout-memory-a');
      await expect.poll(() => readout.locator('span b').count()).toBeGreaterThan(0);
      const items = await readout.locator('span:has(b)').evaluateAll((spans) => spans.map((s) => [s.querySelector('b')!.textContent!, s.textContent!]));
      const chart = data.charts.find((c) => c.id === 'memory-a')!;
      for (const [key, text] of items) {
        const series = chart.series.find((s) => s.key === key)!;
        const value = text.slice(key.length).trim();
        expect(
          series.points.map(([, bytes]) => formatBytes(bytes)),
          `${key} ${value}`,
        ).toContain(value);
      }
      // The kills of A, in each killed configuration's colour, on A's chart.
      const ink = (await inkOfCharts(page)).find((i) => i.id === 'plot-memory-a')!;
      for (const colour of ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b']) expect(ink.colours).toContain(colour);
      expect(await page.locator('#evidence details.panel').count()).toBe(report.configs.length);
      expect(await page.locator('#evidence details.panel[open]').count()).toBe(report.configs.filter((c) => c.verdict === 'fail' || c.verdict === 'error').length);
      const path = join(SCREENSHOT_DIR, 'report-html-scraping-burst-charts.png');
      await page.locator('section#charts').screenshot({ path });
      expect((await stat(path)).size).toBeGreaterThan(50_000);
      // The memory multiples as read on hover, the readout under A's chart.
      await page.locator('#chart-memory').scrollIntoViewIfNeeded();
      const box = (await page.locator('#plot-memory-a .u-over').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
      await expect.poll(() => readout.locator('span b').count()).toBeGreaterThan(0);
      await page.locator('#chart-memory').screenshot({ path: join(SCREENSHOT_DIR, 'report-html-scraping-burst-memory.png') });
    });
  });

  describe('a chaos timeline: steps on the charts and in the panels', () => {
    const report = chaosReport();
    const html = renderHtml(report);
    const data = chartDataOf(html);
    let opened: OpenedReport | undefined;

    beforeAll(async () => {
      if (!browser) return;
      const file = join(dir, 'chaos.html');
      await writeFile(file, html);
      opened = await openReport(browser, file);
    });

    afterAll(async () => {
      await opened?.close();
    });

    /** The flags over one plot and the geometry needed to read its canvas: CSS pixels, page coordinates. */
    function flagsOf(page: Page, plot: string) {
      return page.evaluate((id) => {
        type Found = PageElement & PageCanvas & { querySelector(s: string): Found | null };
        const document = (globalThis as unknown as { document: { querySelector(s: string): Found | null } }).document;
        const root = document.querySelector(`#${id}`)!;
        const rect = (e: PageElement) => {
          const { left, top, width, height } = e.getBoundingClientRect();
          return { left, top, width, height };
        };
        const over = root.querySelector('.u-over')!;
        const canvas = root.querySelector('canvas')!;
        const flags = [...root.querySelectorAll('.step-flag')].map((f) => {
          const el = f as PageElement & { dataset: Record<string, string>; classList: { contains(c: string): boolean } };
          return { text: el.textContent, t: Number(el.dataset.t), configs: el.dataset.configs, leftward: el.classList.contains('leftward'), ...rect(el) };
        });
        return { over: rect(over), canvas: { ...rect(canvas), pixelWidth: canvas.width }, flags };
      }, plot);
    }

    /** How many rows of one canvas column are inked, and which opaque colours are in it. */
    function column(page: Page, plot: string, x: number) {
      return page.evaluate(
        ([id, cx]) => {
          const document = (globalThis as unknown as { document: { querySelector(s: string): PageCanvas | null } }).document;
          const canvas = document.querySelector(`#${id} canvas`)!;
          const pixels = canvas.getContext('2d')!.getImageData(cx, 0, 1, canvas.height).data;
          let inked = 0;
          const colours: Record<string, number> = {};
          for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i + 3]! === 0) continue;
            inked++;
            if (pixels[i + 3]! === 255) {
              const hex = `#${[pixels[i]!, pixels[i + 1]!, pixels[i + 2]!].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
              colours[hex] = (colours[hex] ?? 0) + 1;
            }
          }
          return { inked, rows: canvas.height, colours };
        },
        [plot, x] as const,
      );
    }

    it('loads with no console error, no page error and no request leaving the page', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      expect(opened.consoleErrors).toEqual([]);
      expect(opened.pageErrors).toEqual([]);
      expect(opened.leaving).toEqual([]);
    });

    it('flags each step over every chart, once per step where the configurations agree, at x proportional to its time', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      for (const chart of data.charts) {
        const { flags, over } = await flagsOf(opened.page, `plot-${chart.id}`);
        // Every step that started is named; a failure in its own words.
        expect(new Set(flags.map((f) => f.text)), chart.id).toEqual(new Set(['thp-never', 'delay-a', 'limit-a', 'neighbour', 'drop-caches', 'threads-a', 'threads-a failed', 'threads-a timed out']));
        // x = left of the plot + t × pixels per second: fit on two flags, then every flag (pointing right) sits on the line.
        const right = flags.filter((f) => !f.leftward);
        const [first, last] = [right[0]!, right.at(-1)!];
        const perSecond = (last.left - first.left) / (last.t - first.t);
        expect(perSecond).toBeGreaterThan(0);
        expect(first.left - first.t * perSecond, `${chart.id}: t = 0 at the plot's left edge`).toBeCloseTo(over.left, 0);
        for (const flag of right) expect(Math.abs(flag.left - (over.left + flag.t * perSecond)), `${chart.id} ${flag.text}`).toBeLessThan(1.5);
      }
    });

    it("draws each configuration's step line in its colour down the whole plot, and shades a fault while it is in force", async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const page = opened.page;
      const chart = data.charts.find((c) => c.id === 'connections-a')!;
      const { flags, over, canvas } = await flagsOf(page, 'plot-connections-a');
      const right = flags.filter((f) => !f.leftward);
      const perSecond = (right.at(-1)!.left - right[0]!.left) / (right.at(-1)!.t - right[0]!.t);
      // Canvas pixels per CSS pixel (1 in headless Chromium, 2 on a retina screen).
      const scale = canvas.pixelWidth / canvas.width;
      const canvasX = (t: number) => Math.round((over.left + t * perSecond - canvas.left) * scale);
      // #1's limit-a line: its colour fills most of the plot's height in that column (a flag or a line may cross it).
      const limit = chart.steps.find((s) => s.config === '#1' && s.step === 'limit-a')!;
      const columns = await Promise.all([-1, 0, 1].map((dx) => column(page, 'plot-connections-a', canvasX(limit.t) + dx)));
      const plotRows = over.height;
      expect(Math.max(...columns.map((c) => c.colours[limit.color] ?? 0)), 'limit-a line of #1').toBeGreaterThan(plotRows * 0.6);
      // Before the first step nothing is shaded (a grid line or a series crosses a few rows); in the limit's span every row is.
      const before = await column(page, 'plot-connections-a', canvasX(1));
      const during = await column(page, 'plot-connections-a', canvasX(26));
      expect(before.inked).toBeLessThan(plotRows * 0.3);
      expect(during.inked).toBeGreaterThan(plotRows * 0.95);
    });

    it('hides the flags of a configuration the legend hides', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const page = opened.page;
      const texts = async () => (await flagsOf(page, 'plot-memory-a')).flags.map((f) => f.text);
      expect(await texts()).toContain('threads-a timed out');
      await page.locator('button.config-chip[data-config="#3"]').click();
      expect(await texts()).not.toContain('threads-a timed out');
      expect(await texts()).toContain('threads-a failed');
      await page.locator('button.config-chip[data-config="#3"]').click();
      expect(await texts()).toContain('threads-a timed out');
    });

    it('tables the steps in each panel, and saves screenshots of the charts and of a panel', async ({ skip }) => {
      if (!opened) return skip(skipReason ?? 'the browser did not start');
      const page = opened.page;
      for (const [i, config] of report.configs.entries()) {
        const rows = page.locator(`#config-${i + 1} table.steps tbody tr`);
        expect(await rows.count()).toBe(config.observations.filter((o) => o.kind === 'step').length);
      }
      expect(await page.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(VIEWPORT.width);
      await page.locator('section#charts').screenshot({ path: join(SCREENSHOT_DIR, 'report-html-chaos-charts.png') });
      await page.locator('#config-1 summary').first().click();
      await page.locator('#config-1 table.steps').scrollIntoViewIfNeeded();
      const path = join(SCREENSHOT_DIR, 'report-html-chaos-panel.png');
      await page.locator('#config-1').screenshot({ path });
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
