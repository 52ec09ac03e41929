// How long the flagship's whole offline matrix takes here (image already built), per configuration
// and in all. Usage: node --import tsx bench/nofile-matrix.ts [--set memory=1g]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../src/8-run/index.ts';

const set = process.argv.includes('--set') ? [process.argv[process.argv.indexOf('--set') + 1]!] : [];
const reportsDir = await mkdtemp(join(tmpdir(), 'oomlab-bench-'));
const startedAt = performance.now();
try {
  const { report } = await runScenario({ scenarioPath: 'scenarios/nofile-oom.ts', set, reportsDir, signal: new AbortController().signal });
  const totalMs = performance.now() - startedAt;
  const ran = report.configs.filter((c) => c.verdict !== 'skipped');
  for (const c of ran) console.log(`${(c.durationMs / 1000).toFixed(1).padStart(6)}s  ${c.outcome?.padEnd(22)} ${c.id}`);
  const counts = new Map<string, number>();
  for (const c of ran) counts.set(c.outcome ?? 'undecided', (counts.get(c.outcome ?? 'undecided') ?? 0) + 1);
  const outcomes = [...counts].map(([outcome, n]) => `${outcome}: ${n}`);
  console.log(`\n${ran.length} configurations ran, ${report.configs.length - ran.length} skipped; ${outcomes.join(', ')}`);
  console.log(`whole run: ${(totalMs / 1000).toFixed(1)}s (tracer start and engine checks included); verdicts ${JSON.stringify(report.summary)}`);
  const slowest = ran.reduce((a, b) => (a.durationMs > b.durationMs ? a : b));
  console.log(`slowest configuration: ${(slowest.durationMs / 1000).toFixed(1)}s ${slowest.id}`);
} finally {
  await rm(reportsDir, { recursive: true, force: true });
}
