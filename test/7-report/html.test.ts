import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORTERS, renderHtml, writeReports } from '../../src/7-report/index.ts';
import type { RunReport } from '../../src/0-model/report.ts';
import type { ChartData } from '../../src/7-report/html/chart-data.ts';

function fixture(name: string): RunReport {
  return JSON.parse(readFileSync(new URL(`../fixtures/report-${name}.json`, import.meta.url), 'utf8')) as RunReport;
}

function chartData(html: string): ChartData {
  const block = /<script type="application\/json" id="oomlab-chart-data">([\s\S]*?)<\/script>/.exec(html);
  if (!block) throw new Error('no chart data block');
  return JSON.parse(block[1]!) as ChartData;
}

function verdictRows(html: string): string[] {
  const body = /<table class="verdicts">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return body.split('\n').filter((line) => line.startsWith('<tr'));
}

function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  if (start < 0) throw new Error(`no section ${id}`);
  return html.slice(start, html.indexOf('</section>', start));
}

/** The markup alone: uPlot and the JSON data block (inert, checked on its own) left out. */
function withoutUplot(html: string): string {
  return html
    .replace(/<script>\/\*! https:\/\/github\.com\/leeoniya\/uPlot[\s\S]*?<\/script>/, '<script>UPLOT</script>')
    .replace(/(<script type="application\/json" id="oomlab-chart-data">)[\s\S]*?<\/script>/, '$1DATA</script>');
}

const burst = fixture('burst-oom');
const nofile = fixture('nofile-oom');
const replicas = fixture('replicas-synthetic');
/** A real run of scenarios/scraping-burst.ts (6 configurations, replicas a and b, a's neighbour on a shared 1.5 GiB side). */
const scraping = fixture('scraping-burst');

const TRICKY = `</script><script>alert("x")</script> & <!-- 'q' <b>`;

function trickyReport(): RunReport {
  const report = structuredClone(nofile);
  report.scenario = `nofile <oom> & "quotes"`;
  report.incident = `Incident ${TRICKY}`;
  const [first, second] = report.configs;
  first!.axes = { ...first!.axes, fix: `<img src=x onerror=alert(1)>` };
  first!.evidence.unshift({ source: 'kernel', text: TRICKY });
  first!.serverLogTail = `line one\n${TRICKY}\n`;
  second!.verdict = 'fail';
  second!.reason = `expected <survived> & got "crashed"`;
  return report;
}

describe('renderHtml', () => {
  const html = renderHtml(burst);

  it('is one HTML document with every section, in reading order: the answer first, the host folded last', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.endsWith('</html>\n')).toBe(true);
    const order = ['<header>', '<section id="answer">', '<section id="verdicts">', '<section id="charts">', '<section id="evidence">', '<section id="host"><details>'].map((tag) => html.indexOf(tag));
    expect(order.every((index) => index > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('balances its containers', () => {
    const page = withoutUplot(html);
    for (const tag of ['section', 'table', 'thead', 'tbody', 'tr', 'details', 'summary', 'figure', 'pre', 'script', 'style']) {
      const opened = page.match(new RegExp(`<${tag}[\\s>]`, 'g'))?.length ?? 0;
      expect({ tag, opened }).toEqual({ tag, opened: page.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0 });
    }
  });

  it('heads the page with the scenario, incident, run and coloured summary counts', () => {
    expect(html).toContain('<title>oomlab · burst-oom · 2026-11-22T02-59-01Z-e79ced</title>');
    expect(html).toContain('<h1><span class="brand">oomlab</span> burst-oom</h1>');
    expect(html).toContain(`<p class="incident">${burst.incident}</p>`);
    expect(html).toContain('run <code>2026-11-22T02-59-01Z-e79ced</code> · started 2026-11-22T02:59:01.314Z · 89 s · <code>scenarios/burst-oom.ts</code>');
    expect(html).toContain(
      '<span class="count pass">3 as expected</span> <span class="count fail">1 not as expected</span> <span class="count error">0 could not decide (harness error)</span> <span class="count skipped">0 not run</span>',
    );
  });

  it('lists the host facts', () => {
    const host = section(html, 'host');
    expect(host).toContain('<tr><th scope="row">Kernel</th><td>6.18.44-fc-v669</td></tr>');
    expect(host).toContain('<tr><th scope="row">cgroup version</th><td>v1</td></tr>');
    expect(host).toContain('<tr><th scope="row">NUMA nodes</th><td>1</td></tr>');
    expect(host).toContain('<tr><th scope="row">Transparent huge pages</th><td>madvise</td></tr>');
    expect(host).toContain('<tr><th scope="row">nofile ceiling (hard RLIMIT_NOFILE)</th><td>20,000</td></tr>');
    expect(host).toContain('<tr><th scope="row">Emulated</th><td>nothing</td></tr>');
  });

  it('says what was emulated, and where, and marks the rows whose configuration the data says was emulated', () => {
    const page = renderHtml(nofile);
    expect(section(page, 'host')).toContain(
      '<tr><th scope="row">Emulated</th><td>nofile 1,048,576 for db (real limit 20,000, getrlimit/prlimit LD_PRELOAD shim) in #4, #5, #6, #7, #8, #9<br>nofile 1,073,741,816 for db (real limit 20,000, getrlimit/prlimit LD_PRELOAD shim) in #10, #11, #12, #13, #14, #15</td></tr>',
    );
    const rows = verdictRows(page);
    expect(rows[0]).toContain('<td>default</td>');
    expect(rows[0]).not.toContain('class="emulated"');
    // The mark comes from ConfigResult.emulated, not from an axis being named `nofile`: it sits on the row's tag.
    expect(rows[10]).toContain('#11</a><abbr class="emulated" title="emulated: nofile 1,073,741,816 for db (real limit 20,000, getrlimit/prlimit LD_PRELOAD shim)">*</abbr></td><td>1073741816</td>');
    expect(page).toContain(
      '* nofile above 20,000 is emulated (getrlimit/prlimit LD_PRELOAD shim) in #4, #5, #6, #7, #8, #9, #10, #11, #12, #13, #14, #15: the container&#39;s real limit stays at the host&#39;s ceiling.',
    );
    const renamed = structuredClone(nofile);
    for (const config of renamed.configs) config.axes = Object.fromEntries(Object.entries(config.axes).map(([axis, value]) => [axis === 'nofile' ? 'descriptors' : axis, value]));
    expect(verdictRows(renderHtml(renamed))[10]).toContain('#11</a><abbr class="emulated"');
  });

  it('has one verdict row per configuration, axes that vary as columns and the others above', () => {
    const verdicts = section(html, 'verdicts');
    expect(verdicts).toContain('Every configuration: image=<code>oomlab/mariadb:10.11</code> · allocator=<code>glibc</code> · innodb_thread_concurrency=<code>0</code> · memory=<code>1g</code>');
    expect(verdicts).toContain(
      '<thead><tr><th>#</th><th>buffers</th><th>max_<wbr>connections</th><th>outcome</th><th>verdict</th><th>peak memory / limit</th><th>@@open_<wbr>files_<wbr>limit</th><th>peak connections</th><th>query p99</th><th>errors</th></tr></thead>',
    );
    const rows = verdictRows(html);
    expect(rows).toHaveLength(burst.configs.length);
    expect(rows.map((row) => /<tr class="(\w+)">/.exec(row)?.[1])).toEqual(['pass', 'pass', 'fail', 'pass']);
    expect(rows[2]).toContain('<td class="tag"><a href="#config-3"><span class="swatch" style="background:#2ca02c"></span>#3</a></td><td>sized</td><td>2000</td>');
    expect(rows[2]).toContain('<td class="outcome">oom-killed-under-load<br><small>expected survived</small></td><td><span class="badge fail">not as expected (expected survived)</span></td>');
    expect(rows[2]).toContain('<td class="num">12468 ms</td><td class="errors">2013 CR_SERVER_LOST: 1050<br>timeout: 349</td>');
    // The deciding evidence has a full-width row of its own under the figures (same text line of the markup).
    expect(rows[2]).toContain('<td class="errors">2013 CR_SERVER_LOST: 1050<br>timeout: 349</td></tr><tr class="evidence-row fail"><td class="tag"></td><td class="evidence" colspan="9">');
    expect(rows[2]).toContain('<div class="reason">expected survived, got oom-killed-under-load</div><code>kernel: Memory cgroup out of memory: Killed process 10606 (mariadbd)');
    expect(rows[3]).toContain('<td class="num">20,000</td>');
    expect(rows[0]).toContain('<td class="outcome">oom-killed-under-load</td>');
  });

  it('shows peak memory against the limit, and the predicted peak and B:A ratio when present', () => {
    expect(verdictRows(html)[0]).toContain('1 GiB / 1 GiB</td>');
    expect(html).not.toContain('B:A connections');
    const rows = verdictRows(renderHtml(replicas));
    expect(rows[0]).toContain('1 GiB / 1 GiB<br><small class="predicted">predicted 1.5 GiB</small></td>');
    expect(rows[0]).toContain('<td class="num">0.3:1</td>');
    expect(rows[1]).toContain('<td class="num">1.1:1</td>');
    expect(section(renderHtml(replicas), 'verdicts')).toContain('<th>B:A connections</th>');
  });

  it('lists errored configurations with their reason, and the skipped ones one line per reason, last', () => {
    const rows = verdictRows(renderHtml(replicas));
    expect(rows[2]).toContain('<span class="badge error">could not decide (harness error)</span>');
    expect(rows[2]).toContain('<div class="reason">timed out before it was decided: waited 240000ms for &lt;a&gt;</div>');
    expect(rows[3]).toBe(
      '<tr class="skipped-group"><td class="tag"><span class="badge skipped">not run</span></td><td colspan="9">1 configuration with balancer=round-robin: image mysql:5.5 is not available: no registry &lt;offline&gt; | build docker/mysql-5.5 &amp; retry</td></tr>',
    );
  });

  it('escapes every text it writes: scenario, incident, axes, evidence, reasons, logs', () => {
    const page = renderHtml(trickyReport());
    const written = withoutUplot(page);
    expect(written).toContain('<h1><span class="brand">oomlab</span> nofile &lt;oom&gt; &amp; &quot;quotes&quot;</h1>');
    expect(written).toContain('Incident &lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;!-- &#39;q&#39; &lt;b&gt;');
    expect(written).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(written).toContain('<code>kernel: &lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(written).toContain('<div class="reason">expected &lt;survived&gt; &amp; got &quot;crashed&quot;</div>');
    expect(written).toContain('<pre class="log">line one\n&lt;/script&gt;');
    expect(written).not.toContain('<img');
    expect(written).not.toContain('<b>');
    expect(written).not.toContain('alert("x")');
    // Only the three scripts the report puts there: the data, uPlot and the drawing code.
    expect(written.match(/<script/g)).toHaveLength(3);
    expect(written.match(/<\/script>/g)).toHaveLength(3);
  });

  it('keeps </ and <!-- out of the JSON data block, and the data still parses', () => {
    const report = structuredClone(replicas);
    report.configs[0]!.observations.push({ kind: 'sample', t: 1, instance: `</script><!--`, source: 'cgroup', metric: 'memoryUsageBytes', value: 1 });
    const page = renderHtml(report);
    const block = /<script type="application\/json" id="oomlab-chart-data">([\s\S]*?)<\/script>/.exec(page)![1]!;
    expect(block).not.toContain('</');
    expect(block).not.toContain('<!--');
    // The instance is a role of its own now: its small multiple carries the name in its id, escaped in the markup.
    const role = chartData(page).charts.find((c) => c.id === 'memory-</script><!--')!;
    expect(role.series.map((s) => s.label)).toEqual(['#1 fastest']);
    expect(page).toContain('<div class="multiple"><h3>&lt;/script&gt;&lt;!--');
    expect(page).toContain('<div class="plot" id="plot-memory-&lt;/script&gt;&lt;!--"></div>');
  });

  it('loads nothing from the network: no external src or href, no <link>, no url(), no @import', () => {
    for (const page of [html, renderHtml(nofile), renderHtml(replicas), renderHtml(trickyReport())]) {
      expect(page).not.toMatch(/\s(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
      expect(page).not.toMatch(/<script[^>]*\ssrc\s*=/i);
      expect(page).not.toMatch(/<link[\s>]/i);
      expect(page).not.toMatch(/url\(/i);
      expect(page).not.toMatch(/@import/i);
      // The one URL in the file is uPlot's licence banner, a comment.
      expect(page.match(/https?:\/\/[^\s"')]+/g)).toEqual(['https://github.com/leeoniya/uPlot']);
      expect(page).toContain('<script>/*! https://github.com/leeoniya/uPlot (v1.6.32) */');
    }
  });

  it('inlines uPlot and its stylesheet', () => {
    expect(html).toContain('var uPlot=function(){');
    expect(html).toContain('.uplot, .uplot *, .uplot *::before, .uplot *::after {box-sizing: border-box;}');
    expect(html).toContain('uPlot.pxRatio');
  });

  it('renders a run that ended before any configuration, saying why', () => {
    const report: RunReport = { ...structuredClone(burst), configs: [], summary: { pass: 0, fail: 0, skipped: 0, error: 0 }, endedBy: 'error', error: 'engine lost: <docker.sock> gone' };
    const page = renderHtml(report);
    expect(page).toContain('<p class="warning">The run ended by <strong>error</strong>: engine lost: &lt;docker.sock&gt; gone</p>');
    expect(verdictRows(page)).toEqual([]);
    expect(chartData(page)).toEqual({ charts: [], peaks: [] });
    expect(page).toContain('<strong>No samples</strong> for peak memory against the limit, container memory against its limit,');
  });

  it('is deterministic: the same report gives the same bytes, and renders leave the report as it was', () => {
    const before = structuredClone(replicas);
    expect(renderHtml(replicas)).toBe(renderHtml(structuredClone(replicas)));
    expect(replicas).toEqual(before);
  });
});

describe('renderHtml charts', () => {
  it('draws memory, connections and context switches for a burst run, one line per configuration, and says which had no samples', () => {
    const html = renderHtml(burst);
    const data = chartData(html);
    expect(data.charts.map((c) => c.id)).toEqual(['memory', 'connections', 'context-switches']);
    const memory = data.charts[0]!;
    expect(memory.unit).toBe('bytes');
    expect(memory.series.map((s) => s.label)).toEqual(['#1 incident-era · 2000', '#2 incident-era · 300', '#3 sized · 2000', '#4 sized · 300', 'limit 1 GiB']);
    expect(memory.series[2]!.points[0]).toEqual([2.139, 225198080]);
    expect(memory.series[4]!.points).toEqual([
      [0, 1073741824],
      [46.557, 1073741824],
    ]);
    expect(memory.markers.map((m) => m.label)).toEqual(['OOM #1', 'OOM #2', 'OOM #3']);
    // At the judge's kill time, the earliest sign (here the engine's `oom` event; the `die` came at 20.978 s), not when the kernel log was read afterwards (21.871 s).
    expect(memory.markers[2]!.t).toBe(20.653);
    for (const id of ['memory', 'connections', 'context-switches']) expect(html).toContain(`<div class="plot" id="plot-${id}"></div>`);
    expect(html).toContain('<p class="no-samples"><strong>Zero throughout</strong> (direct reclaim: 140 samples; allocation stalls per second: 70 samples; compaction per second: 140 samples)</p>');
    expect(html).toContain('<p class="no-samples"><strong>No samples</strong> for query latency percentiles, requests per second: those charts are left out.</p>');
  });

  it('draws the peak bars for a start-up run that has no time series', () => {
    const html = renderHtml(nofile);
    const data = chartData(html);
    expect(data.charts).toEqual([]);
    expect(data.peaks).toHaveLength(15);
    expect(data.peaks[10]).toEqual({ label: '#11', color: '#a12bab', peakBytes: 1073741824, limitBytes: 1073741824, text: '1 GiB of 1 GiB (100%)', note: '1073741816 · none · explicit' });
    expect(html).toContain('<canvas id="peaks-canvas"></canvas>');
    expect(html).toContain(
      '<strong>No samples</strong> for container memory against its limit, connections, query latency percentiles, requests per second, context switches per second, direct reclaim, allocation stalls per second, compaction per second',
    );
  });

  it('draws one small chart per instance role where configurations have several, host counters once per configuration, and no line for a skipped one', () => {
    const html = renderHtml(replicas);
    const data = chartData(html);
    const byId = new Map(data.charts.map((c) => [c.id, c]));
    expect([...byId.keys()]).toEqual(['memory-a', 'memory-b', 'memory-neighbour', 'connections-a', 'connections-b', 'latency', 'requests', 'context-switches']);
    // One line per configuration in each role's chart, each role on its own scale with its own limit.
    expect(byId.get('memory-a')!.series.map((s) => [s.label, s.dash])).toEqual([
      ['#1 fastest', undefined],
      ['#2 least-connections', undefined],
      ['#4 dns', undefined],
      ['limit 1 GiB', [4, 4]],
    ]);
    expect(byId.get('memory-b')!.series.map((s) => s.label)).toEqual(['#1 fastest', '#2 least-connections', 'limit 1 GiB']);
    // The neighbour holds a few MiB against 1 GiB: the limit is named above the chart instead of flattening its lines.
    expect(byId.get('memory-neighbour')!.series.map((s) => s.label)).toEqual(['#1 fastest', '#2 least-connections']);
    expect(byId.get('memory-neighbour')!.above).toEqual(['limit 1 GiB']);
    expect(byId.get('memory-a')!.markers.map((m) => m.label)).toEqual(['OOM #1']);
    expect(byId.get('memory-b')!.markers).toEqual([]);
    expect(section(html, 'charts')).toContain('<div class="multiple"><h3>neighbour <small class="limits">limit 1 GiB above this scale</small></h3><div class="plot" id="plot-memory-neighbour"></div>');
    expect(byId.get('context-switches')!.series.map((s) => s.label)).toEqual(['#1 fastest', '#2 least-connections']);
    expect(byId.get('latency')!.series.map((s) => [s.label, s.show])).toEqual([
      ['#1 fastest p99', true],
      ['#1 fastest p50', true],
      ['#1 fastest p90', false],
      ['#2 least-connections p99', true],
      ['#2 least-connections p50', true],
      ['#2 least-connections p90', false],
    ]);
    expect(byId.get('latency')!.markers.map((m) => m.label)).toEqual(['OOM #1 a']);
    expect(data.charts.flatMap((c) => c.series).some((s) => s.label.startsWith('#3'))).toBe(false);
    expect(data.peaks.map((p) => [p.label, p.predictedBytes])).toEqual([
      ['#1', 1610612736],
      ['#2', 922746880],
      ['#4', undefined],
    ]);
  });

  it('draws one limit line per distinct limit in a role, naming the configurations each belongs to', () => {
    const report = structuredClone(replicas);
    const b = report.configs[0]!.instances.find((i) => i.instance === 'b')!;
    b.memoryLimitBytes = 512 * 1024 * 1024;
    report.configs[0]!.observations = report.configs[0]!.observations.filter((o) => o.kind !== 'memory-peak');
    const charts = new Map(chartData(renderHtml(report)).charts.map((c) => [c.id, c]));
    const limits = (id: string) =>
      charts
        .get(id)!
        .series.filter((s) => s.label.startsWith('limit'))
        .map((s) => [s.label, s.points[0]![1]]);
    expect(limits('memory-a')).toEqual([['limit 1 GiB', 1073741824]]);
    expect(limits('memory-b')).toEqual([
      ['limit 512 MiB (#1)', 536870912],
      ['limit 1 GiB (#2)', 1073741824],
    ]);
  });
});

describe('renderHtml on a scraping-burst run', () => {
  const html = renderHtml(scraping);
  const charts = new Map(chartData(html).charts.map((c) => [c.id, c]));

  it('gives each instance role its own memory chart, each with its own limit, and a limit far above the lines is named instead of drawn', () => {
    expect([...charts.keys()]).toEqual(['memory-a', 'memory-b', 'memory-neighbour', 'connections-a', 'connections-b', 'latency', 'requests', 'context-switches']);
    const limits = (id: string) =>
      charts
        .get(id)!
        .series.filter((s) => s.limit)
        .map((s) => [s.label, s.points[0]![1]]);
    // A's climb to its 1.5 GiB is read on a 2 GiB scale: the roomy configuration's 9 GiB is named above it.
    expect(limits('memory-a')).toEqual([['limit 1.5 GiB (#1 #4 #5 #6)', 1610612736]]);
    expect(charts.get('memory-a')!.above).toEqual(['limit 9 GiB (#3)']);
    expect(limits('memory-b')).toEqual([['limit 12 GiB', 12884901888]]);
    expect(charts.get('memory-b')!.above).toBeUndefined();
    expect(charts.get('memory-a')!.markers.map((m) => m.label)).toEqual(['OOM #1', 'OOM #4', 'OOM #5', 'OOM #6']);
    expect(charts.get('memory-b')!.markers).toEqual([]);
    expect(charts.get('requests')!.markers.map((m) => m.label)).toEqual(['OOM #1 a', 'OOM #4 a', 'OOM #5 a', 'OOM #6 a']);
    expect(section(html, 'charts')).toContain('<h3>a <small class="limits">limit 1.5 GiB (#1 #4 #5 #6) dashed · limit 9 GiB (#3) above this scale</small></h3>');
  });

  it('names each configuration of a one-at-a-time matrix by what it changes, in one legend of toggles', () => {
    expect(charts.get('memory-b')!.series.map((s) => s.label)).toEqual([
      '#1 glibc · 0 · always · tight · default',
      '#3 headroom=roomy',
      '#4 thp=never',
      '#5 innodb_thread_concurrency=32',
      '#6 allocator=jemalloc',
      'limit 12 GiB',
    ]);
    const legend = /<div class="config-legend">([\s\S]*?)<\/div>/.exec(section(html, 'charts'))![1]!;
    expect(legend.match(/<button type="button" class="config-chip" data-config="#\d"/g)).toHaveLength(5);
    expect(legend).toContain('<strong>#3</strong> headroom=roomy</button>');
  });

  it('fits the B:A column in the verdict table: the deciding evidence takes a row of its own', () => {
    expect(section(html, 'verdicts')).toContain('<th>errors</th><th>B:A connections</th></tr></thead>');
    const rows = verdictRows(html);
    expect(rows).toHaveLength(6);
    expect(rows[0]).toContain('<td class="num">15.0:1</td></tr><tr class="evidence-row pass"><td class="tag"></td><td class="evidence" colspan="13"><code>kernel: [a] Memory cgroup out of memory');
    expect(rows.at(-1)).toBe('<tr class="skipped-group"><td class="tag"><span class="badge skipped">not run</span></td><td colspan="13">1 configuration with numa=interleave: 1 NUMA node</td></tr>');
  });

  it('draws the summed usage of instances that share a memory budget against that budget, when the report says they share one', () => {
    const report = structuredClone(scraping);
    for (const config of report.configs) {
      const limitBytes = config.instances.find((i) => i.instance === 'a')?.memoryLimitBytes;
      if (limitBytes !== undefined) config.sharedMemory = [{ side: 'host-a', instances: ['a', 'neighbour'], limitBytes }];
    }
    const page = renderHtml(report);
    const memoryA = chartData(page).charts.find((c) => c.id === 'memory-a')!;
    const sum = memoryA.series.find((s) => s.label === '#1 glibc · 0 · always · tight · default · a + neighbour')!;
    expect(sum.dash).toEqual([3, 3]);
    // Within 64 MiB of the 1.5 GiB side limit by the time a is killed, while a alone stays under 900 MiB.
    expect(Math.max(...sum.points.map(([, bytes]) => bytes))).toBeGreaterThan(1610612736 - 64 * 1024 * 1024);
    expect(Math.max(...memoryA.series.find((s) => s.key === '#1')!.points.map(([, bytes]) => bytes))).toBeLessThan(900 * 1024 * 1024);
    expect(section(page, 'charts')).toContain('thin dashed: a + neighbour, who share that limit');
    expect(
      chartData(page)
        .charts.find((c) => c.id === 'memory-b')!
        .series.some((s) => s.label.includes(' + ')),
    ).toBe(false);
  });
});

describe('renderHtml evidence panels', () => {
  const html = renderHtml(replicas);
  const evidence = section(html, 'evidence');
  const panel = (n: number) => evidence.slice(evidence.indexOf(`id="config-${n}"`), evidence.indexOf('</details>\n', evidence.indexOf(`id="config-${n}"`)));

  it('has one panel per configuration, open where it failed or errored', () => {
    expect(evidence.match(/<details class="panel"/g)).toHaveLength(4);
    expect(evidence).toContain(
      '<details class="panel" id="config-1" open><summary><span class="swatch" style="background:#1f77b4"></span><strong>#1</strong> balancer=fastest <span class="badge fail">not as expected</span>',
    );
    expect(evidence).toContain('<details class="panel" id="config-2"><summary>');
    expect(evidence).toContain('<details class="panel" id="config-4" open><summary>');
  });

  it('shows the kernel OOM lines, docker events, InnoDB semaphores and the server log tail', () => {
    const first = panel(1);
    expect(first).toContain('<h4>Kernel OOM lines</h4><pre class="kernel">[21.871 s] a: Memory cgroup out of memory: Killed process 10606 (mariadbd) total-vm:8591726636kB');
    expect(first).toContain('<h4>Docker events</h4><pre>[20.653 s] a: oom\n[20.978 s] a: die exitCode=137\n[21.870 s] a: State.Status=exited OOMKilled=true ExitCode=137</pre>');
    expect(first).toContain('<h4>InnoDB semaphores</h4><p class="instance">a at 20.400 s</p><pre>SEMAPHORES\n----------\nOS WAIT ARRAY INFO: reservation count 18432117');
    expect(first).toContain('Mutex at 0x13d6b3c0 &#39;&amp;kernel_mutex&#39;, lock var 1');
    expect(first).toContain('<h4>Server log tail</h4><pre class="log">');
    expect(first).toContain('a log line with markup: &lt;/script&gt;&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt; &amp; &lt;!-- not a comment --&gt; &#39;quoted&#39;');
    expect(first).toContain('<table class="instances">');
    expect(panel(2)).toContain('<h4>Kernel OOM lines</h4><p class="none">none</p>');
    // Written before reports kept the server's version with its samples: no claim about why it is empty.
    expect(panel(2)).toContain('<h4>InnoDB semaphores</h4><p class="none">empty</p>');
    expect(panel(4)).toContain('<h4>InnoDB semaphores</h4><p class="none">not sampled</p>');
  });

  it('lists every observation that is not a sample in its timeline', () => {
    expect(panel(1)).toMatch(/<summary>All events: \d+ events \(\d+ samples, quiet InnoDB reads and log tails left out\)<\/summary><pre>\[0\.4\d\d s\] a nofile: nofile default/);
    expect(panel(1)).toContain('a storm: 1590/1590 sessions started');
  });
});

describe('the html reporter', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oomlab-html-test-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is registered as report.html and writes what renderHtml renders', async () => {
    expect(REPORTERS.html.file).toBe('report.html');
    expect(await writeReports(burst, dir, ['html'])).toEqual([join(dir, 'report.html')]);
    expect(await readdir(dir)).toEqual(['report.html']);
    expect(await readFile(join(dir, 'report.html'), 'utf8')).toBe(renderHtml(burst));
  });
});
