import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runScenarioForTest, withTempDir } from './helpers.ts';

// A server OOM-killed while a step's SQL runs: the step fails (its connection is cut), and the outcome is
// still the kill, with the kernel's line and the peak. MariaDB 10.11 with a 1 GiB buffer pool in 320 MiB,
// the step filling the pool by doubling a table until the kernel kills mariadbd.
const scenario = `import { defineScenario } from '${PROJECT_ROOT}/src/1-scenario/index.ts';
export default defineScenario({
  name: 'step-death',
  incident: 'a step fills the buffer pool past the limit',
  matrix: { memory: ['320m'] },
  instances: (c) => ({ a: { image: 'oomlab/mariadb:10.11', memory: c.memory, mycnf: { innodb_buffer_pool_size: '1G' } } }),
  expect: () => ({ a: { outcome: 'oom-killed-under-load', because: 'the pool is sized past the limit' } }),
  steps: () => [
    {
      name: 'fill-pool',
      at: '1s',
      timeout: '150s',
      action: 'run',
      instance: 'a',
      run: async ({ sql }) => {
        await sql\`CREATE DATABASE IF NOT EXISTS fill\`;
        await sql\`CREATE TABLE fill.t (id INT AUTO_INCREMENT PRIMARY KEY, pad CHAR(255) NOT NULL)\`;
        await sql\`INSERT INTO fill.t (pad) VALUES (\${'x'.repeat(255)})\`;
        for (let i = 0; i < 24; i++) await sql\`INSERT INTO fill.t (pad) SELECT pad FROM fill.t\`;
      },
    },
  ],
});
`;

describe("a server's death while a step runs", () => {
  it('is the outcome, with the kernel line and the anonymous peak, and the step failure after them', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'step-death.ts');
      await writeFile(file, scenario);
      const { report } = await runScenarioForTest({ scenarioPath: file, reportsDir: dir }, 220_000);
      const [config] = report.configs;
      expect(config!.verdict, config!.reason).toBe('pass');
      expect(config!.outcome).toBe('oom-killed-under-load');
      expect(config!.reason).toMatch(/^oom-killed-under-load, as expected: the pool is sized past the limit; a step failed as the server died \(step "fill-pool" \(run\) failed: /);
      expect(config!.evidence[0]!.source).toBe('kernel');
      expect(config!.evidence[0]!.text).toMatch(/Killed process \d+ \(mariadbd\) total-vm:\d+kB, anon-rss:\d+kB/);
      expect(config!.evidence.at(-1)!.text).toMatch(/^fill-pool \(run on a\) failed: /);
      // The kill's anon-rss is the headline peak; the cgroup's peak (page cache counted) is kept beside it.
      expect(config!.metrics.peakMemoryBytes).toBeLessThanOrEqual(320 * 2 ** 20);
      expect(config!.metrics.peakUsageBytes).toBeGreaterThanOrEqual(config!.metrics.peakMemoryBytes!);
      // Teardown's kill/die are not evidence: the only die listed is the kill's own.
      expect(config!.evidence.filter((e) => e.source === 'docker-event' && e.text === 'kill')).toEqual([]);
    });
  });
});
