import { describe, expect, it } from 'vitest';
import { buildNofileShim, connectEngine, dockerConnection, OFFLINE_MARIADB_IMAGE, offlineImageState } from '../../src/3-runtime/docker/index.ts';
import { readHostFacts } from '../../src/4-observe/index.ts';
import { probeFileTable } from '../../src/8-run/file-table-probe.ts';
import { containersLabelled } from './helpers.ts';

describe('the file-table probe on a real server', () => {
  it('measures MariaDB 10.11 preallocating and zeroing 16 bytes per descriptor, and predicts 16 GiB at containerd infinity', async () => {
    const host = await readHostFacts();
    const probe = await probeFileTable(OFFLINE_MARIADB_IMAGE, {
      connection: dockerConnection(await connectEngine()),
      hostNofileHardLimit: host.nofileHardLimit,
      shimPath: buildNofileShim,
      signal: AbortSignal.timeout(180_000),
    });
    process.stderr.write(`[file-table probe] ${JSON.stringify(probe)}\n`);
    expect(probe.samples.map((s) => s.openFilesLimit)).toEqual([65_536, 16_777_216]);
    expect(probe.bytesPerDescriptor).toBeGreaterThan(15.5);
    expect(probe.bytesPerDescriptor).toBeLessThan(16.5);
    expect(probe.predicted.bytes / 1024 ** 3).toBeCloseTo(16, 0);
    expect(await containersLabelled('oomlab.scenario=file-table-probe')).toEqual([]);
  }, 240_000);

  it('measures MySQL 9.7 allocating nothing per descriptor (its file table grows with the descriptors in use)', async ({ skip }) => {
    const engine = await connectEngine();
    // CI builds only the MariaDB 10.11 image; MySQL 9.7 is built by a run that names it (about 90 s).
    const state = await offlineImageState(engine, 'oomlab/mysql:9.7');
    if (state.state !== 'good') skip(`oomlab/mysql:9.7 is ${state.state} on this engine: \`./oomlab run scenarios/upgrade-nofile.ts\` builds it`);
    const host = await readHostFacts();
    const probe = await probeFileTable('oomlab/mysql:9.7', {
      connection: dockerConnection(engine),
      hostNofileHardLimit: host.nofileHardLimit,
      shimPath: buildNofileShim,
      signal: AbortSignal.timeout(180_000),
    });
    process.stderr.write(`[file-table probe] ${JSON.stringify(probe)}\n`);
    expect(probe.samples.map((s) => s.openFilesLimit)).toEqual([65_536, 16_777_216]);
    expect(Math.abs(probe.bytesPerDescriptor)).toBeLessThan(1);
    expect(probe.predicted.bytes).toBeLessThan(1024 ** 3);
  }, 240_000);
});
