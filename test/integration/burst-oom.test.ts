import { beforeAll, describe, expect, it } from 'vitest';
import type { ConfigResult, RunReport } from '../../src/8-run/index.ts';
import { containersLabelled, runScenarioForTest, withTempDir } from './helpers.ts';

// Incident 2 on one replica, real engine, real kernel log: the baseline and the fix under the same burst.
let reports: RunReport[];
let configs: ConfigResult[];
const byBuffers = (buffers: string): ConfigResult => configs.find((c) => c.axes.buffers === buffers)!;

// incident-era with 2000 connections is the baseline; sized with 300 is the fix. One run each: `--only` takes one
// value per axis, and a run of both axes' values would spend two more configurations (18 s) on nothing.
beforeAll(async () => {
  await withTempDir(async (reportsDir) => {
    reports = [];
    for (const [buffers, maxConnections] of [
      ['incident-era', 2000],
      ['sized', 300],
    ] as const) {
      const { report } = await runScenarioForTest(
        { scenarioPath: 'scenarios/burst-oom.ts', only: ['allocator=glibc', 'innodb_thread_concurrency=0', `buffers=${buffers}`, `max_connections=${maxConnections}`], reportsDir },
        210_000,
      );
      reports.push(report);
    }
  });
  configs = reports.flatMap((report) => report.configs.filter((c) => c.verdict !== 'skipped'));
  expect(configs.map((c) => `${c.axes.buffers}/${c.axes.max_connections}`)).toEqual(['incident-era/2000', 'sized/300']);
}, 440_000);

describe('burst-oom', () => {
  it('kills the incident-era baseline under load, with the docker oom event and the kernel line', () => {
    const baseline = byBuffers('incident-era');
    expect(baseline.outcome).toBe('oom-killed-under-load');
    expect(baseline.verdict).toBe('pass');
    expect(baseline.evidence.map((e) => e.text)).toContain('oom');
    expect(baseline.evidence.find((e) => e.source === 'kernel')?.text).toMatch(/Killed process \d+ \(mariadbd\)/);
    // Read once the server was ready: a dead server has no variables left for the post-mortem to read.
    expect(baseline.metrics.openFilesLimit).toBeGreaterThan(0);
  });

  it('keeps the sized configuration alive under the same arrival profile', () => {
    const fixed = byBuffers('sized');
    expect(fixed.outcome).toBe('survived');
    expect(fixed.metrics.sessions?.intended).toBe(byBuffers('incident-era').metrics.sessions?.intended);
  });

  it('reports latency, errors by code, peak connections and peak memory for both', () => {
    for (const config of configs) {
      expect(config.metrics.latencyMs?.p99, config.id).toBeGreaterThan(0);
      expect(config.metrics.errorsByCode, config.id).toBeTypeOf('object');
      expect(config.metrics.peakConnections, config.id).toBeGreaterThan(0);
      expect(config.metrics.peakMemoryBytes, config.id).toBeGreaterThan(0);
      expect(config.metrics.driver).toBe('storm');
    }
    expect(byBuffers('sized').metrics.errorsByCode?.['1040 ER_CON_COUNT_ERROR']).toBeGreaterThan(0);
    // MariaDB 10.11 prints an empty SEMAPHORES section; MySQL 5.x fills it. Either way it was read.
    expect(byBuffers('sized').metrics.innodbSemaphoreExcerpt).toBeTypeOf('string');
  });

  it("has the replica's memory, anonymous memory, page cache, CPU and memory-pressure series in both reports", () => {
    // This host's cgroup v1 files (pressure from its unified hierarchy); the lab test requires the same series from a
    // guest's cgroup v2 files under a storm (test/integration/lab.test.ts).
    for (const config of configs) {
      for (const metric of ['memoryUsageBytes', 'memoryRssBytes', 'memoryCacheBytes', 'cpuUserTicksPerSecond', 'memoryPressureSomeUsPerSecond']) {
        const series = config.observations.filter((o) => o.kind === 'sample' && o.instance === 'replica' && o.metric === metric);
        expect(series.length, `${config.id} ${metric}`).toBeGreaterThan(0);
      }
    }
  });

  it('leaves no container behind', async () => {
    for (const report of reports) expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
  });
});
