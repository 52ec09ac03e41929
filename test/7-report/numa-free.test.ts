// Each node's lowest free memory is in report.md for every configuration, survivors too (a newcomer's numa-imbalance
// report gave per-node figures only at a kill). The samples below are added by hand to a real report: this host has one node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/0-model/report.ts';
import type { Observation } from '../../src/4-observe/index.ts';
import { renderMarkdown } from '../../src/7-report/index.ts';
import { numaFreeMinimaText } from '../../src/7-report/numa-free.ts';

const MIB = 1024 * 1024;
const nodeFree = (t: number, node: number, mib: number): Observation => ({ kind: 'sample', t, instance: 'db', source: 'host', metric: `node${node}FreeBytes`, value: mib * MIB });

describe('lowest free memory per NUMA node', () => {
  const report = JSON.parse(readFileSync(new URL('../fixtures/report-burst-oom.json', import.meta.url), 'utf8')) as RunReport;
  const survivor = report.configs.find((c) => c.outcome === 'survived')!;
  const withNodes = {
    ...survivor,
    observations: [...survivor.observations, nodeFree(1_000, 0, 3_100), nodeFree(1_000, 1, 900), nodeFree(2_000, 0, 2_318), nodeFree(2_000, 1, 20), nodeFree(3_000, 1, 400)],
  };

  it("is each node's minimum over the run, in node order", () => {
    expect(numaFreeMinimaText(withNodes)).toBe('node 0 2.3 GiB, node 1 20 MiB');
  });

  it('says nothing where one node or none was sampled', () => {
    expect(numaFreeMinimaText(survivor)).toBeUndefined();
    expect(numaFreeMinimaText({ observations: [nodeFree(1_000, 0, 3_100)] })).toBeUndefined();
  });

  it("is a line of the survivor's details in report.md", () => {
    const markdown = renderMarkdown({ ...report, configs: report.configs.map((c) => (c === survivor ? withNodes : c)) });
    expect(markdown).toContain('Lowest free memory per NUMA node over the run (host-wide MemFree): node 0 2.3 GiB, node 1 20 MiB.');
    expect(renderMarkdown(report)).not.toContain('Lowest free memory per NUMA node');
  });
});
