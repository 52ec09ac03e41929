import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runScenario, type RunOptions } from '../../src/8-run/index.ts';
import { FakeRuntime } from './fake-runtime.ts';

// The syscall tracer is the host's bpftrace: a unit test must not attach it.
vi.mock('../../src/4-observe/syscall-tracer.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/4-observe/syscall-tracer.ts')>()),
  startSyscallTracer: async () => ({ available: false, reason: 'not attached in unit tests' }),
}));

const SRC = resolve(import.meta.dirname, '../../src');
let dir: string;

/** A scenario of `runs` configurations, each with the given instances on the fake engine. */
async function scenario(name: string, body: { runs: string[]; instances: string; expect: string; host?: string }): Promise<string> {
  const file = join(dir, `${name}.ts`);
  await writeFile(
    file,
    `import { defineScenario } from '${SRC}/1-scenario/index.ts';
export default defineScenario({
  name: '${name}',
  incident: 'runScenario on a stand-in engine',
  matrix: { run: ${JSON.stringify(body.runs)} },
  ${body.host ? `host: ${body.host},` : ''}
  instances: ${body.instances},
  expect: ${body.expect},
});
`,
  );
  return file;
}

const ONE_DB = `() => ({ db: { image: 'fake/server:1', memory: '256m', settleMs: 10 } })`;
const DB_SURVIVES = `() => ({ db: { outcome: 'survived' } })`;

/** One configuration at a time unless `jobs` says otherwise: the order of the engine's calls is then the matrix's. */
function run(fake: FakeRuntime, scenarioPath: string, signal = new AbortController().signal, jobs = 1): ReturnType<typeof runScenario> {
  const options: RunOptions = { scenarioPath, runtime: fake, reportsDir: join(dir, 'reports'), signal, configTimeoutMs: 30_000, jobs };
  return runScenario(options);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oomlab-fake-runtime-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runScenario on a fake runtime', () => {
  it("plans the scenario once: each configuration's instances are read one time, with --set applied", async () => {
    const counter = '__oomlabInstancesCalls';
    const file = await scenario('fake-one-plan', {
      runs: ['first', 'second', 'third'],
      instances: `() => { (globalThis as Record<string, number>).${counter} = ((globalThis as Record<string, number>).${counter} ?? 0) + 1; return { db: { image: 'fake/server:1', memory: '256m', settleMs: 10 } }; }`,
      expect: DB_SURVIVES,
    });
    const options: RunOptions = {
      scenarioPath: file,
      runtime: new FakeRuntime(),
      reportsDir: join(dir, 'reports'),
      signal: new AbortController().signal,
      configTimeoutMs: 30_000,
      set: ['run=first,third'],
    };
    const { report } = await runScenario(options);
    expect(report.configs.map((c) => c.axes.run)).toEqual(['first', 'third']);
    expect(report.overrides).toHaveLength(1);
    // One read per configuration, and one as --set is parsed (once) to learn whether `run` names images; two plans and three parses made 7.
    expect((globalThis as unknown as Record<string, number>)[counter]).toBe(3);
  });

  it("tears down in reverse order: instances before their side budget, the run's containers after the event stream, the watchdog last", async () => {
    const fake = new FakeRuntime();
    const file = await scenario('fake-teardown', {
      runs: ['only'],
      host: `() => ({ sides: { 'host-a': { memory: '512m' } } })`,
      instances: `() => ({ a: { image: 'fake/server:1', side: 'host-a', settleMs: 10 }, b: { image: 'fake/server:1', side: 'host-a', settleMs: 10 } })`,
      expect: `() => ({ a: { outcome: 'survived' }, b: { outcome: 'survived' } })`,
    });
    const { report } = await run(fake, file);
    expect(report.endedBy).toBe('done');
    expect(report.configs.map((c) => [c.verdict, c.endedBy])).toEqual([['pass', 'done']]);
    expect(fake.calls).toEqual([
      'connect',
      'restoreAbandoned',
      'resolveImage fake/server:1',
      'watch',
      'events',
      'side host-a (config 0)',
      'start a (config 0)',
      'start b (config 0)',
      'dispose b (config 0)',
      'dispose a (config 0)',
      'side host-a removed',
      'events stop',
      'removeRun',
      'watch stop',
    ]);
  });

  it('cancelled mid-run: the running configuration ends as cancel, the next one is never started, and everything started is removed', async () => {
    const controller = new AbortController();
    const fake = new FakeRuntime({
      behaviour: () => ({ hangUntilAborted: true }),
      onStarted: () => setTimeout(() => controller.abort(new Error('SIGINT')), 20),
    });
    const file = await scenario('fake-cancel', { runs: ['first', 'second'], instances: ONE_DB, expect: DB_SURVIVES });
    const { report } = await run(fake, file, controller.signal);
    expect(report.endedBy).toBe('cancel');
    expect(report.error).toBe('SIGINT');
    expect(report.configs.map((c) => [c.id, c.verdict, c.endedBy])).toEqual([
      ['run=first', 'error', 'cancel'],
      ['run=second', 'error', 'cancel'],
    ]);
    expect(report.configs[1]!.reason).toBe('not decided: SIGINT');
    expect(fake.calls.filter((c) => c.startsWith('start') || c.startsWith('dispose') || c === 'removeRun')).toEqual(['start db (config 0)', 'dispose db (config 0)', 'removeRun']);
  });

  it('engine lost: the configuration it interrupted is not decided, the run ends as an error with a report, and teardown still runs', async () => {
    const fake = new FakeRuntime({
      behaviour: () => ({ hangUntilAborted: true }),
      onStarted: (_instance, _index, runtime) => setTimeout(() => runtime.loseEngine(), 20),
    });
    const file = await scenario('fake-engine-lost', { runs: ['first', 'second'], instances: ONE_DB, expect: DB_SURVIVES });
    const { report } = await run(fake, file);
    expect(report.endedBy).toBe('error');
    const lost = 'the fake engine at fake://engine stopped answering during the run — restart the fake engine, then run `oomlab clean` to remove what the run left';
    expect(report.error).toBe(lost);
    // The second configuration never started: not run, not an error of its own (a newcomer's lab report counted one
    // that ran 0 s as "could not decide (harness error)").
    expect(report.configs.map((c) => [c.verdict, c.endedBy])).toEqual([
      ['error', 'error'],
      ['skipped', 'error'],
    ]);
    expect(report.configs.map((c) => c.reason)).toEqual([`not decided: ${lost}`, `not run: the run ended before it started, as ${lost}`]);
    expect(fake.calls.slice(fake.calls.indexOf('engine lost'))).toEqual(['engine lost', 'dispose db (config 0)', 'events stop', 'removeRun', 'watch stop']);
  });

  it('an undecided configuration: an instance stopped from outside is an error, and the next configuration is still decided', async () => {
    const fake = new FakeRuntime({
      behaviour: () => ({ readyAfterMs: 50 }),
      // The engine reports a kill no step of the run asked for (docker stop by hand, an engine shutting down).
      onStarted: (instance, index, runtime) => index === 0 && setTimeout(() => runtime.emit({ action: 'kill', containerId: instance.containerId }), 10),
    });
    const file = await scenario('fake-undecided', { runs: ['first', 'second'], instances: ONE_DB, expect: DB_SURVIVES });
    const { report } = await run(fake, file);
    expect(report.endedBy).toBe('done');
    expect(report.configs.map((c) => [c.id, c.verdict, c.endedBy])).toEqual([
      ['run=first', 'error', 'error'],
      ['run=second', 'pass', 'done'],
    ]);
    expect(report.configs[0]!.reason).toContain('db was stopped from outside the run (docker kill event)');
  });

  it('an instance the engine cannot start: that configuration is an error naming why, and the run goes on', async () => {
    const fake = new FakeRuntime({ behaviour: (index) => (index === 0 ? { startFails: new Error('no such image on the fake engine') } : {}) });
    const file = await scenario('fake-start-fails', { runs: ['first', 'second'], instances: ONE_DB, expect: DB_SURVIVES });
    const { report } = await run(fake, file);
    expect(report.configs.map((c) => [c.verdict, c.endedBy])).toEqual([
      ['error', 'error'],
      ['pass', 'done'],
    ]);
    expect(report.configs[0]!.reason).toContain('no such image on the fake engine (while starting)');
    expect(fake.calls.filter((c) => c.startsWith('start') || c.startsWith('dispose'))).toEqual(['start db (config 0)', 'start db (config 1)', 'dispose db (config 1)']);
  });

  it("--jobs 2: start-up configurations run side by side, the report keeps the matrix order and records each one's slot and concurrency", async () => {
    const fake = new FakeRuntime({ behaviour: () => ({ readyAfterMs: 30 }) });
    const file = await scenario('fake-jobs', { runs: ['first', 'second', 'third'], instances: ONE_DB, expect: DB_SURVIVES });
    const { report } = await run(fake, file, undefined, 2);
    expect(report.jobs).toMatchObject({ jobs: 2, source: 'option' });
    expect(report.configs.map((c) => [c.id, c.verdict])).toEqual([
      ['run=first', 'pass'],
      ['run=second', 'pass'],
      ['run=third', 'pass'],
    ]);
    const starts = fake.calls.filter((c) => c.startsWith('start') || c.startsWith('dispose'));
    expect(starts.slice(0, 2)).toEqual(['start db (config 0)', 'start db (config 1)']);
    expect(report.configs.map((c) => c.concurrency)).toEqual([
      { jobs: 2, slots: [1], runningAtMost: 2 },
      { jobs: 2, slots: [2], runningAtMost: 2 },
      { jobs: 2, slots: [expect.any(Number)], runningAtMost: 2 },
    ]);
  });

  it('numbers each configuration in progress as the report does (#N, its place in report.configs), a shard too', async () => {
    const file = await scenario('fake-numbers', { runs: ['a', 'b', 'c', 'd', 'e', 'f'], instances: ONE_DB, expect: DB_SURVIVES });
    const seen: { id: string; number: number; total: number }[] = [];
    const { report } = await runScenario({
      scenarioPath: file,
      runtime: new FakeRuntime(),
      reportsDir: join(dir, 'reports'),
      signal: new AbortController().signal,
      configTimeoutMs: 30_000,
      jobs: 1,
      shard: { index: 2, count: 2 },
      onProgress: (p) => {
        if (p.kind === 'config-start') seen.push({ id: p.id, number: p.number, total: p.total });
      },
    });
    expect(seen.map((s) => s.id)).toEqual(report.configs.map((c) => c.id));
    expect(seen.map((s) => [s.number, s.total])).toEqual(report.configs.map((_, i) => [i + 1, report.configs.length]));
  });
});
