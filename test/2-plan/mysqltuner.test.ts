import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/0-model/units.ts';
import { predictPeakMemory } from '../../src/2-plan/index.ts';
import { mysqltunerMaxMemory } from './mysqltuner.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const CONTAINERD_INFINITY = 1_073_741_816;
const MARIADB = 'oomlab/mariadb:10.11';

describe('mysqltunerMaxMemory: MySQLTuner 2.8.36 on the same inputs', () => {
  const INCIDENT_ERA = { sort_buffer_size: '4M', join_buffer_size: '4M', read_buffer_size: '2M', read_rnd_buffer_size: '4M', tmp_table_size: '64M', max_heap_table_size: '64M' };
  const SIZED = { sort_buffer_size: '256K', join_buffer_size: '256K', read_buffer_size: '128K', read_rnd_buffer_size: '256K', tmp_table_size: '2M', max_heap_table_size: '2M' };
  const replica = (buffers: Record<string, string>, maxConnections: number) => ({ innodb_buffer_pool_size: '256M', max_connections: maxConnections, ...buffers });

  it("incident 1: 344 MiB for mysql:5.7, whatever nofile is — it fits 4 GiB by MySQLTuner's count", () => {
    const tuner = mysqltunerMaxMemory({ image: 'mysql:5.7' })!;
    const perThread = 128 * KiB + 256 * KiB + 256 * KiB + 256 * KiB + 256 * KiB + 32 * KiB;
    const serverBuffers = 8 * MiB + 16 * MiB + 128 * MiB + 16 * MiB + 1 * MiB;
    expect(tuner).toEqual({ perThreadBuffers: perThread, totalPerThreadBuffers: perThread * 151, serverBuffers, maxPeakMemory: serverBuffers + perThread * 151 });
    expect(formatBytes(tuner.maxPeakMemory)).toBe('344 MiB');
    expect(tuner.maxPeakMemory).toBeLessThan(4 * GiB);
    expect(predictPeakMemory({ image: 'mysql:5.7', nofile: CONTAINERD_INFINITY, memoryLimitBytes: 4 * GiB }).fits).toBe(false);
  });

  it('burst-oom: MySQLTuner puts sized+300 at 888 MiB (fits), where the worst case with temporary tables per connection is 1.5 GiB', () => {
    const peaks = [
      [INCIDENT_ERA, 2000],
      [INCIDENT_ERA, 300],
      [SIZED, 2000],
      [SIZED, 300],
    ].map(([buffers, mc]) => formatBytes(mysqltunerMaxMemory({ image: MARIADB, mycnf: replica(buffers as Record<string, string>, mc as number) })!.maxPeakMemory));
    expect(peaks).toEqual(['28.5 GiB', '4.8 GiB', '2.8 GiB', '888 MiB']);
  });

  it('counts binlog_cache_size per thread even with the binary log off, and max_allowed_packet not at all', () => {
    const base = mysqltunerMaxMemory({ image: 'mysql:5.7' })!;
    expect(mysqltunerMaxMemory({ image: 'mysql:5.7', mycnf: { max_allowed_packet: '1G' } })!.perThreadBuffers).toBe(base.perThreadBuffers);
    expect(mysqltunerMaxMemory({ image: 'mysql:5.7', mycnf: { binlog_cache_size: '1M' } })!.perThreadBuffers).toBe(base.perThreadBuffers - 32 * KiB + MiB);
  });

  it('reports max_used_memory from Max_used_connections and adds performance_schema memory when given', () => {
    const tuner = mysqltunerMaxMemory({ image: MARIADB, mycnf: replica(SIZED, 300), maxUsedConnections: 302, performanceSchemaBytes: 0 })!;
    expect(tuner.maxUsedMemory).toBe(tuner.serverBuffers + tuner.perThreadBuffers * 302);
    expect(mysqltunerMaxMemory({ image: 'alpine:3.19' })).toBeUndefined();
  });
});
