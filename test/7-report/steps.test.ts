import { describe, expect, it } from 'vitest';
import { runReportSchemaV1, runReportSchemaV2 } from '../../src/0-model/report-schema.ts';
import type { ChartData } from '../../src/7-report/html/chart-data.ts';
import { renderHtml, renderJson, renderMarkdown } from '../../src/7-report/index.ts';
import { chaosReport } from './chaos-fixture.ts';

const report = chaosReport();
const html = renderHtml(report);

function chartData(page: string): ChartData {
  return JSON.parse(/<script type="application\/json" id="oomlab-chart-data">([\s\S]*?)<\/script>/.exec(page)![1]!) as ChartData;
}

function panel(n: number): string {
  const start = html.indexOf(`<details class="panel" id="config-${n}"`);
  const next = html.indexOf('<details class="panel"', start + 1);
  return html.slice(start, next > 0 ? next : html.indexOf('</section>', start));
}

describe('a report with a chaos timeline', () => {
  const data = chartData(html);

  it('is a valid report.json (the fixture keeps the contract)', () => {
    // In memory a report has version 1's shape; report.json is written as version 2.
    expect(runReportSchemaV1.safeParse(report).success).toBe(true);
    expect(runReportSchemaV2.safeParse(JSON.parse(renderJson(report))).success).toBe(true);
  });

  it('puts every started step of a configuration on every chart it draws, at its start time in seconds', () => {
    const killed = report.configs[0]!;
    const limit = killed.observations.find((o) => o.kind === 'step' && o.step === 'limit-a' && o.phase === 'start')!;
    for (const chart of data.charts) {
      const marks = chart.steps.filter((s) => s.config === '#1');
      // Six steps started (the skipped partition never did); partition-b is in the table only.
      expect(
        marks.map((m) => m.label),
        chart.id,
      ).toEqual(['thp-never', 'delay-a', 'limit-a', 'neighbour', 'drop-caches', 'threads-a failed']);
      expect(marks.find((m) => m.step === 'limit-a')!.t).toBe(limit.t / 1000);
    }
    expect(data.charts.map((c) => c.id)).toContain('memory-a');
    expect(data.charts.map((c) => c.id)).toContain('latency');
  });

  it('spans a fault from its start to its undo, leaves an instant step without a span, and marks failures', () => {
    const memoryA = data.charts.find((c) => c.id === 'memory-a')!;
    const of = (config: string, step: string) => memoryA.steps.find((s) => s.config === config && s.step === step)!;
    const delay = of('#1', 'delay-a');
    expect(delay.end! - delay.t).toBeCloseTo(6, 3);
    expect(delay.open).toBeUndefined();
    const limit = of('#1', 'limit-a');
    expect(limit.end).toBeGreaterThan(30);
    expect(of('#1', 'drop-caches').end).toBeUndefined();
    expect(of('#1', 'drop-caches').open).toBeUndefined();
    expect(of('#1', 'threads-a')).toMatchObject({ label: 'threads-a failed', failed: true });
    expect(of('#1', 'threads-a').title).toBe('#1 threads-a: run on a (failed) — mysql exited with code 1');
    expect(of('#2', 'threads-a')).toMatchObject({ label: 'threads-a' });
    expect(of('#2', 'threads-a').failed).toBeUndefined();
    expect(of('#3', 'threads-a')).toMatchObject({ label: 'threads-a timed out', failed: true });
    expect(memoryA.steps.some((s) => s.step === 'partition-b')).toBe(false);
  });

  it('shades to the end of the chart a fault that was never seen undone', () => {
    const open = structuredClone(report);
    open.configs[0]!.observations = open.configs[0]!.observations.filter((o) => !(o.kind === 'step' && o.step === 'limit-a' && o.phase === 'undo'));
    const limit = chartData(renderHtml(open))
      .charts.find((c) => c.id === 'memory-a')!
      .steps.find((s) => s.config === '#1' && s.step === 'limit-a')!;
    expect(limit).toMatchObject({ open: true });
    expect(limit.end).toBeUndefined();
  });

  it('tables the steps in the configuration panel, escaped, with a failed step output under its row', () => {
    const first = panel(1);
    expect(first).toContain(
      '<h4>Timeline</h4><table class="steps"><thead><tr><th>time</th><th>step</th><th>action</th><th>instance</th><th>phase</th><th>detail</th></tr></thead><tbody><tr class="start"><td class="num">4.1 s</td><td><strong>thp-never</strong></td><td>thp</td><td>—</td><td class="phase">start</td><td>transparent_hugepage/enabled always → never</td></tr>',
    );
    expect(first).toContain(
      '<td class="phase bad">failed</td><td>mysql exited with code 1<details class="step-output"><summary>output</summary><pre>ERROR 2013 (HY000): Lost connection to server at &#39;handshake: reading initial communication packet&#39;</pre></details></td></tr>',
    );
    expect(first).toContain('<td class="phase">skipped</td><td>its trigger never came: b.connections &gt; 5000</td>');
    expect(panel(3)).toContain('<pre>&lt;no output&gt; &amp; &quot;still waiting&quot;</pre>');
  });

  it('lists the steps among the Docker events, in time order', () => {
    const events = /<h4>Docker events and steps<\/h4><pre>([\s\S]*?)<\/pre>/.exec(panel(1))![1]!.split('\n');
    expect(events[0]).toBe('[4.083 s] step thp-never (thp) start: transparent_hugepage/enabled always → never');
    expect(events).toContain('[17.143 s] step threads-a (run on a) failed: mysql exited with code 1');
    const times = events.map((line) => Number(/^\[(\d+\.\d+) s\]/.exec(line)![1]));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(events.some((line) => line.includes('a: die'))).toBe(true);
  });

  it('names the steps in the charts note only when there are some', () => {
    expect(html).toContain('solid ones the steps of the scenario&#39;s timeline');
    const plain = structuredClone(report);
    for (const config of plain.configs) config.observations = config.observations.filter((o) => o.kind !== 'step');
    const without = renderHtml(plain);
    expect(without).not.toContain('steps of the scenario');
    expect(without).not.toContain('<table class="steps">');
    expect(without).toContain('<h4>Docker events</h4>');
    expect(chartData(without).charts.every((c) => c.steps.length === 0)).toBe(true);
  });
});

describe('markdown with a chaos timeline', () => {
  const markdown = renderMarkdown(report);

  it('has one steps table per configuration with steps, failures in bold with their output', () => {
    const section = markdown.slice(markdown.indexOf('\n## Timeline\n'));
    expect(section.match(/^### `/gm)).toHaveLength(3);
    expect(section).toContain(
      `### \`${report.configs[0]!.id}\`\n\n| time | step | action | instance | phase | detail |\n|---|---|---|---|---|---|\n| 4.1 s | thp-never | thp | — | start | transparent_hugepage/enabled always → never |`,
    );
    expect(section).toContain(
      "| 17.1 s | threads-a | run | a | **failed** | mysql exited with code 1: ERROR 2013 (HY000): Lost connection to server at 'handshake: reading initial communication packet' |",
    );
    expect(section).toContain('| 30.6 s | partition-b | network | b | skipped | its trigger never came: b.connections > 5000 |');
  });

  it("sets the kernel's kills among the steps, in time order (a newcomer's timeline showed neighbours starting after the server had died)", () => {
    const killed = structuredClone(report);
    // A real kill line of this project's nofile-oom run (report-nofile-oom.json).
    const line = 'Memory cgroup out of memory: Killed process 18470 (mariadbd) total-vm:16827320kB, anon-rss:1046016kB, file-rss:684kB, shmem-rss:0kB, UID:0 pgtables:2172kB oom_score_adj:0';
    killed.configs[0]!.observations.push({
      kind: 'kernel-oom',
      t: 10_000,
      instance: 'a',
      process: 'mariadbd',
      pid: 18470,
      totalVmKb: 16827320,
      anonRssKb: 1046016,
      constraint: 'CONSTRAINT_MEMCG',
      memcg: '/docker/x',
      line,
    });
    const section = renderMarkdown(killed).slice(renderMarkdown(killed).indexOf('\n## Timeline\n'));
    const rows = section.split('\n').filter((l) => /^\| \d/.test(l));
    const at = rows.findIndex((l) => l.includes('kernel OOM kill'));
    expect(rows[at]).toBe(`| 10.0 s | — | kernel OOM kill | a | **killed** | ${line} |`);
    // Between the steps before it and after it.
    expect(Number.parseFloat(rows[at - 1]!.slice(2))).toBeLessThanOrEqual(10);
    expect(Number.parseFloat(rows[at + 1]!.slice(2))).toBeGreaterThanOrEqual(10);
  });

  it("folds steps that never ran into one row (a newcomer's report had 600 of them)", () => {
    const many = structuredClone(report);
    for (let i = 1; i <= 5; i++) {
      many.configs[0]!.observations.push({
        kind: 'step',
        t: 40_000,
        step: `neighbour-${i}`,
        action: 'neighbour',
        phase: 'skipped',
        detail: `not run: the configuration ended before its trigger (${i * 3} s after every instance was ready)`,
      });
    }
    const section = renderMarkdown(many).slice(renderMarkdown(many).indexOf('\n## Timeline\n'));
    expect(section).not.toContain('neighbour-3');
    expect(section).toContain('steps: ');
    expect(section).toMatch(/\| \d+\.\d s \| 6 steps: partition-b, neighbour-1 … neighbour-5 \| network, neighbour \| — \| skipped \| not run: the configuration ended before their triggers \|/);
  });

  it('has no timeline section without steps', () => {
    const plain = structuredClone(report);
    for (const config of plain.configs) config.observations = config.observations.filter((o) => o.kind !== 'step');
    expect(renderMarkdown(plain)).not.toContain('## Timeline');
  });
});
