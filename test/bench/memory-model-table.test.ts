import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keep, type ObservedRun, observe, readObserved, render, SURVIVORS, writeObserved } from '../../bench/memory-model-table.ts';
import type { RunReport } from '../../src/0-model/report.ts';

const fixture = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8')) as RunReport;
const DOC = readFileSync(fileURLToPath(new URL('../../docs/memory-model.md', import.meta.url)), 'utf8');
const run = (scenario: string, startedAt: string, servers: [string, string][]): ObservedRun => ({
  scenario,
  scenarioFile: `scenarios/${scenario}.ts`,
  reportId: `${startedAt}-x`,
  startedAt,
  hostNofile: 20_000,
  cpus: 2,
  servers: servers.map(([config, instance]) => ({ config, instance, outcome: 'survived', anonPeakBytes: 1 })),
});

describe('the observations kept apart from their report', () => {
  it('keep what the table reads of a report, and table the same without it', async () => {
    const report = fixture('memory-model-burst-oom.json');
    const observed = await observe(report, 2);
    expect(observed).toMatchObject({
      scenario: 'burst-oom',
      scenarioFile: 'scenarios/burst-oom.ts',
      reportId: '2026-12-06T21-50-52Z-10e94d',
      startedAt: report.startedAt,
      hostNofile: 20_000,
      cpus: 2,
    });
    const survivor = observed.servers.find((s) => s.outcome === 'survived')!;
    expect(Object.keys(survivor).sort()).toEqual(['anonPeakBytes', 'config', 'connectionsHeld', 'instance', 'outcome']);
    const dir = await mkdtemp(join(tmpdir(), 'oomlab-observed-'));
    try {
      await writeObserved([observed], join(dir, 'observed.json'));
      const kept = await readObserved(join(dir, 'observed.json'));
      expect(kept).toEqual([observed]);
      const table = await render(kept, '2026-12-07');
      expect(table).toBe(await render([observed], '2026-12-07'));
      expect(table).toContain('| burst-oom | allocator=glibc innodb_thread_concurrency=0 buffers=sized max_connections=300 memory=1g | replica | 679 MiB | 301 (302) |');
      expect(table).toContain('4 of 4 survived servers within ±25 %');
      expect(table).toContain('killed servers expected above their limit');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('replace a server measured again, drop a run left with none, and keep the scenarios in order', () => {
    const older = [
      run('burst-oom', '2026-12-06T01:00:00Z', [
        ['a=1', 'db'],
        ['a=2', 'db'],
      ]),
      run('nofile-oom', '2026-12-06T02:00:00Z', [['n=1', 'db']]),
    ];
    const kept = keep(older, [run('nofile-oom', '2026-12-07T01:00:00Z', [['n=1', 'db']]), run('burst-oom', '2026-12-07T02:00:00Z', [['a=2', 'db']])], Object.keys(SURVIVORS));
    expect(kept.map((r) => `${r.scenario} ${r.startedAt} ${r.servers.map((s) => s.config).join(' ')}`)).toEqual([
      'nofile-oom 2026-12-07T01:00:00Z n=1',
      'burst-oom 2026-12-06T01:00:00Z a=1',
      'burst-oom 2026-12-07T02:00:00Z a=2',
    ]);
  });
});

describe('bench/memory-model-observed.json', () => {
  it('keeps a run of every scenario the model must rank', async () => {
    const kept = await readObserved();
    expect([...new Set(kept.map((r) => r.scenario))]).toEqual(Object.keys(SURVIVORS));
  });

  it('tables today, with the model as it is, to what docs/memory-model.md keeps (else: npm run bench:memory-model -- --recorded, and paste it)', async () => {
    const table = (await render(await readObserved(), '')).split('\n').slice(1);
    const missing = table.filter((line) => line !== '' && !DOC.includes(line));
    expect(missing).toEqual([]);
  });
});
