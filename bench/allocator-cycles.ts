// What the allocator keeps from one work cycle to the next (the expected-peak model's allocator-retention term,
// src/2-plan/image-footprints.ts `cycles`): the allocator-retention scenario's own heavy work (its my.cnf, seed,
// statement mix, sessions and in-flight cap, its burst and quiet lengths), run for more cycles than the scenario
// and under a limit it cannot reach, one server per allocator of its matrix, all at once as the scenario runs them.
// For each cycle it prints the anonymous peak during the burst and the anonymous memory at the end of the quiet.
// It starts containers: run it under the shared lock.
// Usage: node --import tsx bench/allocator-cycles.ts [--scenario scenarios/allocator-retention.ts] [--cycles 5] [--memory-gib 4] [--json]
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { loadScenario } from '../src/1-scenario/index.ts';
import { planRun } from '../src/2-plan/index.ts';
import { buildNofileShim, connectEngine, resolveImage, startInstance } from '../src/3-runtime/docker/index.ts';
import { readContainerResources } from '../src/4-observe/index.ts';
import { FEED_DATABASE, seedFeed, seededRandom } from '../src/5-workload/index.ts';

const { values } = parseArgs({ options: { scenario: { type: 'string' }, cycles: { type: 'string' }, 'memory-gib': { type: 'string' }, json: { type: 'boolean' } } });
const CYCLES = Number(values.cycles ?? 5);
const MEMORY = Number(values['memory-gib'] ?? 4) * 1024 ** 3;
const scenario = await loadScenario(resolve(values.scenario ?? 'scenarios/allocator-retention.ts'));
// One server per allocator of the matrix: the limit axis does not matter under the bench's own limit.
const configs = planRun(scenario).filter((config, i, all) => all.findIndex((other) => other.axes.allocator === config.axes.allocator) === i);

type Started = Awaited<ReturnType<typeof startInstance>>;
const progress = { onProgress: (message: string) => console.error(`· ${message}`) };
const engine = await connectEngine(progress);
const run = { runId: `bench-alloc-${Date.now()}`, scenario: 'bench-allocator-cycles' };
const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const anonOf = async (server: Started) => (await readContainerResources(server))?.memoryRssBytes ?? 0;

export interface CycleFigures {
  config: string;
  allocator: string;
  image: string;
  /** Anonymous memory after the seed, before the first burst. */
  seededBytes: number;
  cycles: { peakBytes: number; afterQuietBytes: number; statements: number; errors: number }[];
}

async function measure(index: number): Promise<CycleFigures> {
  const config = configs[index]!;
  const workload = config.workload;
  if (workload?.kind !== 'storm' || !workload.mix) throw new Error(`${config.id}: the bench needs a storm with its own mix`);
  const spec = config.instances.find((i) => i.name === workload.target)!;
  // The scenario's burst and quiet lengths: the first stage at a rate and the first at 0 after it.
  const burstMs = workload.stages.filter((s) => s.targetPerSecond > 0).reduce((longest, s) => Math.max(longest, s.durationMs), 0);
  const quietMs = workload.stages.filter((s) => s.targetPerSecond === 0).reduce((longest, s) => Math.max(longest, s.durationMs), 0);
  const inFlight = workload.maxInFlight ?? 30;
  const queriesPerSession = workload.session?.queries ?? 1;
  const mix = workload.mix;
  const totalWeight = mix.reduce((sum, q) => sum + q.weight, 0);
  await resolveImage(engine, spec.image, progress);
  await using server = await startInstance(
    { ...spec, memory: MEMORY, memorySwap: MEMORY },
    { engine, run, configId: config.id, configIndex: index, hostNofileHardLimit: 20_000, shimPath: buildNofileShim },
  );
  const ready = await server.waitReady(90_000, new AbortController().signal);
  if (!ready.ready) throw new Error(`${config.id}: not ready: ${ready.why}`);
  await seedFeed(server.endpoint(), workload.seed ?? { users: 2_000, posts: 40_000, followsPerUser: 20 });
  await sleep(2_000);
  const figures: CycleFigures = { config: config.id, allocator: String(config.axes.allocator), image: spec.image, seededBytes: await anonOf(server), cycles: [] };
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const deadline = Date.now() + burstMs;
    let statements = 0;
    let errors = 0;
    const worker = async (seed: number) => {
      const random = seededRandom(seed);
      while (Date.now() < deadline) {
        const connection = await createConnection({ ...server.endpoint(), database: FEED_DATABASE, connectTimeout: 20_000 });
        try {
          for (let q = 0; q < queriesPerSession; q++) {
            let pick = random() * totalWeight;
            const query = mix.find((m) => (pick -= m.weight) < 0) ?? mix[0]!;
            await connection.query(query.sql, query.params?.(random) ?? []).then(
              () => statements++,
              () => errors++,
            );
          }
        } finally {
          await connection.end().catch(() => connection.destroy());
        }
      }
    };
    let peak = await anonOf(server);
    let done = false;
    const sampling = (async () => {
      while (!done) {
        peak = Math.max(peak, await anonOf(server));
        await sleep(100);
      }
    })();
    await Promise.all(Array.from({ length: inFlight }, (_, i) => worker(cycle * 1_000 + i + 1)));
    done = true;
    await sampling;
    peak = Math.max(peak, await anonOf(server));
    await sleep(quietMs);
    const afterQuietBytes = await anonOf(server);
    figures.cycles.push({ peakBytes: peak, afterQuietBytes, statements, errors });
    console.error(`  ${config.id} cycle ${cycle + 1}: peak ${mib(peak)} MiB, after the quiet ${mib(afterQuietBytes)} MiB (${statements} statements, ${errors} errors)`);
  }
  return figures;
}

const all = await Promise.all(configs.map((_, i) => measure(i)));
if (values.json) console.log(JSON.stringify(all, null, 2));
console.log(`allocator retention per cycle, ${scenario.name}, cgroup anon (memory.stat total_rss), limit ${mib(MEMORY)} MiB, ${new Date().toISOString()}`);
for (const f of all) {
  console.log(`${f.allocator} (${f.image}): after the seed ${mib(f.seededBytes)} MiB`);
  for (const [i, c] of f.cycles.entries())
    console.log(
      `  cycle ${i + 1}: peak ${mib(c.peakBytes)} MiB (+${mib(c.peakBytes - f.seededBytes)}), after the quiet ${mib(c.afterQuietBytes)} MiB (+${mib(c.afterQuietBytes - f.seededBytes)}); ${c.statements} statements, ${c.errors} errors`,
    );
}
