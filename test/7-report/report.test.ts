import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJson, renderJunit, renderMarkdown, writeReports } from '../../src/7-report/index.ts';
import { REPORT_SCHEMA_VERSION, type ConfigResult, type RunReport } from '../../src/0-model/report.ts';
import { parseReport } from '../../src/0-model/parse-report.ts';

const KILLED_LINE = 'Memory cgroup out of memory: Killed process 18470 (mariadbd) total-vm:16827320kB, anon-rss:1046016kB, file-rss:684kB, shmem-rss:0kB';
const TRICKY_EVIDENCE = '@@open_files_limit=20000 (10.11.6-MariaDB "deb12u1" <bookworm> & co | pipes)';
const SKIP_REASON = 'image mysql:5.7 is not available: no registry | build docker/mysql-5.7';
const ERROR_REASON = 'timed out before it was decided: waited 240000ms for <db>';

const axes = (image: string, nofile: string | number, fix: string) => ({ image, nofile, fix });

function configResult(overrides: Partial<ConfigResult> & Pick<ConfigResult, 'id' | 'axes' | 'verdict'>): ConfigResult {
  return {
    outcome: null,
    reason: '',
    expected: { db: 'survived' },
    evidence: [],
    metrics: {},
    instances: [],
    emulated: [],
    durationMs: 1_000,
    endedBy: 'done',
    observations: [],
    ...overrides,
  };
}

const passed = configResult({
  id: 'image=oomlab/mariadb:10.11,nofile=1073741816,fix=none',
  axes: axes('oomlab/mariadb:10.11', 1073741816, 'none'),
  verdict: 'pass',
  outcome: 'oom-killed-at-startup',
  expected: { db: 'oom-killed-at-startup' },
  reason: 'oom-killed-at-startup, as expected',
  evidence: [
    { source: 'kernel', text: KILLED_LINE },
    { source: 'docker-event', text: 'die exitCode=137' },
  ],
  metrics: { peakMemoryBytes: 1073709056, memoryLimitBytes: 1073741824 },
  emulated: [{ instance: 'db', what: 'nofile', requested: 1073741816, realLimit: 20000, how: 'getrlimit/prlimit LD_PRELOAD shim' }],
  durationMs: 3_210,
});
const failed = configResult({
  id: 'image=oomlab/mariadb:10.11,nofile=1048576,fix=ulimit-4096',
  axes: axes('oomlab/mariadb:10.11', 1048576, 'ulimit-4096'),
  verdict: 'fail',
  outcome: 'survived',
  reason: 'open_files_limit 20000 > 4096',
  evidence: [{ source: 'server', text: TRICKY_EVIDENCE }],
  metrics: { openFilesLimit: 20000, readyAfterMs: 4_200 },
  durationMs: 8_000,
});
const skipped = configResult({
  id: 'image=mysql:5.7,nofile=default,fix=none',
  axes: axes('mysql:5.7', 'default', 'none'),
  verdict: 'skipped',
  reason: SKIP_REASON,
  durationMs: 0,
});
const errored = configResult({
  id: 'image=oomlab/mariadb:10.11,nofile=default,fix=none',
  axes: axes('oomlab/mariadb:10.11', 'default', 'none'),
  verdict: 'error',
  reason: ERROR_REASON,
  endedBy: 'timeout',
  durationMs: 240_000,
});

const report: RunReport = {
  schemaVersion: REPORT_SCHEMA_VERSION,
  scenario: 'nofile-oom',
  incident: 'Incident 1: mysqld 5.7 OOM-killed at start-up under K3s',
  scenarioFile: 'scenarios/nofile-oom.ts',
  runId: 'd2efba',
  startedAt: '2025-03-01T10:00:00.123Z',
  finishedAt: '2025-03-01T10:04:12.456Z',
  durationMs: 252_333,
  endedBy: 'done',
  host: {
    kernel: '6.18.44',
    nofileHardLimit: 20000,
    cgroupVersion: 1,
    numaNodes: 1,
    thpMode: 'madvise',
    dmesgReadable: true,
    bpftrace: false,
    memoryController: true,
    swapAccounting: true,
    k6: false,
    canLowerOomScoreAdj: false,
  },
  images: [
    { name: 'oomlab/mariadb:10.11', available: true, source: 'local' },
    { name: 'mysql:5.7', available: false, reason: SKIP_REASON },
  ],
  emulated: passed.emulated.map((e) => ({ ...e, configId: passed.id })),
  summary: { pass: 1, fail: 1, skipped: 1, error: 1 },
  configs: [passed, failed, skipped, errored],
};

/** The rows of the verdicts' table: the first table after `## Verdicts` (the answer's ranking comes before it, an upgrade view may follow). */
function tableRows(markdown: string): string[] {
  const lines = markdown.split('\n');
  const verdicts = lines.indexOf('## Verdicts');
  const start = lines.findIndex((line, i) => i > verdicts && line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end).slice(2);
}

/** Enough of XML to catch what a hand-written renderer gets wrong: tags balance, text and attributes escaped. */
function checkWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml [^?]*\?>\n/, '');
  const stack: string[] = [];
  let root = 0;
  for (const token of body.split(/(<[^>]*>)/)) {
    if (token.startsWith('<')) {
      const tag = /^<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
      if (!tag) throw new Error(`malformed tag ${token}`);
      const [, closing, name, attributes, selfClosing] = tag;
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(attributes!)) throw new Error(`unescaped & in ${token}`);
      if (closing) {
        if (stack.pop() !== name) throw new Error(`</${name}> closes nothing`);
      } else if (!selfClosing) {
        if (stack.length === 0) root++;
        stack.push(name!);
      }
    } else {
      if (token.includes('>') || /&(?!(amp|lt|gt|quot|apos);)/.test(token)) throw new Error(`unescaped text ${JSON.stringify(token)}`);
      if (stack.length === 0 && token.trim() !== '') throw new Error(`text outside the root: ${JSON.stringify(token)}`);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.join(' > ')}`);
  if (root !== 1) throw new Error(`${root} root elements`);
}

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(report);

  it('has one table row per configuration that ran, in order, its verdict in words; the skipped one a line of its own', () => {
    const rows = tableRows(markdown);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^\| #1 \| oomlab\/mariadb:10\.11 \| 1073741816\* \| none \| OOM-killed at start-up \| ✅ as expected \|/);
    expect(rows[1]).toMatch(/^\| #2 \| oomlab\/mariadb:10\.11 \| 1048576 \| ulimit-4096 \| survived \| ❌ not as expected \(open_files_limit 20000 > 4096\) \|.*\| 20000 \|$/);
    expect(rows[2]).toMatch(/^\| #4 \| oomlab\/mariadb:10\.11 \| default \| none \| — \| ⚠️ could not decide \(harness error\) \|/);
    expect(markdown).toContain(`⏭ **Not run:** 1 configuration with image=mysql:5.7: ${SKIP_REASON}`);
  });

  it('has a header with the axes and a separator of matching width', () => {
    const lines = markdown.split('\n');
    const [header, separator] = lines.slice(lines.indexOf('## Verdicts')).filter((line) => line.startsWith('|'));
    expect(header).toBe('| # | image | nofile | fix | outcome | verdict | peak memory | @@open_files_limit |');
    expect(separator).toBe('|---|---|---|---|---|---|---|---|');
  });

  it('marks emulated nofile with * only where it was emulated, and says so', () => {
    const nofileCells = tableRows(markdown).map((row) => row.split(' | ')[2]);
    expect(nofileCells).toEqual(['1073741816*', '1048576', 'default']);
    expect(markdown).toContain('nofile above 20000 is **emulated** (getrlimit shim) where marked *.');
  });

  it('escapes | inside cells so every row keeps its columns', () => {
    const rows = tableRows(markdown);
    expect(markdown).toContain(`server: ${TRICKY_EVIDENCE}`);
    expect(markdown).toContain('no registry | build docker/mysql-5.7');
    // The answer's line of what did not run and the line under the verdicts; the upgrade view names the image once, without the reason.
    expect(markdown.split('\n').filter((line) => line.includes('build docker/mysql-5.7'))).toHaveLength(2);
    expect(markdown).toContain('- Not run here: mysql:5.7 (why and what to do: under Verdicts).');
    expect(markdown).not.toMatch(/^\| mysql:5\.7 \|/m);
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length - 2).toBe(8);
  });

  it('shows the peak memory against the limit', () => {
    expect(tableRows(markdown)[0]).toContain('| 1024 MiB / 1 GiB |');
  });

  it('opens with the answer: the incident reproduced, in words, before the verdict table', () => {
    const lines = markdown.split('\n');
    expect(lines.indexOf('## The answer')).toBeLessThan(lines.indexOf('## Verdicts'));
    expect(markdown).toContain('- ✅ **Reproduced:** the incident — OOM-killed at start-up in 1 of 1 configuration (image=oomlab/mariadb:10.11 nofile=1073741816 fix=none).');
    expect(markdown).toContain(
      '- ❌ **Not as expected across nofile=1048576 or default, fix=ulimit-4096 or none:** in 2 configurations: survived 1, could not decide (harness error) 1 — expected survival.',
    );
    expect(markdown).toContain("| 1 | #1 the incident's configuration | OOM-killed at start-up | as expected | 1024 MiB / 1 GiB | none: killed |");
  });

  it('lists what was not as expected, and the summary in words', () => {
    expect(markdown).toContain('**1 as expected, 1 not as expected, 1 could not decide (harness error), 1 not run**');
    expect(markdown).toContain(`- \`${failed.id}\`: open_files_limit 20000 > 4096`);
    expect(markdown).toContain(`- \`${errored.id}\`: ${ERROR_REASON}`);
    expect(markdown).not.toContain(`- \`${passed.id}\``);
  });
});

describe('renderMarkdown with load expectations', () => {
  const ratioMissed = configResult({
    id: 'headroom=tight',
    axes: { headroom: 'tight' },
    verdict: 'fail',
    outcome: 'oom-killed-under-load',
    expected: { a: 'oom-killed-under-load', b: 'survived' },
    reason: 'a: oom-killed-under-load, as expected; b: survived, as expected; B:A connection ratio 15 < 1000 (short by 985); http_req_duration p(99) 11805 ms > 2000 ms',
    evidence: [{ source: 'kernel', text: `[a] ${KILLED_LINE}\noom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/oomlab-side-d2efba-0-host-a` }],
    metrics: { connectionRatio: 15 },
    expectations: [
      { expected: 'B:A connection ratio ≥ 1000', measured: 15, met: false, missedBy: 985, source: 'connections', line: 'B:A connection ratio 15 < 1000 (short by 985)', because: 'clients move to B' },
      { expected: 'http_req_duration p(99)>2000', measured: 11804.671, met: true, source: 'http-stand-in', line: 'http_req_duration p(99) 11805 ms > 2000 ms' },
    ],
  });
  const markdown = renderMarkdown({ ...report, summary: { pass: 0, fail: 1, skipped: 0, error: 0 }, emulated: [], configs: [ratioMissed] });

  it('names the missed claim and its shortfall among what was not as expected', () => {
    expect(markdown).toContain('- `headroom=tight`: a: oom-killed-under-load, as expected; b: survived, as expected; B:A connection ratio 15 < 1000 (short by 985);');
  });

  it('lists every claim with what was expected, whose figures and why', () => {
    expect(markdown).toContain(
      [
        'What the load had to show:',
        '',
        '- ❌ B:A connection ratio 15 < 1000 (short by 985) — expected B:A connection ratio ≥ 1000 (connections: clients move to B)',
        '- ✅ http_req_duration p(99) 11805 ms > 2000 ms (http-stand-in)',
      ].join('\n'),
    );
  });

  it("keeps a kill's evidence in the folded evidence, out of the table", () => {
    expect(tableRows(markdown)[0]).not.toContain(KILLED_LINE);
    expect(markdown).toContain(`kernel: [a] ${KILLED_LINE}`);
  });
});

describe('renderJunit', () => {
  const junit = renderJunit(report);

  it('counts tests, failures, errors and skipped like the summary', () => {
    expect(junit).toContain('<testsuites name="oomlab" tests="4" failures="1" errors="1" skipped="1" time="252.333">');
    expect(junit).toContain('<testsuite name="nofile-oom" tests="4" failures="1" errors="1" skipped="1" timestamp="2025-03-01T10:00:00" time="252.333">');
    expect(junit.match(/<testcase /g)).toHaveLength(4);
    expect(junit.match(/<failure /g)).toHaveLength(1);
    expect(junit.match(/<error /g)).toHaveLength(1);
    expect(junit.match(/<skipped /g)).toHaveLength(1);
  });

  it('gives the skipped configuration a <skipped message>', () => {
    expect(junit).toContain(`<testcase classname="oomlab.nofile-oom" name="${skipped.id}" time="0.000">\n      <skipped message="${SKIP_REASON}"/>\n    </testcase>`);
  });

  it('puts the evidence in the <failure>, escaping <, &, " and >', () => {
    expect(junit).toContain(
      '<failure message="open_files_limit 20000 &gt; 4096" type="expectation">server: @@open_files_limit=20000 (10.11.6-MariaDB &quot;deb12u1&quot; &lt;bookworm&gt; &amp; co | pipes)</failure>',
    );
  });

  it('reports an error with how the configuration ended', () => {
    expect(junit).toContain('<error message="timed out before it was decided: waited 240000ms for &lt;db&gt;" type="timeout"></error>');
  });

  it('keeps the evidence of a passed configuration in <system-out>', () => {
    expect(junit).toContain(`<system-out>kernel: ${KILLED_LINE}\ndocker-event: die exitCode=137</system-out>`);
  });

  it('is well-formed XML', async () => {
    const xmllint = await execa('which', ['xmllint'], { reject: false });
    if (xmllint.exitCode === 0) {
      const checked = await execa('xmllint', ['--noout', '-'], { input: junit, reject: false });
      expect(checked.stderr).toBe('');
      expect(checked.exitCode).toBe(0);
    }
    expect(() => checkWellFormed(junit)).not.toThrow();
  });

  it('the well-formedness check catches a raw < or & and an unclosed tag', () => {
    expect(() => checkWellFormed('<a>x & y</a>')).toThrow('unescaped text');
    expect(() => checkWellFormed('<a b="<"></a>')).toThrow('malformed tag');
    expect(() => checkWellFormed('<a><b></a>')).toThrow('</a> closes nothing');
  });
});

describe('renderJson', () => {
  it('round-trips through parseReport', () => {
    expect(parseReport(renderJson(report), 'report.json')).toEqual(report);
  });

  it('carries the schema version it writes and ends with a newline', () => {
    const json = renderJson({ ...report, schemaVersion: 1 });
    expect(JSON.parse(json).schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(json.endsWith('}\n')).toBe(true);
  });

  it('writes each observation other than a sample on one line and still round-trips', () => {
    const real = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/report-scraping-burst.json'), 'utf8')) as RunReport;
    const json = renderJson(real);
    const events = real.configs.reduce((n, c) => n + c.observations.filter((o) => o.kind !== 'sample').length, 0);
    expect(json.split('\n').filter((line) => /^ {8}\{"kind":/.test(line))).toHaveLength(events);
    expect(parseReport(json, 'report.json').configs.map((c) => c.observations.length)).toEqual(real.configs.map((c) => c.observations.length));
    // An empty list stays valid and short.
    const empty = renderJson({ ...real, configs: [{ ...real.configs[0]!, observations: [] }] });
    expect(empty).toContain('"observations": []');
    expect(empty).toContain('"samples": []');
  });
});

describe('writeReports', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oomlab-report-test-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes report.json, report.md, report.html and junit.xml whole, and no .partial file', async () => {
    const all = join(dir, 'all');
    await mkdir(all);
    const written = await writeReports(report, all);
    expect(written).toEqual([join(all, 'report.json'), join(all, 'report.md'), join(all, 'junit.xml'), join(all, 'report.html')]);
    expect((await readdir(all)).sort()).toEqual(['junit.xml', 'report.html', 'report.json', 'report.md']);
    expect(await readFile(join(all, 'report.json'), 'utf8')).toBe(renderJson(report));
    expect(await readFile(join(all, 'report.md'), 'utf8')).toBe(renderMarkdown(report));
    expect(await readFile(join(all, 'junit.xml'), 'utf8')).toBe(renderJunit(report));
  });

  it('writes only the formats asked for', async () => {
    const only = join(dir, 'only-junit');
    await mkdir(only);
    await writeReports(report, only, ['junit']);
    expect(await readdir(only)).toEqual(['junit.xml']);
    expect(existsSync(join(only, 'report.json'))).toBe(false);
  });
});
