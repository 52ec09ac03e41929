import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { afterAll, expect } from 'vitest';
import { connectEngine, removeSession, restoreAbandonedHostSettings, SESSION_ENV } from '../../src/3-runtime/docker/index.ts';

// A setup file: it runs in each test file's worker before the file, so every test file has its own
// session. Runs in this process label with it at creation, and the CLI children the tests spawn inherit it.
const file = basename(expect.getState().testPath ?? 'unknown', '.test.ts');
const session = `test-${file}-${process.pid}-${randomBytes(4).toString('hex')}`;
process.env[SESSION_ENV] = session;

afterAll(async () => {
  const log = (text: string) => process.stderr.write(`[session ${session}] ${text}\n`);
  const engine = await connectEngine({ onProgress: log });
  const result = await removeSession(engine, session);
  // Only what a test leaked gets here (runs remove their own), so it is worth a line in the CI log.
  for (const c of result.removed) log(`removed container ${c.name} (run ${c.runId})${c.released.length > 0 ? ` after: ${c.released.join('; ')}` : ''}`);
  for (const name of result.networks) log(`removed network ${name}`);
  for (const name of result.volumes) log(`removed volume ${name}`);
  for (const name of result.sideCgroups) log(`removed side cgroup ${name}`);
  // Host settings (THP) switched by a run of this process, or of a dead one, are put back.
  for (const setting of await restoreAbandonedHostSettings()) log(`restored ${setting.path} to ${setting.value}`);
  const left = [...result.stuck.map((c) => `stuck: ${c.name} (${c.id.slice(0, 12)}, ${c.state}): ${c.reason} — by hand: ${c.byHand}`), ...result.problems];
  if (left.length > 0) throw new Error(`the session ${session} left what its teardown could not remove:\n${left.join('\n')}`);
});
