// Incident 2 (docs/incidents.md), one replica: a scraping burst piles connections onto a
// MySQL replica whose per-thread buffers were sized for a quiet day; every connection sorts, joins
// and groups into in-memory temporary tables, memory climbs past the limit and the OOM killer takes
// mysqld. The fixes the incident lists are axes: another allocator, innodb_thread_concurrency,
// buffers sized to the limit, a max_connections the memory can hold.
import { defineScenario } from 'oomlab';
import { INCIDENT_ERA_BUFFERS, SIZED_BUFFERS } from './lib/buffers.ts';

export default defineScenario({
  name: 'burst-oom',
  incident: 'Incident 2, one replica: a scraping burst piles connections on a MySQL replica until the OOM killer takes mysqld',
  matrix: {
    image: ['oomlab/mariadb:10.11'],
    allocator: ['glibc', 'jemalloc'],
    innodb_thread_concurrency: [0, 32],
    buffers: ['incident-era', 'sized'],
    max_connections: [2000, 300],
    memory: ['1g'],
  },
  instances: (c) => ({
    replica: {
      image: c.image,
      memory: c.memory,
      allocator: c.allocator,
      mycnf: {
        innodb_buffer_pool_size: '256M',
        innodb_thread_concurrency: c.innodb_thread_concurrency,
        max_connections: c.max_connections,
        // A storm whose connections fail would otherwise get the client host blocked (1129).
        max_connect_errors: 1_000_000,
        ...(c.buffers === 'incident-era' ? INCIDENT_ERA_BUFFERS : SIZED_BUFFERS),
      },
      settleMs: 2_000,
    },
  }),
  workload: (c) => ({
    kind: 'storm',
    target: 'replica',
    seed: { users: 2_000, posts: 40_000, followsPerUser: 20 },
    // The burst: API calls up several times within seconds, then held.
    startPerSecond: 10,
    stages: [
      { targetPerSecond: 150, durationMs: 3_000 },
      { targetPerSecond: 150, durationMs: 9_000 },
    ],
    session: { queries: 5, thinkMs: 20, holdMs: 0 },
    drainMs: 10_000,
    // Where buffers × max_connections fit, the server turns the rest of the burst away (docs/incidents.md).
    ...(c.buffers === 'sized' && c.max_connections <= 300
      ? { expect: { errors: { '1040 ER_CON_COUNT_ERROR': { atLeast: 1 } }, because: 'max_connections refuses the connections the memory cannot hold' } }
      : {}),
  }),
  // Memory is per-thread buffers × connections: both must be bounded for the replica to live.
  expect: (c) =>
    c.buffers === 'incident-era'
      ? { replica: { outcome: 'oom-killed-under-load', because: 'every connection may hold 64M of in-memory temporary table, and the burst brings hundreds' } }
      : c.max_connections > 300
        ? { replica: { outcome: 'oom-killed-under-load', because: 'small buffers, but 2000 connections of them still exceed the limit' } }
        : { replica: { outcome: 'survived', because: 'buffers × max_connections fit: the burst costs latency and 1040 errors, not the process' } },
});
