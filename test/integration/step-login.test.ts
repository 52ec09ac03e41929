// A step logs in: the docs' `run` step examples, run as written against a real server, with the run's
// random root password in no command, log line or output.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepActionSchemas, type StepAction, type StepInput } from '../../src/1-scenario/steps.ts';
import {
  applyFault,
  buildNofileShim,
  connectEngine,
  OFFLINE_MARIADB_IMAGE,
  removeRunContainers,
  startInstance,
  type Engine,
  type DockerFaultTarget,
  type StartedInstance,
} from '../../src/3-runtime/docker/index.ts';
import { containersLabelled } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const run = { runId: `test-step-login-${process.pid}`, scenario: 'test-step-login' };
const dir = join(ROOT, 'test-output', `step-login-${process.pid}`);
let engine: Engine;
let db: StartedInstance;
const logged: string[] = [];

/** The `run` step examples of a doc: each ```ts block that is one step object with `action: 'run'`. */
function runExamples(doc: string): string[] {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!.trim()).filter((b) => b.startsWith('{') && b.includes("action: 'run'"));
}

function target(): DockerFaultTarget {
  return {
    engine,
    run,
    configId: 'step-login-test',
    configIndex: 0,
    // The docs name their instance `a`.
    instances: new Map([['a', db]]),
    cgroupParents: new Map(),
    signal: AbortSignal.timeout(60_000),
    log: (line) => logged.push(line),
    cwd: import.meta.dirname,
  };
}

async function runAction(step: StepInput): Promise<StepAction> {
  const { run: fn, instance } = step as Extract<StepInput, { action: 'run' }>;
  return stepActionSchemas.run.parse({ action: 'run', instance, run: fn }) as StepAction;
}

beforeAll(async () => {
  engine = await connectEngine();
  const context = { engine, run, configId: 'step-login-test', configIndex: 0, hostNofileHardLimit: 20_000, shimPath: buildNofileShim };
  db = await startInstance({ name: 'a', image: OFFLINE_MARIADB_IMAGE, memory: 512 * 1024 ** 2, mycnf: { innodb_buffer_pool_size: '32M' } }, context);
  const ready = await db.waitReady(60_000, AbortSignal.timeout(60_000));
  if (!ready.ready) throw new Error(`instance not ready: ${ready.why}`);
  await mkdir(dir, { recursive: true });
});

afterAll(async () => {
  await db?.[Symbol.asyncDispose]();
  await removeRunContainers(engine, run.runId);
  await rm(dir, { recursive: true, force: true });
  expect(await containersLabelled(`oomlab.run=${run.runId}`)).toEqual([]);
});

describe('a run step logs in to its server', () => {
  it.each([
    ['docs/shell.md', /Threads_connected\s+\d+[\s\S]*\n\d+ root sessions\n/],
    ['docs/scenarios.md', /Threads_connected\s+\d+[\s\S]*\nmax_connections \d+\n/],
  ])('the run step example of %s runs as written', async (doc, printed) => {
    const examples = runExamples(doc);
    expect(examples.length).toBe(1);
    const file = join(dir, `${doc.replace(/\W/g, '-')}.ts`);
    await writeFile(file, `import type { StepInput } from '../../src/1-scenario/steps.ts';\n\nexport const step: StepInput = ${examples[0]};\n`);
    const { step } = (await import(file)) as { step: StepInput };
    const applied = await applyFault(await runAction(step), target());
    expect(applied.output).toMatch(printed);
    const { password } = db.endpoint();
    expect([applied.output, ...logged].filter((text) => text?.includes(password))).toEqual([]);
  });

  it('container.$ runs the client as root with no -u or -p, and sql binds its values', async () => {
    const applied = await applyFault(
      stepActionSchemas.run.parse({
        action: 'run',
        instance: 'a',
        run: async ({ container, sql, log }: Parameters<Extract<StepAction, { action: 'run' }>['run']>[0]) => {
          log((await container.$`mariadb -N -e ${'SELECT CURRENT_USER()'}`).stdout.trim());
          log((await container.$`mariadb-admin ping`).stdout.trim());
          const rows = await sql`SELECT ${"it's"} AS quoted, ${41} + 1 AS answer`;
          log(JSON.stringify(rows));
        },
      }) as StepAction,
      target(),
    );
    expect(applied.output).toBe(
      [
        "[a] $ mariadb -N -e $'SELECT CURRENT_USER()'",
        '[a] root@localhost',
        'root@localhost',
        '[a] $ mariadb-admin ping',
        '[a] mysqld is alive',
        'mysqld is alive',
        '[a] sql> SELECT ? AS quoted, ? + 1 AS answer',
        '[a] 1 row',
        '[{"quoted":"it\'s","answer":42}]',
        '',
      ].join('\n'),
    );
  });
});
