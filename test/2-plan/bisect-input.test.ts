import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenario, type Scenario } from '../../src/1-scenario/index.ts';
import { axisLabel, parseBisectArgs, type BisectArgs } from '../../src/2-plan/bisect-input.ts';
import { modelBoundary } from '../../src/2-plan/bisect-model.ts';
import { planRun, predictMemory } from '../../src/2-plan/index.ts';

const scenarioFile = (name: string) => fileURLToPath(new URL(`../../scenarios/${name}.ts`, import.meta.url));
const SIZED = 'allocator=glibc,innodb_thread_concurrency=0,buffers=sized';
const HOST = { defaultNofile: 20_000, cpus: 2 };

let burst: Scenario;
beforeAll(async () => {
  burst = await loadScenario(scenarioFile('burst-oom'));
});

function messageOf(args: Partial<BisectArgs>): string {
  try {
    parseBisectArgs(burst, { axis: 'max_connections', range: '300..2000', config: SIZED, ...args });
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'no error';
}

describe('parseBisectArgs', () => {
  it('pins every other axis of the one configuration --config names, whichever way it is named', () => {
    const pinned = ['image=oomlab/mariadb:10.11', 'allocator=glibc', 'innodb_thread_concurrency=0', 'buffers=sized', 'memory=1g'];
    for (const config of [SIZED, `${SIZED},max_connections=300`, `image=oomlab/mariadb:10.11,${SIZED},max_connections=2000,memory=1g`, `${SIZED},max_connections=777`]) {
      const request = parseBisectArgs(burst, { axis: 'max_connections', range: '300..2000', step: '50', config });
      expect(request).toEqual({ axis: 'max_connections', kind: 'number', grid: { lo: 300, hi: 2000, step: 50 }, only: pinned, configLabel: pinned.join(','), repeat: 2 });
    }
  });

  it('reads a size axis with the sizes of scenarios, on a 1 MiB grid unless told', () => {
    const request = parseBisectArgs(burst, { axis: 'memory', range: '512m..4g', config: `${SIZED},max_connections=300` });
    expect(request.kind).toBe('size');
    expect(request.grid).toEqual({ lo: 512 * 1024 ** 2, hi: 4 * 1024 ** 3, step: 1024 ** 2 });
    expect(axisLabel('size', 600 * 1024 ** 2)).toBe('600m');
    expect(axisLabel('size', 600 * 1024 ** 2 + 1)).toBe('629145601');
  });

  it('says in one line what is wrong, the value received and what to give', () => {
    expect(messageOf({ axis: 'max_conn' })).toBe("UnknownAxisError: unknown axis `max_conn`; this scenario's axes are: image, allocator, innodb_thread_concurrency, buffers, max_connections, memory");
    expect(messageOf({ axis: 'buffers' })).toBe(
      'UsageError: --axis buffers: `buffers` is not numeric (its values: incident-era, sized); bisect searches a number or size axis: innodb_thread_concurrency, max_connections, memory',
    );
    expect(messageOf({ range: '2000..300' })).toBe('UsageError: --range 2000..300: LO must be below HI, e.g. --range 300..2000');
    expect(messageOf({ range: '300-2000' })).toBe('UsageError: --range 300-2000: write LO..HI with whole numbers, e.g. --range 300..2000');
    expect(messageOf({ range: '3.5..300' })).toBe('UsageError: --range 3.5..300: write LO..HI with whole numbers, e.g. --range 300..2000');
    expect(messageOf({ axis: 'memory', range: '1g..2x', config: `${SIZED},max_connections=300` })).toBe('UsageError: --range 1g..2x: write LO..HI with sizes, e.g. --range 512m..4g');
    expect(messageOf({ step: '0' })).toBe('UsageError: --step 0: `max_connections` takes a step of a whole number ≥ 1, e.g. --step 50');
    expect(messageOf({ repeat: 'two' })).toBe('UsageError: --repeat-boundary two: give a whole number of repeats ≥ 0, e.g. --repeat-boundary 2');
    const sized = ['glibc,innodb_thread_concurrency=0', 'glibc,innodb_thread_concurrency=32', 'jemalloc,innodb_thread_concurrency=0', 'jemalloc,innodb_thread_concurrency=32'];
    const ids = sized.flatMap((a) => ['incident-era', 'sized'].map((b) => `image=oomlab/mariadb:10.11,allocator=${a},buffers=${b},memory=1g`));
    expect(messageOf({ config: 'allocator=tcmalloc' })).toBe(
      `UsageError: --config allocator=tcmalloc matches no configuration of ${burst.file}; give one of (any max_connections): ${ids.join(' | ')}`,
    );
    expect(messageOf({ config: 'buffers=sized,allocator=glibc' })).toBe(
      `UsageError: --config buffers=sized,allocator=glibc matches 2 configurations of ${burst.file}; name one: image=oomlab/mariadb:10.11,allocator=glibc,innodb_thread_concurrency=0,buffers=sized,memory=1g | image=oomlab/mariadb:10.11,allocator=glibc,innodb_thread_concurrency=32,buffers=sized,memory=1g`,
    );
  });
});

describe('modelBoundary', () => {
  it("puts burst-oom's max_connections boundary where the model's own connections-within-limit does, outside a range above it", async () => {
    const request = parseBisectArgs(burst, { axis: 'max_connections', range: '300..2000', step: '50', config: SIZED });
    const model = await modelBoundary(burst, request, HOST);
    const [config] = planRun(burst, { only: [...SIZED.split(','), 'max_connections=300'] });
    predictMemory([config!], HOST);
    // connectionsWithinLimit counts the admin connection beside max_connections.
    const within = config!.predictions!.replica!.connectionsWithinLimit!;
    expect(model.outcome).toMatchObject({ last: { value: within - 1, outcome: 'survived' }, first: { value: within, outcome: 'oom-killed-under-load' }, outsideRange: true });
    expect(model.lo.outcome).toBe('oom-killed-under-load');
    expect(model.hi.outcome).toBe('oom-killed-under-load');
  });

  it('finds a crossing inside the range on a size axis', async () => {
    const request = parseBisectArgs(burst, { axis: 'memory', range: '512m..4g', config: `${SIZED},max_connections=300` });
    const model = await modelBoundary(burst, request, HOST);
    expect(model.outcome?.outsideRange).toBe(false);
    expect(model.outcome?.last.outcome).toBe('oom-killed-under-load');
    expect(model.outcome?.first.outcome).toBe('survived');
    expect(model.outcome!.first.value - model.outcome!.last.value).toBe(1024 ** 2);
    expect(model.outcome!.first.loadPeakBytes).toBeLessThanOrEqual(model.outcome!.first.value);
    expect(model.outcome!.last.loadPeakBytes).toBeGreaterThan(model.outcome!.last.value);
  });
});
