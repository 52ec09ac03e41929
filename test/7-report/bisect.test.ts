import { describe, expect, it } from 'vitest';
import type { BisectProbe, BisectReport } from '../../src/0-model/bisect-report.ts';
import { boundaryLine, modelLine, renderBisectHtml, renderBisectMarkdown } from '../../src/7-report/bisect.ts';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function probe(value: number, role: BisectProbe['role'], outcome: BisectProbe['outcome']): BisectProbe {
  return {
    value,
    label: String(value),
    role,
    configId: `buffers=sized,max_connections=${value}`,
    outcome,
    verdict: outcome === null ? 'error' : 'pass',
    reason: outcome === null ? 'not decided: run cancelled: SIGINT received' : 'as expected',
    ...(outcome === null ? {} : { peakMemoryBytes: outcome === 'survived' ? 700 * MIB : GIB, memoryLimitBytes: GIB }),
    durationMs: 35_000,
    ...(outcome === null ? {} : { reportDir: `probes/01-${value}/2025-01-01T00-00-00Z-burst-oom` }),
  };
}

const point = (value: number, outcome: 'survived' | 'oom-killed-under-load', loadPeakBytes: number) => ({
  value,
  outcome,
  worstCaseBytes: loadPeakBytes,
  startUpBytes: 313 * 1024,
  loadPeakBytes,
  limitBytes: GIB,
});

function report(over: Partial<BisectReport>): BisectReport {
  return {
    kind: 'bisect',
    schemaVersion: 1,
    scenario: 'burst-oom',
    scenarioFile: 'scenarios/burst-oom.ts',
    axis: 'max_connections',
    axisKind: 'number',
    range: { lo: 300, hi: 2000, step: 50 },
    config: 'image=oomlab/mariadb:10.11,buffers=sized,memory=1g',
    repeatBoundary: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:05:00.000Z',
    durationMs: 300_000,
    status: 'boundary',
    searchProbes: 0,
    maxSearchProbes: 8,
    probes: [],
    model: {
      lo: point(300, 'oom-killed-under-load', 1.5 * GIB),
      hi: point(2000, 'oom-killed-under-load', 5.9 * GIB),
      outcome: { last: point(142, 'survived', 1021 * MIB), first: point(143, 'oom-killed-under-load', 1024.5 * MIB), outsideRange: true },
      worstCase: { last: point(142, 'survived', 1021 * MIB), first: point(143, 'oom-killed-under-load', 1024.5 * MIB), outsideRange: true },
    },
    ...over,
  };
}

const searched = [
  probe(300, 'bound', 'survived'),
  probe(2000, 'bound', 'oom-killed-under-load'),
  probe(1150, 'search', 'oom-killed-under-load'),
  probe(700, 'search', 'survived'),
  probe(950, 'search', 'oom-killed-under-load'),
];

describe('the bisect report', () => {
  it('states a stable boundary with the probes it took and the model beside it', () => {
    const r = report({
      searchProbes: 5,
      probes: [...searched, probe(700, 'repeat', 'survived'), probe(950, 'repeat', 'oom-killed-under-load')],
      boundary: {
        last: { value: 700, label: '700', outcome: 'survived' },
        first: { value: 950, label: '950', outcome: 'oom-killed-under-load' },
        outcomes: { last: ['survived', 'survived'], first: ['oom-killed-under-load', 'oom-killed-under-load'] },
        flaky: false,
      },
    });
    expect(boundaryLine(r)).toBe('max_connections: survived up to 700, oom-killed-under-load from 950 — 5 probes (at most 8); 2 repeats agree');
    expect(modelLine(r)).toBe('memory model: survived up to 142 (load peak 1021 MiB of 1 GiB at 142), oom-killed-under-load from 143 (load peak 1 GiB of 1 GiB at 143), outside the range');
    const md = renderBisectMarkdown(r);
    expect(md).toContain('| 6 | repeat | 700 | survived | pass | 700 MiB of 1 GiB | – | 35.0 s | [report](probes/01-700/2025-01-01T00-00-00Z-burst-oom/report.md) |');
    expect(md).toContain('- 7 runs in 5 min 0 s; boundary');
  });

  it('says when the boundary was not repeated', () => {
    const r = report({
      repeatBoundary: 0,
      searchProbes: 5,
      probes: searched,
      boundary: {
        last: { value: 700, label: '700', outcome: 'survived' },
        first: { value: 950, label: '950', outcome: 'oom-killed-under-load' },
        outcomes: { last: ['survived'], first: ['oom-killed-under-load'] },
        flaky: false,
      },
    });
    expect(boundaryLine(r)).toBe('max_connections: survived up to 700, oom-killed-under-load from 950 — 5 probes (at most 8); not repeated (--repeat-boundary 0)');
  });

  it('names a flaky boundary and what each side gave', () => {
    const r = report({
      searchProbes: 5,
      probes: [...searched, probe(700, 'repeat', 'oom-killed-under-load'), probe(950, 'repeat', 'oom-killed-under-load')],
      boundary: {
        last: { value: 700, label: '700', outcome: 'survived' },
        first: { value: 950, label: '950', outcome: 'oom-killed-under-load' },
        outcomes: { last: ['survived', 'oom-killed-under-load'], first: ['oom-killed-under-load', 'oom-killed-under-load'] },
        flaky: true,
      },
    });
    expect(boundaryLine(r)).toBe(
      'max_connections: survived up to 700, oom-killed-under-load from 950 — 5 probes (at most 8); FLAKY: 700 gave survived 1/2, oom-killed-under-load 1/2; 950 gave oom-killed-under-load 2/2',
    );
    expect(renderBisectHtml(r)).toContain('<p class="flaky"><b>Boundary</b>');
  });

  it('says there is no boundary in one line', () => {
    const r = report({ status: 'no-boundary', sameOutcome: 'survived', searchProbes: 2, probes: [probe(300, 'bound', 'survived'), probe(2000, 'bound', 'survived')] });
    expect(boundaryLine(r)).toBe('no boundary in max_connections 300..2000: both ends survived (2 probes)');
  });

  it('keeps what an interrupted search had narrowed down', () => {
    const r = report({ status: 'cancelled', searchProbes: 5, probes: [...searched.slice(0, 4), probe(950, 'search', null)], error: undefined });
    expect(boundaryLine(r)).toBe('max_connections: interrupted after 5 probes; so far survived up to 700, oom-killed-under-load from 1150');
  });

  it('escapes what it writes into the page', () => {
    const r = report({ config: '<script>alert(1)</script>', searchProbes: 2, status: 'no-boundary', sameOutcome: 'survived', probes: [] });
    const page = renderBisectHtml(r);
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
