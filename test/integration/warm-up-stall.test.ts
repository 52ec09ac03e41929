import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runScenarioForTest, withTempDir } from './helpers.ts';

// A server that stops answering during its buffer-pool warm-up, alive and not OOM-killed: what a lab under cgroup v2
// showed (anon-rss at its limit for minutes, the kernel reclaiming instead of killing). Here `docker pause` freezes it
// the same way from outside, which this host can do on demand; the warm-up must end in its batch time, not hang.
const scenario = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'warm-up-stall',
  incident: 'a server frozen during its warm-up',
  matrix: { memory: ['512m'] },
  instances: (c) => ({
    db: { image: 'oomlab/mariadb:10.11', memory: c.memory, mycnf: { innodb_buffer_pool_size: '256M' }, warmup: { bufferPoolFraction: 0.9, batchTimeoutMs: 3_000 }, settleMs: 500 },
  }),
  steps: () => [{ name: 'freeze', after: 'db.ready', action: 'pause', instance: 'db' }],
  expect: () => ({ db: { outcome: 'survived', because: 'a frozen server is not a decided outcome' } }),
});
`;

describe('a warm-up whose server stops answering', () => {
  it('ends within its batch time as an error that says the server stalled alive, not killed', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'warm-up-stall.ts');
      await writeFile(file, scenario);
      const started = performance.now();
      const { report } = await runScenarioForTest({ scenarioPath: file, reportsDir: dir }, 180_000);
      const [config] = report.configs;
      expect(config!.verdict, config!.reason).toBe('error');
      expect(config!.reason).toMatch(/db: the buffer-pool warm-up stalled: one batch of 10000 rows took over 3s .*still alive and not OOM-killed/);
      // Not the configuration's own deadline (minutes): the batch's 3 s, plus start and teardown.
      expect(performance.now() - started).toBeLessThan(120_000);
    });
  });
});
