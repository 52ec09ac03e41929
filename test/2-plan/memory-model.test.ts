import { describe, expect, it } from 'vitest';
import { ScenarioInvalidError } from '../../src/0-model/errors.ts';
import {
  cannotStart,
  effectiveOpenFilesLimit,
  formatPredictionWarning,
  openFilesAtStartup,
  predictInstance,
  predictPeakMemory,
  resolveVariables,
  serverFamilyOf,
  serverProfile,
  type MemoryPrediction,
} from '../../src/2-plan/index.ts';
import type { InstanceSpec } from '../../src/1-scenario/index.ts';
import { instancesOf } from '../../src/2-plan/index.ts';
import burstOom from '../../scenarios/burst-oom.ts';
import nofileOom from '../../scenarios/nofile-oom.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const CONTAINERD_INFINITY = 1_073_741_816;
const MARIADB = 'oomlab/mariadb:10.11';
/** This project's machines: Docker's default nofile is the host ceiling 20000, and 2 CPUs. */
const HOST = { defaultNofile: 20_000, cpus: 2 };

function term(prediction: MemoryPrediction, name: string): number {
  const found = prediction.terms.find((t) => t.name === name);
  if (!found) throw new Error(`no term ${name} among ${prediction.terms.map((t) => t.name).join(', ')}`);
  return found.bytes;
}

function only(instances: InstanceSpec[]): InstanceSpec {
  expect(instances).toHaveLength(1);
  return instances[0]!;
}

describe('serverFamilyOf', () => {
  it.each([
    ['mysql:5.7', { family: 'mysql', version: '5.7' }],
    ['mysql:5.5', { family: 'mysql', version: '5.5' }],
    ['mysql:8.0', { family: 'mysql', version: '8.0' }],
    ['mysql:5.7.44-oraclelinux7', { family: 'mysql', version: '5.7' }],
    ['docker.io/library/mysql:8.0.36', { family: 'mysql', version: '8.0' }],
    ['percona:5.7', { family: 'mysql', version: '5.7' }],
    ['mariadb:10.11', { family: 'mariadb', version: '10.11' }],
    ['oomlab/mariadb:10.11', { family: 'mariadb', version: '10.11' }],
    ['mysql', { family: 'mysql', version: 'latest' }],
  ])('%s → %o', (image, identity) => {
    expect(serverFamilyOf(image)).toEqual(identity);
  });

  it('knows nothing of other images', () => {
    expect(serverFamilyOf('alpine:3.19')).toBeUndefined();
    expect(serverFamilyOf('localhost:5000/postgres:16')).toBeUndefined();
  });

  it('uses the nearest modelled version and says so', () => {
    expect(serverProfile({ family: 'mysql', version: '5.6' })).toEqual({
      profile: expect.objectContaining({ version: '5.7' }),
      note: 'mysql 5.6 is not modelled: MySQL 5.7 defaults and start-up rules are used',
    });
    expect(serverProfile({ family: 'mysql', version: 'latest' }).profile.version).toBe('8.0');
    expect(serverProfile({ family: 'mariadb', version: '10.6' }).profile.version).toBe('10.11');
    expect(serverProfile({ family: 'mysql', version: '5.7' }).note).toBeUndefined();
  });
});

describe('my.cnf values', () => {
  const mysql57 = serverProfile({ family: 'mysql', version: '5.7' }).profile;

  it('reads sizes with K, M, G suffixes, plain numbers, dashes and loose- prefixes', () => {
    const { variables } = resolveVariables(mysql57, {
      sort_buffer_size: '16M',
      innodb_buffer_pool_size: '1G',
      key_buffer_size: '16k',
      'join-buffer-size': '256K',
      'loose-read_buffer_size': 131_072,
      read_rnd_buffer_size: '1000000',
      max_connections: '2k',
      table_cache: 64,
    });
    expect(variables).toMatchObject({
      sort_buffer_size: 16 * MiB,
      innodb_buffer_pool_size: GiB,
      key_buffer_size: 16 * KiB,
      join_buffer_size: 256 * KiB,
      read_buffer_size: 128 * KiB,
      read_rnd_buffer_size: 1_000_000,
      max_connections: 2048,
      table_open_cache: 64,
    });
  });

  it('turns the binary log on for any log_bin value but an explicit off, and off for skip-log-bin', () => {
    const mysql80 = serverProfile({ family: 'mysql', version: '8.0' }).profile;
    expect(resolveVariables(mysql57, {}).variables.log_bin).toBe(false);
    expect(resolveVariables(mysql57, { log_bin: 'mysql-bin' }).variables.log_bin).toBe(true);
    expect(resolveVariables(mysql57, { log_bin: 'OFF' }).variables.log_bin).toBe(false);
    expect(resolveVariables(mysql80, {}).variables.log_bin).toBe(true);
    expect(resolveVariables(mysql80, { 'skip-log-bin': true }).variables.log_bin).toBe(false);
  });

  it('names a setting the server does not have instead of counting it', () => {
    const mysql80 = serverProfile({ family: 'mysql', version: '8.0' }).profile;
    const { variables, notes } = resolveVariables(mysql80, { query_cache_size: '64M' });
    expect(variables.query_cache_size).toBe(0);
    expect(notes).toEqual(['MySQL 8.0 has no `query_cache_size`: mysqld refuses to start with it in my.cnf; the setting is ignored here']);
  });

  it('rejects a size it cannot read, quoting it', () => {
    expect(() => resolveVariables(mysql57, { sort_buffer_size: 'lots' })).toThrow(ScenarioInvalidError);
    expect(() => resolveVariables(mysql57, { sort_buffer_size: 'lots' })).toThrow('my.cnf `sort_buffer_size` = `lots`: not a size; write it like 256K, 16M, 1G or a number of bytes');
    expect(() => resolveVariables(mysql57, { key_buffer_size: true })).toThrow('my.cnf `key_buffer_size` = true: expected a size or a number; write it like 256K, 16M, 1G or a number of bytes');
  });
});

describe('effectiveOpenFilesLimit: MySQL keeps any soft limit above what it asks for', () => {
  it("5.7 takes containerd's 1073741816 (incident 1), and 4096 after `ulimit -n 4096`", () => {
    expect(effectiveOpenFilesLimit({ family: 'mysql', version: '5.7', nofileSoft: CONTAINERD_INFINITY })).toBe(CONTAINERD_INFINITY);
    expect(effectiveOpenFilesLimit({ family: 'mysql', version: '5.7', nofileSoft: 1_048_576 })).toBe(1_048_576);
    expect(effectiveOpenFilesLimit({ family: 'mysql', version: '5.7', nofileSoft: 4096 })).toBe(4096);
  });

  it('5.7 ignores a smaller open_files_limit in my.cnf: the tuned my.cnf was a red herring', () => {
    expect(effectiveOpenFilesLimit({ family: 'mysql', version: '5.7', nofileSoft: CONTAINERD_INFINITY, mycnf: { open_files_limit: 4096 } })).toBe(CONTAINERD_INFINITY);
  });

  it('5.7 asks for 5000 at least and raises a lower soft limit up to the hard one', () => {
    expect(openFilesAtStartup({ family: 'mysql', version: '5.7', nofileSoft: 1024, nofileHard: 65_536 })).toMatchObject({ openFilesLimit: 5000, requestedFiles: 5000 });
  });

  it('5.5 asks for no floor of 5000: with nofile 1024 it runs with 1024, as 5.5 servers did', () => {
    expect(openFilesAtStartup({ family: 'mysql', version: '5.5', nofileSoft: 1024 })).toMatchObject({
      openFilesLimit: 1024,
      requestedFiles: 10 + 151 + 400 * 2,
      maxConnections: 151,
    });
    expect(effectiveOpenFilesLimit({ family: 'mysql', version: '5.5', nofileSoft: CONTAINERD_INFINITY })).toBe(CONTAINERD_INFINITY);
  });

  it('lowers max_connections to nofile - 10 - 2 × 400 when descriptors run short (the familiar 214)', () => {
    expect(openFilesAtStartup({ family: 'mysql', version: '5.5', nofileSoft: 1024, mycnf: { max_connections: 1000 } }).maxConnections).toBe(214);
    // 5.6/5.7 log: "Changed limits: max_open_files: 1024 (requested 5010)", "max_connections: 214 (requested 1000)".
    expect(openFilesAtStartup({ family: 'mysql', version: '5.7', nofileSoft: 1024, mycnf: { max_connections: 1000 } })).toMatchObject({
      openFilesLimit: 1024,
      requestedFiles: 5010,
      maxConnections: 214,
    });
  });

  it('8.0 reports the OS value too, but allocates no table up front', () => {
    expect(openFilesAtStartup({ family: 'mysql', version: '8.0', nofileSoft: CONTAINERD_INFINITY })).toMatchObject({
      openFilesLimit: CONTAINERD_INFINITY,
      requestedFiles: 10 + 151 + 4000 * 2,
      fileTableEntries: 0,
    });
  });
});

describe('effectiveOpenFilesLimit: MariaDB 10.11 takes what it asks for', () => {
  const mariadb = (nofileSoft: number, mycnf: Record<string, string | number> = {}) => openFilesAtStartup({ family: 'mariadb', version: '10.11', nofileSoft, mycnf, cpus: 2 });

  it('asks for 30 + 151 + 1 + 2 × 2000 × 8 + 2 = 32184 and stops there, however high nofile is', () => {
    expect(mariadb(CONTAINERD_INFINITY)).toMatchObject({ openFilesLimit: 32_184, requestedFiles: 32_184, fileTableEntries: 32_184 });
    expect(mariadb(1_048_576).openFilesLimit).toBe(32_184);
  });

  it('allocates the 16 GiB table when open_files_limit=1073741816 is set explicitly', () => {
    expect(mariadb(CONTAINERD_INFINITY, { open_files_limit: CONTAINERD_INFINITY })).toMatchObject({ openFilesLimit: CONTAINERD_INFINITY, fileTableEntries: CONTAINERD_INFINITY });
  });

  // `mariadbd --no-defaults --verbose --help` of 10.11.18 on 2 CPUs: "Could not increase number of max_open_files to more than 20000 (request: N)".
  it.each([
    [{}, 32_184],
    [{ thread_pool_size: 5 }, 32_187],
    [{ max_connections: 2000 }, 34_033],
    [{ max_connections: 2000, table_open_cache: 16 }, 10_005],
  ])('with %o it asks for %i (measured)', (mycnf, request) => {
    expect(mariadb(20_000, mycnf).requestedFiles).toBe(request);
  });

  // The same binary under `prlimit --nofile=N:N`, max_connections=5000 unless said otherwise.
  it.each([
    [4096, {}, 866],
    [3400, { open_files_limit: 3400 }, 170],
    [3240, {}, 10],
    [3235, {}, 10],
    [3000, {}, 5000],
    [2000, {}, 5000],
    [8000, {}, 5000],
    [4096, { table_open_cache: 100 }, 2466],
    [4096, { table_open_cache_instances: 1 }, 3666],
    [4096, { table_open_cache_instances: 2 }, 3266],
  ])('nofile %i with %o: max_connections 5000 becomes %i (measured)', (nofile, mycnf, maxConnections) => {
    expect(mariadb(nofile, { max_connections: 5000, ...mycnf })).toMatchObject({ openFilesLimit: nofile, maxConnections });
  });

  it('leaves max_connections alone when it gets what it asked for', () => {
    expect(mariadb(4096).maxConnections).toBe(151);
  });
});

describe('nofile-oom on MariaDB 10.11: every open_files_limit the run observed', () => {
  // reports/2026-11-22T02-33-58Z-nofile-oom (run with memory=1g): `@@open_files_limit`, or the OOM kill at start-up.
  const observed: [
    nofile: 'default' | 1_048_576 | typeof CONTAINERD_INFINITY,
    fix: 'none' | 'tuned-my.cnf' | 'ulimit-4096',
    openFilesLimit: 'auto' | 'explicit',
    value: number | 'oom-killed-at-startup',
  ][] = [
    ['default', 'none', 'auto', 20_000],
    ['default', 'tuned-my.cnf', 'auto', 4096],
    ['default', 'ulimit-4096', 'auto', 4096],
    [1_048_576, 'none', 'auto', 32_184],
    [1_048_576, 'none', 'explicit', 1_048_576],
    [1_048_576, 'tuned-my.cnf', 'auto', 4096],
    [1_048_576, 'tuned-my.cnf', 'explicit', 1_048_576],
    [1_048_576, 'ulimit-4096', 'auto', 4096],
    [1_048_576, 'ulimit-4096', 'explicit', 4096],
    [CONTAINERD_INFINITY, 'none', 'auto', 32_184],
    [CONTAINERD_INFINITY, 'none', 'explicit', 'oom-killed-at-startup'],
    [CONTAINERD_INFINITY, 'tuned-my.cnf', 'auto', 4096],
    [CONTAINERD_INFINITY, 'tuned-my.cnf', 'explicit', 'oom-killed-at-startup'],
    [CONTAINERD_INFINITY, 'ulimit-4096', 'auto', 4096],
    [CONTAINERD_INFINITY, 'ulimit-4096', 'explicit', 4096],
  ];

  it.each(observed)('nofile=%s fix=%s open_files_limit=%s → %s', (nofile, fix, openFilesLimit, value) => {
    const spec = only(instancesOf(nofileOom, { image: MARIADB, nofile, fix, open_files_limit: openFilesLimit, memory: '4g' }));
    const prediction = predictInstance({ ...spec, memory: GiB }, HOST);
    if (value === 'oom-killed-at-startup') {
      expect(prediction.openFilesLimit).toBe(CONTAINERD_INFINITY);
      expect(cannotStart(prediction)).toBe(true);
    } else {
      expect(prediction.openFilesLimit).toBe(value);
      expect(cannotStart(prediction)).toBe(false);
    }
  });
});

describe('predictPeakMemory: incident 1', () => {
  const ID = 'image=mysql:5.7,nofile=1073741816,fix=none,open_files_limit=auto,memory=4g';

  it('mysql:5.7 with nofile 1073741816 needs a 16 GiB file table and cannot start in 4 GiB', () => {
    const prediction = predictPeakMemory({ image: 'mysql:5.7', nofile: CONTAINERD_INFINITY, memoryLimitBytes: 4 * GiB });
    expect(term(prediction, 'open-file table')).toBe(16 * CONTAINERD_INFINITY);
    expect(prediction.openFilesLimit).toBe(CONTAINERD_INFINITY);
    expect(prediction.fits).toBe(false);
    expect(cannotStart(prediction)).toBe(true);
    expect(prediction.headroomBytes).toBe(4 * GiB - prediction.predictedPeakBytes);
    expect(formatPredictionWarning(ID, prediction)).toBe(
      `${ID}: predicted worst case 18.7 GiB > limit 4 GiB: open-file table 16 GiB (open_files_limit 1073741816 × 16 B), allocated at start-up: it cannot start`,
    );
  });

  it('the same with `ulimit -n 4096` fits', () => {
    const prediction = predictPeakMemory({ image: 'mysql:5.7', nofile: 4096, memoryLimitBytes: 4 * GiB });
    expect(term(prediction, 'open-file table')).toBe(4096 * 16);
    expect(prediction.fits).toBe(true);
    expect(formatPredictionWarning('image=mysql:5.7,nofile=1073741816,fix=ulimit-4096', prediction)).toBe(
      'image=mysql:5.7,nofile=1073741816,fix=ulimit-4096: predicted worst case 2.7 GiB ≤ limit 4 GiB (headroom 1.3 GiB)',
    );
  });

  it('reads the ulimit wrapper and the tuned my.cnf from the scenario: shrinking buffers does not help, ulimit does', () => {
    const predict = (fix: 'none' | 'tuned-my.cnf' | 'ulimit-4096') =>
      predictInstance(only(instancesOf(nofileOom, { image: 'mysql:5.7', nofile: CONTAINERD_INFINITY, fix, open_files_limit: 'auto', memory: '4g' })), HOST);
    const none = predict('none');
    const tuned = predict('tuned-my.cnf');
    const ulimit = predict('ulimit-4096');
    expect(tuned.predictedPeakBytes).toBeLessThan(none.predictedPeakBytes);
    expect([none.fits, tuned.fits, ulimit.fits]).toEqual([false, false, true]);
    expect([cannotStart(none), cannotStart(tuned), cannotStart(ulimit)]).toEqual([true, true, false]);
    expect(ulimit.openFilesLimit).toBe(4096);
    expect(ulimit.assumptions).toContain("the entrypoint's ulimit leaves the server nofile 4096 (hard 4096)");
  });

  it('MySQL 5.5 does the same and counts its additional memory pool', () => {
    const prediction = predictPeakMemory({ image: 'mysql:5.5', nofile: CONTAINERD_INFINITY, memoryLimitBytes: 4 * GiB });
    expect(term(prediction, 'open-file table')).toBe(16 * CONTAINERD_INFINITY);
    expect(term(prediction, 'InnoDB additional memory pool')).toBe(8 * MiB);
    expect(term(prediction, 'InnoDB log buffer')).toBe(8 * MiB);
    expect(cannotStart(prediction)).toBe(true);
    expect(predictPeakMemory({ image: 'mysql:5.5', nofile: 1024, memoryLimitBytes: 4 * GiB }).fits).toBe(true);
  });

  it('MySQL 8.0 reports 1073741816 but its file table only grows with the descriptors in use', () => {
    const prediction = predictPeakMemory({ image: 'mysql:8.0', nofile: CONTAINERD_INFINITY, memoryLimitBytes: 4 * GiB });
    expect(prediction.openFilesLimit).toBe(CONTAINERD_INFINITY);
    expect(term(prediction, 'open-file table')).toBe((10 + 151 + 8000) * 16);
    expect(cannotStart(prediction)).toBe(false);
  });

  it('MariaDB: automatic open_files_limit costs 503 KiB, the explicit 1073741816 kills it in 1 GiB', () => {
    const auto = predictPeakMemory({ image: MARIADB, nofile: CONTAINERD_INFINITY, memoryLimitBytes: GiB, cpus: 2 });
    const explicit = predictPeakMemory({ image: MARIADB, nofile: CONTAINERD_INFINITY, mycnf: { open_files_limit: CONTAINERD_INFINITY }, memoryLimitBytes: GiB, cpus: 2 });
    expect(term(auto, 'open-file table')).toBe(32_184 * 16);
    expect(cannotStart(auto)).toBe(false);
    expect(term(explicit, 'open-file table')).toBe(16 * CONTAINERD_INFINITY);
    expect(formatPredictionWarning('explicit', explicit)).toBe(
      'explicit: predicted worst case 19.2 GiB > limit 1 GiB: open-file table 16 GiB (open_files_limit 1073741816 × 16 B), allocated at start-up: it cannot start',
    );
  });

  it('itemises the terms and sums them', () => {
    const prediction = predictPeakMemory({ image: 'mysql:5.7', nofile: 4096, memoryLimitBytes: 4 * GiB });
    expect(prediction.terms.map((t) => [t.name, t.bytes, t.formula, t.phase])).toEqual([
      ['open-file table', 4096 * 16, 'open_files_limit 4096 × 16 B', 'start-up'],
      ['InnoDB buffer pool', 128 * MiB, 'innodb_buffer_pool_size 128 MiB', 'global'],
      ['InnoDB log buffer', 16 * MiB, 'innodb_log_buffer_size 16 MiB', 'global'],
      ['MyISAM key buffer', 8 * MiB, 'key_buffer_size 8 MiB', 'global'],
      ['query cache', 1 * MiB, 'query_cache_size 1 MiB', 'global'],
      ['per-connection buffers', 152 * (256 + 256 + 128 + 256 + 256 + 32) * KiB, '152 connections × 1.2 MiB', 'per-connection'],
      ['in-memory temporary tables', 152 * 16 * MiB, '152 connections × 16 MiB', 'per-connection'],
    ]);
    expect(prediction.terms.find((t) => t.name === 'per-connection buffers')?.detail).toBe(
      '152 connections (max_connections 151 + 1 admin) × (sort_buffer_size 256 KiB + join_buffer_size 256 KiB + read_buffer_size 128 KiB + read_rnd_buffer_size 256 KiB + thread_stack 256 KiB + 2 × net_buffer_length 32 KiB)',
    );
    expect(prediction.predictedPeakBytes).toBe(prediction.terms.reduce((sum, t) => sum + t.bytes, 0));
  });

  it('counts the binary log caches per connection only when the binary log is on', () => {
    const off = predictPeakMemory({ image: 'mysql:5.7', nofile: 4096 });
    const on = predictPeakMemory({ image: 'mysql:5.7', nofile: 4096, mycnf: { log_bin: 'mysql-bin' } });
    expect(term(on, 'per-connection buffers') - term(off, 'per-connection buffers')).toBe(152 * 64 * KiB);
    expect(off.fits).toBeUndefined();
  });

  it('says what it assumed about a default nofile and leaves other images alone', () => {
    expect(predictPeakMemory({ image: 'mysql:5.7' }).assumptions).toContain("nofile is the engine's default, assumed 1048576");
    expect(predictPeakMemory({ image: 'alpine:3.19', memoryLimitBytes: GiB })).toEqual({
      predictedPeakBytes: 0,
      limitBytes: GiB,
      fits: undefined,
      terms: [],
      openFilesLimit: 0,
      assumptions: ['`alpine:3.19` is not a MySQL or MariaDB image: no memory model'],
    });
  });
});

describe('predictPeakMemory: burst-oom (incident 2, one replica, 1 GiB)', () => {
  type Buffers = 'incident-era' | 'sized';
  const predict = (buffers: Buffers, maxConnections: 2000 | 300, allocator: 'glibc' | 'jemalloc' = 'glibc', concurrency: 0 | 32 = 0) =>
    predictInstance(only(instancesOf(burstOom, { image: MARIADB, allocator, innodb_thread_concurrency: concurrency, buffers, max_connections: maxConnections, memory: '1g' })), HOST);
  const withoutTemporaryTables = (p: MemoryPrediction) => p.predictedPeakBytes - term(p, 'in-memory temporary tables');

  it('orders the configurations as the runs ended: incident-era and sized+2000 killed, sized+300 survived', () => {
    const incident2000 = predict('incident-era', 2000);
    const incident300 = predict('incident-era', 300);
    const sized2000 = predict('sized', 2000);
    const sized300 = predict('sized', 300);
    expect(incident2000.predictedPeakBytes).toBeGreaterThan(incident300.predictedPeakBytes);
    expect(incident300.predictedPeakBytes).toBeGreaterThan(sized2000.predictedPeakBytes);
    expect(sized2000.predictedPeakBytes).toBeGreaterThan(sized300.predictedPeakBytes);
    // Even without a single in-memory temporary table the three killed ones exceed the limit...
    for (const killed of [incident2000, incident300, sized2000]) expect(withoutTemporaryTables(killed)).toBeGreaterThan(GiB);
    // ...while sized+300 exceeds it only if all 301 connections hold a full 2 MiB temporary table at once.
    expect(withoutTemporaryTables(sized300)).toBeLessThan(GiB);
    expect(sized300.fits).toBe(false);
    expect(formatPredictionWarning('sized,300', sized300)).toBe('sized,300: predicted worst case 1.5 GiB > limit 1 GiB: in-memory temporary tables 602 MiB (301 connections × 2 MiB), under load');
  });

  it('predicts the open_files_limit of 20000 the runs observed, and no start-up problem', () => {
    for (const p of [predict('incident-era', 2000), predict('sized', 300)]) {
      expect(p.openFilesLimit).toBe(20_000);
      expect(cannotStart(p)).toBe(false);
    }
  });

  it('is the same whatever the allocator and innodb_thread_concurrency, as the runs were', () => {
    expect(predict('sized', 2000, 'jemalloc', 32).predictedPeakBytes).toBe(predict('sized', 2000).predictedPeakBytes);
  });

  it("sizes the per-connection buffers from the scenario's my.cnf", () => {
    const p = predict('incident-era', 300);
    expect(term(p, 'per-connection buffers')).toBe(301 * (4 * MiB + 4 * MiB + 2 * MiB + 4 * MiB + 256 * KiB + 299_008 + 32 * KiB));
    expect(term(p, 'in-memory temporary tables')).toBe(301 * 64 * MiB);
    expect(term(p, 'InnoDB buffer pool')).toBe(256 * MiB);
  });
});
