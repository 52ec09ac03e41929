import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/8-run/index.ts';
import type { ObservationOf } from '../../src/4-observe/index.ts';
import { selectedMode, THP_ENABLED_PATH } from '../../src/3-runtime/docker/index.ts';
import { containersLabelled, docker, OOMLAB, outputReaches, PROJECT_ROOT, runCli, runScenarioForTest, withTempDir } from './helpers.ts';
import { readReportFile } from '../../src/7-report/index.ts';

// The chaos timeline against a real engine: MariaDB 10.11 at 512 MiB, faults at times, on a condition
// and after other steps, each undone; the engine's own event stream is the witness of pause/unpause/update.
const scenarioText = (name: string, steps: string, settleMs = 5_000, matrix = `{ memory: ['512m'] }`) => `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: '${name}',
  incident: 'chaos timeline test',
  matrix: ${matrix},
  instances: () => ({ a: { image: 'oomlab/mariadb:10.11', memory: '512m', settleMs: ${settleMs} } }),
  expect: () => ({ a: { outcome: 'survived', afterStep: 'limit-a' } }),
  steps: ${steps},
});
`;

const TIMELINE = `() => [
    { name: 'limit-a', at: '1s', action: 'limit', instance: 'a', memory: '400m' },
    { name: 'pause-a', after: 'limit-a', at: '500ms', action: 'pause', instance: 'a', for: '1s' },
    { name: 'caches', when: 'a.memory >= 1m', at: 0, after: 'pause-a', action: 'drop-caches' },
    { name: 'pause-again', after: 'caches', at: '1500ms', action: 'pause', instance: 'a' },
    { name: 'unpause-a', after: 'pause-again', at: '500ms', action: 'unpause', instance: 'a' },
    { name: 'never', when: 'a.connections > 100000', action: 'drop-caches' },
  ]`;

const thpMode = async () => selectedMode(await readFile(THP_ENABLED_PATH, 'utf8').catch(() => '')) ?? 'unknown';

interface EngineEvent {
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
}

/** The engine's container events for a run, between two times: its own record of what was done. */
async function engineEvents(runId: string, sinceSeconds: number): Promise<EngineEvent[]> {
  const stream = await docker.getEvents({ since: sinceSeconds, until: Math.ceil(Date.now() / 1000) + 1, filters: { type: ['container'], label: [`oomlab.run=${runId}`] } });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks)
    .toString()
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as EngineEvent);
}

const phasesByStep = (report: RunReport, index = 0) => {
  const byStep: Record<string, string[]> = {};
  for (const o of report.configs[index]!.observations) if (o.kind === 'step') (byStep[o.step] ??= []).push(o.phase);
  return byStep;
};
const phasesOf = (report: RunReport, index = 0) => report.configs[index]!.observations.filter((o): o is ObservationOf<'step'> => o.kind === 'step').map((o) => `${o.step} ${o.phase}`);

describe('a mistyped step', () => {
  it('is one line naming the file, the step and the allowed actions; exit 2; nothing written', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'typo.ts');
      await writeFile(file, scenarioText('chaos-typo', `() => [{ name: 'limit-a', at: '20s', action: 'limt', instance: 'a', memory: '768m' }]`));
      const reportsDir = join(dir, 'reports');
      const result = await runCli(['run', file, '--reports-dir', reportsDir]);
      expect(result.exitCode, result.all).toBe(2);
      expect(result.stderr.trim()).toBe(
        `oomlab: ScenarioInvalidError: ${file} (memory=512m): step "limit-a": unknown action "limt" (did you mean "limit"?); allowed: pause, unpause, kill, restart, limit, network, neighbour, cpu-hog, drop-caches, thp, run`,
      );
      expect(existsSync(reportsDir)).toBe(false);
    });
  });
});

describe('a timeline of faults on a live server', () => {
  it('applies each step at its trigger, undoes every fault, and records each phase', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'chaos.ts');
      await writeFile(file, scenarioText('chaos-timeline', TIMELINE));
      const since = Math.floor(Date.now() / 1000) - 1;
      const { report, reportDir } = await runScenarioForTest({ scenarioPath: file, reportsDir: dir }, 200_000);
      const [config] = report.configs;
      expect(config!.verdict, config!.reason).toBe('pass');
      expect(config!.reason).toMatch(/^survived, as expected; a survived with step "limit-a" in force since \d+(\.\d+)? s$/);
      // Per step, as the timings of drop_caches on a busy host may interleave them differently.
      expect(phasesByStep(report)).toEqual({
        'limit-a': ['start', 'done', 'undo'],
        'pause-a': ['start', 'done', 'undo'],
        caches: ['start', 'done'],
        'pause-again': ['start', 'done', 'undo'],
        'unpause-a': ['start', 'done'],
        never: ['skipped'],
      });
      const steps = config!.observations.filter((o): o is ObservationOf<'step'> => o.kind === 'step');
      const at = (name: string, phase: string) => steps.find((s) => s.step === name && s.phase === phase)!.t;
      const ready = config!.observations.find((o) => o.kind === 'readiness')!;
      expect(at('limit-a', 'start')).toBeGreaterThanOrEqual(ready.t + 1_000);
      expect(at('pause-a', 'start')).toBeGreaterThanOrEqual(at('limit-a', 'done') + 500);
      expect(at('pause-a', 'undo')).toBeGreaterThanOrEqual(at('pause-a', 'done') + 1_000);
      expect(steps.find((s) => s.step === 'never')!.detail).toBe('not run: the configuration ended before its trigger (when a.connections > 100000)');
      // The limit in force, as data: 512 MiB from the start, 400 MiB from the step, 512 MiB again from its undo, which reads that way.
      const limits = config!.observations.filter((o): o is ObservationOf<'limit'> => o.kind === 'limit').map((o) => [o.phase, o.limitBytes, o.t]);
      expect(limits.map(([phase, bytes]) => [phase, bytes])).toEqual([
        ['start', 512 * 2 ** 20],
        ['step', 400 * 2 ** 20],
        ['undo', 512 * 2 ** 20],
      ]);
      expect((limits[1]![2] as number) - at('limit-a', 'done')).toBeLessThan(50);
      expect(steps.find((s) => s.step === 'limit-a' && s.phase === 'undo')!.detail).toBe('undone: memory limit 400 MiB → 512 MiB');
      expect(config!.instances[0]!.memoryLimitBytes).toBe(400 * 2 ** 20);
      // The engine saw the limit lowered and put back, and the pause undone, before the container went.
      const events = (await engineEvents(report.runId, since)).map((e) => e.Action);
      expect(events.filter((a) => ['update', 'pause', 'unpause', 'destroy'].includes(a))).toEqual(['update', 'pause', 'unpause', 'pause', 'unpause', 'update', 'destroy']);
      expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
      const log = await readFile(join(reportDir, 'run.log'), 'utf8');
      expect(log).toMatch(/ \[memory=512m\] step limit-a start: limit a: memory 400 MiB\n/);
    });
  });

  it('network loss, a neighbour, a THP switch and zx steps on the same timeline, each undone', async (context) => {
    const before = await thpMode();
    if (before === 'unknown') context.skip(`${THP_ENABLED_PATH} is not readable here: the THP switch cannot be seen`);
    const other = before === 'never' ? 'madvise' : 'never';
    // zx steps check what the host and the container show while a fault is in force and once it is undone.
    // netem where the kernel has it, else the nftables drop chaos-actions falls back to: either shapes a's namespace.
    const shaped = `async ($, instance) => {
    const { pid } = await instance.state();
    const qdiscs = (await $\`nsenter -t \${pid} -n tc qdisc show\`).stdout;
    const tables = (await $\`nsenter -t \${pid} -n nft list tables\`).stdout;
    return qdiscs.includes('netem') || tables.includes('oomlab_chaos');
  }`;
    const steps = `() => [
    { name: 'lossy-a', at: '1s', action: 'network', instance: 'a', loss: '20%', for: '3s' },
    { name: 'loss-on', after: 'lossy-a', action: 'run', instance: 'a', run: async ({ $, instance }) => {
      if (!(await shaped($, instance))) throw new Error('no netem qdisc or nftables drop while lossy-a is in force');
    } },
    { name: 'loss-off', after: 'lossy-a', at: '4s', action: 'run', instance: 'a', run: async ({ $, instance }) => {
      if (await shaped($, instance)) throw new Error('a netem qdisc or the nftables drop is left after the undo');
    } },
    { name: 'tenant', at: '1s', action: 'neighbour', memory: '64m', image: 'oomlab/mariadb:10.11' },
    { name: 'thp-${other}', at: '1s', action: 'thp', mode: '${other}' },
    { name: 'thp-seen', after: 'thp-${other}', action: 'run', instance: 'a', run: async ({ container }) => {
      const mode = (await container.$\`cat /sys/kernel/mm/transparent_hugepage/enabled\`).stdout;
      if (!mode.includes('[${other}]')) throw new Error('THP is not ${other} inside the container: ' + mode);
    } },
    { name: 'limit-a', at: '1s', action: 'limit', instance: 'a', memory: '400m' },
  ]`;
    await withTempDir(async (dir) => {
      const file = join(dir, 'chaos-all.ts');
      await writeFile(
        file,
        scenarioText('chaos-all', steps, 10_000) // A replacer function: the text holds zx's $`…`, which a replacement string would read as a pattern.
          .replace('export default', () => `const shaped = ${shaped};\nexport default`),
      );
      const { report } = await runScenarioForTest({ scenarioPath: file, reportsDir: dir }, 200_000);
      const [config] = report.configs;
      expect(config!.verdict, `${config!.reason}\n${config!.evidence.map((e) => e.text).join('\n')}`).toBe('pass');
      const phases = phasesOf(report);
      for (const step of ['lossy-a', 'loss-on', 'loss-off', 'tenant', `thp-${other}`, 'thp-seen', 'limit-a']) expect(phases).toContain(`${step} done`);
      for (const step of ['lossy-a', 'tenant', `thp-${other}`, 'limit-a']) expect(phases).toContain(`${step} undo`);
      expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
      expect(await thpMode()).toBe(before);
    });
  });
});

describe('a timeline interrupted during a fault', () => {
  it('on SIGINT undoes the pause and the limit before the container is removed', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'interrupted.ts');
      const steps = `() => [
    { name: 'limit-a', at: 0, action: 'limit', instance: 'a', memory: '400m' },
    { name: 'pause-a', after: 'limit-a', action: 'pause', instance: 'a' },
  ]`;
      await writeFile(file, scenarioText('chaos-interrupted', steps, 120_000));
      const since = Math.floor(Date.now() / 1000) - 1;
      const child = execa(OOMLAB, ['run', file, '--reports-dir', dir], { cwd: PROJECT_ROOT, reject: false, all: true });
      await outputReaches(child, 'settling 120000ms');
      // Both faults are in force by now: the steps ran at time zero, before the settle began.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, result.all).toBe(130);
      const [folder] = (await readdir(dir)).filter((f) => f.endsWith('chaos-interrupted'));
      const report = (await readReportFile(join(dir, folder!, 'report.json'))).report;
      expect(report.endedBy).toBe('cancel');
      expect(phasesOf(report)).toEqual(['limit-a start', 'limit-a done', 'pause-a start', 'pause-a done', 'pause-a undo', 'limit-a undo']);
      const events = (await engineEvents(report.runId, since)).map((e) => e.Action);
      expect(events.filter((a) => ['update', 'pause', 'unpause', 'destroy'].includes(a))).toEqual(['update', 'pause', 'unpause', 'update', 'destroy']);
      expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
    });
  });
});

describe('a timeline interrupted during host-level faults', () => {
  it('on SIGINT removes the neighbour, lifts the packet loss and restores THP', async (context) => {
    const before = await thpMode();
    if (before === 'unknown') context.skip(`${THP_ENABLED_PATH} is not readable here: the THP switch cannot be seen`);
    const other = before === 'never' ? 'madvise' : 'never';
    await withTempDir(async (dir) => {
      const file = join(dir, 'interrupted-host.ts');
      const steps = `() => [
    { name: 'lossy-a', at: 0, action: 'network', instance: 'a', loss: '20%' },
    { name: 'tenant', at: 0, action: 'neighbour', memory: '64m', image: 'oomlab/mariadb:10.11' },
    { name: 'thp-${other}', at: 0, action: 'thp', mode: '${other}' },
    { name: 'limit-a', at: 0, action: 'limit', instance: 'a', memory: '400m' },
  ]`;
      await writeFile(file, scenarioText('chaos-interrupted-host', steps, 120_000));
      const child = execa(OOMLAB, ['run', file, '--reports-dir', dir], { cwd: PROJECT_ROOT, reject: false, all: true });
      await outputReaches(child, 'settling 120000ms');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await thpMode()).toBe(other);
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, result.all).toBe(130);
      const [folder] = (await readdir(dir)).filter((f) => f.endsWith('chaos-interrupted-host'));
      const report = (await readReportFile(join(dir, folder!, 'report.json'))).report;
      expect(report.endedBy).toBe('cancel');
      expect(phasesByStep(report)).toEqual({
        'lossy-a': ['start', 'done', 'undo'],
        tenant: ['start', 'done', 'undo'],
        [`thp-${other}`]: ['start', 'done', 'undo'],
        'limit-a': ['start', 'done', 'undo'],
      });
      expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
      expect(await thpMode()).toBe(before);
    });
  });
});

describe('a step that fails', () => {
  it('makes its configuration error with the step output as evidence, and the next configuration still runs', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'failing.ts');
      // A signal the engine does not know: it refuses, as a zx step exiting non-zero would.
      const steps = `(c) => c.step === 'fails'
    ? [{ name: 'limit-a', at: 0, action: 'limit', instance: 'a', memory: '400m' }, { name: 'kill-a', after: 'limit-a', action: 'kill', instance: 'a', signal: 'SIGNOPE' }]
    : [{ name: 'limit-a', at: 0, action: 'limit', instance: 'a', memory: '400m' }]`;
      await writeFile(file, scenarioText('chaos-failing', steps, 5_000, `{ step: ['fails', 'passes'] }`));
      const { report } = await runScenarioForTest({ scenarioPath: file, reportsDir: dir }, 300_000);
      const [failed, next] = report.configs;
      expect(failed!.verdict).toBe('error');
      expect(failed!.endedBy).toBe('error');
      expect(failed!.reason).toMatch(/^a step of the timeline failed: step "kill-a" \(kill\) failed: .*SIGNOPE/);
      expect(failed!.evidence).toHaveLength(1);
      expect(failed!.evidence[0]!.source).toBe('step');
      expect(failed!.evidence[0]!.text).toMatch(/^kill-a \(kill on a\) failed: .*SIGNOPE/);
      expect(phasesOf(report)).toEqual(['limit-a start', 'limit-a done', 'kill-a start', 'kill-a failed', 'limit-a undo']);
      expect(next!.verdict, next!.reason).toBe('pass');
      expect(await containersLabelled(`oomlab.run=${report.runId}`)).toEqual([]);
    });
  });

  it('a zx step that exits non-zero: its stderr is the evidence', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'failing-zx.ts');
      const steps = `(c) => c.step === 'fails'
    ? [{ name: 'boom', at: 0, action: 'run', run: async ({ $ }) => { await $\`sh -c 'echo boom on stderr >&2; exit 3'\`; } }]
    : [{ name: 'limit-a', at: 0, action: 'limit', instance: 'a', memory: '400m' }]`;
      await writeFile(file, scenarioText('chaos-failing-zx', steps, 5_000, `{ step: ['fails', 'passes'] }`).replace("afterStep: 'limit-a' ", ''));
      const { report } = await runScenarioForTest({ scenarioPath: file, reportsDir: dir }, 300_000);
      const [failed, next] = report.configs;
      expect(failed!.verdict).toBe('error');
      expect(failed!.reason).toMatch(/^a step of the timeline failed: step "boom" \(run\) failed: /);
      expect(failed!.evidence.map((e) => e.source)).toEqual(['step']);
      expect(failed!.evidence[0]!.text).toContain('boom on stderr');
      expect(next!.verdict, next!.reason).toBe('pass');
    });
  });
});
