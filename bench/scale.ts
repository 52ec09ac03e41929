// What a long run costs the reports: a real 6-configuration report (test/fixtures/report-scraping-burst.json,
// a 30-second burst) stretched to runs of 1, 5, 10 and 30 minutes with every sampled series repeated at
// its own interval (cgroup memory every 200 ms, the rest every second, as the samplers record them),
// then report.json and report.html written, their sizes, the time to render each, and the time the real
// browser (Debian's chromium) takes to load the page and draw every chart. Beside report.json (schema
// version 2, samples in columns), the size the same report had as version 1 wrote it (one observation a line).
// Usage: node --import tsx bench/scale.ts [--minutes 1,5,10,30] [--no-browser]
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConfigResult, RunReport } from '../src/0-model/report.ts';
import type { Observation } from '../src/0-model/observation.ts';
import { formatBytes } from '../src/0-model/units.ts';
import { renderHtml, renderJson } from '../src/7-report/index.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'no-browser': { type: 'boolean' } } });
const MINUTES = (values.minutes ?? '1,5,10,30').split(',').map(Number);
const CHROMIUM = '/usr/bin/chromium';
const TEMPLATE = resolve(import.meta.dirname, '../test/fixtures/report-scraping-burst.json');

type Series = Observation[];

/** Every sampled series of a configuration (same kind, instance, source, metric), in time order. */
function seriesOf(config: ConfigResult): Map<string, Series> {
  const series = new Map<string, Series>();
  for (const o of config.observations) {
    if (o.kind !== 'sample' && o.kind !== 'innodb-status') continue;
    const key = o.kind === 'sample' ? `${o.instance}|${o.source}|${o.metric}` : `${o.instance}|innodb`;
    const list = series.get(key) ?? [];
    list.push(o);
    series.set(key, list);
  }
  return series;
}

/** The configuration's series repeated at their own interval until `seconds`; the rest kept, the kills moved to the end. */
function stretch(config: ConfigResult, seconds: number): ConfigResult {
  const others = config.observations.filter((o) => o.kind !== 'sample' && o.kind !== 'innodb-status');
  const stretched: Observation[] = [];
  const endMs = seconds * 1000;
  const originalEnd = Math.max(...config.observations.map((o) => o.t));
  for (const list of seriesOf(config).values()) {
    const first = list[0]!.t;
    const span = list.at(-1)!.t - first;
    const interval = list.length > 1 ? span / (list.length - 1) : 1000;
    for (let i = 0, t = first; t <= endMs; i++, t = first + i * interval) stretched.push({ ...list[i % list.length]!, t: Math.round(t) });
  }
  // Events after the template's series (kills, final states) stay at the end of the longer run.
  const shift = endMs - originalEnd;
  const moved = others.map((o) => (o.t > originalEnd - 5_000 ? { ...o, t: o.t + Math.max(0, shift) } : o));
  return { ...config, durationMs: endMs, observations: [...moved, ...stretched].sort((a, b) => a.t - b.t) };
}

/** report.json as schema version 1 was written (every observation, samples included, one a line): the size version 2 replaced. */
function renderJsonV1(report: RunReport): string {
  const lines = (items: unknown[], indent: string) => (items.length === 0 ? '[]' : `[\n${items.map((o) => `${indent}  ${JSON.stringify(o)}`).join(',\n')}\n${indent}]`);
  const blocks: unknown[][] = [];
  const text = JSON.stringify({ ...report, schemaVersion: 1 }, (key, value: unknown) => (key === 'observations' && Array.isArray(value) ? `\u0000${blocks.push(value) - 1}\u0000` : value), 2);
  return `${text.replace(/^( *)("observations": )"\\u0000(\d+)\\u0000"/gm, (_, indent: string, label: string, i: string) => `${indent}${label}${lines(blocks[Number(i)]!, indent)}`)}\n`;
}

interface Figures {
  minutes: number;
  samples: number;
  jsonBytes: number;
  v1Bytes: number;
  htmlBytes: number;
  jsonMs: number;
  htmlMs: number;
  loadMs?: number;
}

const notMeasured = values['no-browser'] ? 'not measured (--no-browser)' : `not measured (no ${CHROMIUM}: apt-get install -y chromium)`;

async function browserLoad(file: string): Promise<number | undefined> {
  if (values['no-browser'] || !existsSync(CHROMIUM)) return undefined;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const started = performance.now();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // Drawn: every chart's canvas exists (page.ts builds one uPlot per chart after load).
    // A string: the bench is type-checked without the DOM's types.
    await page.waitForFunction(`document.querySelectorAll('.uplot canvas').length >= JSON.parse(document.getElementById('oomlab-chart-data').textContent).charts.length`);
    return performance.now() - started;
  } finally {
    await browser.close();
  }
}

const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as RunReport;
const dir = await mkdtemp(join(tmpdir(), 'oomlab-scale-'));
const rows: Figures[] = [];
try {
  for (const minutes of MINUTES) {
    const report: RunReport = { ...template, durationMs: minutes * 60_000, configs: template.configs.map((c) => stretch(c, minutes * 60)) };
    const samples = report.configs.reduce((n, c) => n + c.observations.length, 0);
    let started = performance.now();
    const json = renderJson(report);
    const jsonMs = performance.now() - started;
    const v1Bytes = Buffer.byteLength(renderJsonV1(report));
    started = performance.now();
    const page = renderHtml(report);
    const htmlMs = performance.now() - started;
    const file = join(dir, `report-${minutes}m.html`);
    await writeFile(file, page);
    await writeFile(join(dir, `report-${minutes}m.json`), json);
    const loadMs = await browserLoad(file);
    rows.push({
      minutes,
      samples,
      jsonBytes: (await stat(join(dir, `report-${minutes}m.json`))).size,
      v1Bytes,
      htmlBytes: (await stat(file)).size,
      jsonMs,
      htmlMs,
      ...(loadMs !== undefined ? { loadMs } : {}),
    });
    const last = rows.at(-1)!;
    console.log(
      `${String(minutes).padStart(3)} min × ${report.configs.length} configurations: ${samples} observations; report.json ${formatBytes(last.jsonBytes)} in ${last.jsonMs.toFixed(0)} ms (as version 1: ${formatBytes(last.v1Bytes)}, ${(last.v1Bytes / last.jsonBytes).toFixed(1)}× larger); report.html ${formatBytes(last.htmlBytes)} in ${last.htmlMs.toFixed(0)} ms; browser load ${loadMs === undefined ? notMeasured : `${loadMs.toFixed(0)} ms`}`,
    );
  }
  const [base, top] = [rows[0]!, rows.at(-1)!];
  const growth = (a: number, b: number) => (b / a / (top.minutes / base.minutes)).toFixed(2);
  console.log(
    `growth ${base.minutes}→${top.minutes} min, relative to linear (1.00 = linear, below = sublinear): json size ${growth(base.jsonBytes, top.jsonBytes)}, html size ${growth(base.htmlBytes, top.htmlBytes)}, html render ${growth(base.htmlMs, top.htmlMs)}${top.loadMs && base.loadMs ? `, browser load ${growth(base.loadMs, top.loadMs)}` : ''}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
